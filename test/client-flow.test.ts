import { afterAll, describe, expect, it } from "vitest";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { taskCreateBody, commentBody, closeBody } from "../src/pursuance/actions.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { decodeInvite, encodeInvite } from "../src/pursuance/invite.js";
import { openContentKey, decryptText, decryptComment } from "../src/pursuance/task-crypto.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

describe("PursuanceClient over real relays", () => {
  const relays: RelayServer[] = [];
  const clients: PursuanceClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const r of relays) await r.close();
  });

  it("founds, invites, joins, works on tasks, removes and rotates", async () => {
    relays.push(await startRelay(), await startRelay());
    const urls = relays.map((r) => r.url);
    const founderId = await identity();
    const founder = await PursuanceClient.create(await ports(), founderId, { name: "Watchdogs", founderName: "ada", relays: urls, fallbackDutyMs: 500, repairDelayMs: 50, repairIntervalMs: 300 });
    clients.push(founder);
    expect(founder.state.name).toBe("Watchdogs");
    expect(founder.state.leader).toBe(founder.me);

    const invites: string[] = [];
    for (const role of ["admin", "change agent"]) invites.push(encodeInvite(await founder.createInvite(role)));
    const bob = await PursuanceClient.join(await ports(), await identity(), decodeInvite(invites[0]!), "bob", { fallbackDutyMs: 500, repairDelayMs: 50 });
    const cat = await PursuanceClient.join(await ports(), await identity(), decodeInvite(invites[1]!), "cat", { fallbackDutyMs: 500, repairDelayMs: 50 });
    clients.push(bob, cat);
    const all = [founder, bob, cat];
    await until("three members everywhere", () => all.every((c) => c.state.members.size === 3), all);
    await until("keys shared", () => all.every((c) => [...c.state.keys.values()].every((k) => [...c.state.members.keys()].every(() => true)) && c.state.keys.get("admin")!.holders.has(bob.me)), all);

    const t = await cat.publish(taskCreateBody(cat.actor, cat.state, { text: { title: "FOIA request", deliverables: "a letter" }, readers: ["change agent"] }));
    await until("task seen", () => all.every((c) => c.state.tasks.has(t.id)), all);
    const task = bob.state.tasks.get(t.id)!;
    await bob.publish(commentBody(bob.actor, task, "on it"));
    await until("comment seen", () => all.every((c) => c.state.tasks.get(t.id)!.comments.length === 1), all);
    const ck = openContentKey(founder.crypto, founder.ring, founder.identity, founder.me, founder.state.tasks.get(t.id)!)!;
    expect(decryptText(founder.crypto, ck, founder.state.tasks.get(t.id)!.text)?.title).toBe("FOIA request");
    expect(decryptComment(founder.crypto, ck, founder.state.tasks.get(t.id)!.comments[0]!.content)).toBe("on it");

    // Remove cat: group and role keys rotate; cat cannot read what comes after.
    await bob.publish({ t: "remove", member: cat.me, reason: "test" });
    await until("rotation done", () => [founder, bob].every((c) => !c.state.keys.get("group")!.needsRotation && !c.state.keys.get("change agent")!.needsRotation), [founder, bob]);
    const t2 = await founder.publish(taskCreateBody(founder.actor, founder.state, { text: { title: "secret plan", deliverables: "" }, readers: ["change agent"] }));
    await until("bob sees t2", () => bob.state.tasks.has(t2.id), [founder, bob]);
    await cat.sync({ timeoutMs: 2_000 });
    expect(cat.state.tasks.has(t2.id)).toBe(false);
    expect(founder.hash()).toBe(bob.hash());
    await founder.publish(closeBody(founder.actor, founder.state.tasks.get(t.id)!, "done"));
    await until("closed", () => bob.state.tasks.get(t.id)!.closed, [founder, bob]);
    expect(founder.hash()).toBe(bob.hash());
  });

  it("rotates keys when the rules' period has passed, with no other event to prompt it", async () => {
    const { defaultRules } = await import("../src/pursuance/rules.js");
    const r = await startRelay();
    relays.push(r);
    let skew = 0;
    const p = { ...(await ports()), now: () => Date.now() + skew };
    const c = await PursuanceClient.create(p, await identity(), { name: "Timed", founderName: "ada", relays: [r.url], rules: { ...defaultRules(), rotation: { everyMs: 60_000 } } });
    clients.push(c);
    const before = c.state.keys.get("change agent")!.keyId;
    await c.sync({ timeoutMs: 1_000, quietMs: 100 });
    expect(c.state.keys.get("change agent")!.keyId).toBe(before);
    skew = 61_000;
    await c.sync({ timeoutMs: 2_000, quietMs: 100 });
    await c.flushed();
    await new Promise((res) => setTimeout(res, 200));
    await c.flushed();
    for (const scope of ["group", "change agent", "admin"]) expect(c.state.keys.get(scope)!.history.length, scope).toBe(2);
    expect(c.state.rejected).toEqual([]);
  });
});
