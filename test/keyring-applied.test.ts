// A client's usable keys are a function of the events the fold applied, not of
// the order they arrived in (docs/protocol.md, "Verifiable rotations"): real
// clients over a real relay. An admin about to be removed grants the change
// agent "recruiter" concurrently with the founder's removal of it; the agent's
// client folds the grant first (it is applied for a moment, and its recruiter
// key is taken), then the removal. Before the fix the client kept the key and
// read the recruiter-only task that a fresh device of the same member cannot.
import { afterAll, describe, expect, it } from "vitest";
import { toHex } from "../src/cwtch/bytes.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { grantBody, taskCreateBody } from "../src/pursuance/actions.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { encodeBody } from "../src/pursuance/events.js";
import { decodeInvite, encodeInvite } from "../src/pursuance/invite.js";
import { openContentKey } from "../src/pursuance/task-crypto.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

describe("the keyring follows the applied set", () => {
  let relay: RelayServer | null = null;
  let relay2: RelayServer | null = null;
  const clients: PursuanceClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    await relay?.close();
    await relay2?.close();
  });

  it("a grant applied for a moment, then rejected by a concurrent removal of its author, leaves no key behind", async () => {
    relay = await startRelay({ port: 0 });
    const F = await PursuanceClient.create(await ports(), await identity(), { name: "ring", founderName: "founder", relays: [relay.url] });
    clients.push(F);
    const aPorts = await ports();
    const aId = await identity();
    const A = await PursuanceClient.join(aPorts, aId, decodeInvite(encodeInvite(await F.createInvite("admin"))), "admin");
    clients.push(A);
    const cPorts = await ports();
    const cId = await identity();
    const C = await PursuanceClient.join(cPorts, cId, decodeInvite(encodeInvite(await F.createInvite("change agent"))), "agent");
    clients.push(C);
    const all = [F, A, C];
    await until("everyone holds the group key", () => all.every((c) => all.every((m) => c.state.keys.get("group")!.holders.has(m.me))), all);
    const task = await F.publish((s) => taskCreateBody(F.actor, s, { text: { title: "recruiters only", deliverables: "" }, readers: ["recruiter"] }));
    await until("everyone has the recruiter-only task", () => all.every((c) => c.state.tasks.has(task.id)), all);
    const recruiterKey = F.state.keys.get("recruiter")!.keyId;

    // A and C go offline; the founder removes A.
    A.close();
    C.close();
    const rm = await F.publish({ t: "remove", member: A.me, reason: "test" });
    // A, offline and unaware, grants C "recruiter" (signed on its old heads: concurrent with the removal).
    // Its client reaches only a relay nobody else reads, so it never hears of the removal.
    relay2 = await startRelay({ port: 0 });
    const A2 = await PursuanceClient.open(aPorts, aId, A.config);
    clients.push(A2);
    await A2.group.addRelay(aPorts.connect(relay2.url));
    const grant = await A2.group.publish(encodeBody(grantBody(A2.actor, A2.state, C.me, "recruiter")));
    // C's device gets the grant first (here: from its store), then reconnects and hears the removal.
    await cPorts.store.saveEvents([{ id: toHex(grant.id), bytes: grant.bytes }]);
    const C2 = await PursuanceClient.open(cPorts, cId, C.config);
    clients.push(C2);
    expect(C2.fold.verdict(toHex(grant.id))).toBeNull();
    expect(C2.ring.get(recruiterKey)).toBeDefined();
    await C2.start();
    await until("C folds the removal", () => C2.fold.verdict(rm.id) === null && C2.fold.verdict(toHex(grant.id)) !== null, [C2, F]);

    // The grant is rejected: its key is no longer usable, the recruiter-only task no longer readable.
    expect(C2.fold.verdict(toHex(grant.id))).toMatch(/./);
    expect(C2.ring.get(recruiterKey)).toBeUndefined();
    const t = C2.state.tasks.get(task.id)!;
    expect(openContentKey(C2.crypto, C2.ring, cId, C2.me, t)).toBeNull();
    // A fresh device of the same member, fed everything at once, holds the same keys.
    const fresh = await PursuanceClient.open(cPorts, cId, C.config);
    clients.push(fresh);
    expect(fresh.hash()).toBe(C2.hash());
    expect(fresh.ring.all().map((k) => `${k.scope}:${k.keyId}`).sort()).toEqual(C2.ring.all().map((k) => `${k.scope}:${k.keyId}`).sort());
  });
});
