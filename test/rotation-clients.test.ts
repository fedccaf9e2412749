// Rotations between real clients over a real relay: a sabotaged rotation is
// reported and healed by the clients' own duties (attack 6), and no content is
// ever written under a key a removed member still holds (attack 7), whether
// the remover rotates at once or an old client leaves it to others.
import { afterAll, describe, expect, it } from "vitest";
import { toB64 } from "../src/cwtch/bytes.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { rotateBody, taskCreateBody } from "../src/pursuance/actions.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import type { Body } from "../src/pursuance/events.js";
import { decodeInvite, encodeInvite } from "../src/pursuance/invite.js";
import { openContentKey } from "../src/pursuance/task-crypto.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";
import { pursuanceStatus } from "../src/bot/pursuance-commands.js";
import { sealComplaints } from "../src/pursuance/seal-complaints.js";

const OPTS = { fallbackDutyMs: 60_000, repairDelayMs: 50, repairIntervalMs: 300 };

describe("rotations between real clients", () => {
  const relays: RelayServer[] = [];
  const clients: PursuanceClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const r of relays) await r.close();
  });

  async function group(names: Array<[string, string]>) {
    const relay = await startRelay();
    relays.push(relay);
    const founder = await PursuanceClient.create(await ports(), await identity(), { name: "Rotations", founderName: "founder", relays: [relay.url], ...OPTS });
    clients.push(founder);
    const out: Record<string, PursuanceClient> = { founder };
    for (const [name, role] of names) {
      const c = await PursuanceClient.join(await ports(), await identity(), decodeInvite(encodeInvite(await founder.createInvite(role))), name, OPTS);
      clients.push(c);
      out[name] = c;
    }
    const all = Object.values(out);
    await until("everyone in, every key shared", () => all.every((c) => c.state.members.size === all.length && [...c.state.keys.values()].every((k) => !k.needsRotation)), all);
    await until("keys held", () => all.every((c) => all.every((m) => c.state.keys.get("group")!.holders.has(m.me))), all);
    return out;
  }

  it("6. a rotation that seals garbage to the founder: the founder reports it, another admin re-shares, the founder keeps reading", async () => {
    const { founder, a1, a2 } = await group([
      ["a1", "admin"],
      ["a2", "admin"],
    ]);
    const all = [founder!, a1!, a2!];
    // a1 rotates the group key, sealing random bytes to the founder.
    const { body } = rotateBody(a1!.actor, a1!.state, "group");
    (body as Extract<Body, { t: "keys.rotate" }>).sealed[founder!.me] = toB64(a1!.crypto.randomBytes(80));
    const kid = (body as Extract<Body, { t: "keys.rotate" }>).keyId;
    await a1!.publishNow(body);
    await until("the founder reported the bad seal and was re-shared", () => all.every((c) => c.state.badSeals.length === 1 && c.state.keys.get("group")!.holders.has(founder!.me)) && founder!.ring.get(kid) !== undefined, all);
    expect(founder!.state.badSeals[0]).toEqual({ scope: "group", keyId: kid, reporter: founder!.me, rotator: a1!.me });
    // The complaint is the founder's word: it names no one in status, and the one re-sharing is not the one whose seal failed.
    expect(sealComplaints(founder!.state)).toEqual([{ scope: "group", keyId: kid, reporter: founder!.me }]);
    const share = founder!.fold.applied.find((a) => a.event.body?.t === "keys.share" && a.rejected === null && (a.event.body as { to: string }).to === founder!.me);
    expect(share?.event.author).toBe(a2!.me);
    expect(founder!.state.keys.get("group")!.history.at(-1)).toBe(kid);
    // Under the new key: the founder reads what a2 writes.
    const t = await a2!.publish((s) => taskCreateBody(a2!.actor, s, { text: { title: "after the sabotage", deliverables: "" }, readers: ["admin"] }));
    await until("task seen by the founder", () => founder!.state.tasks.has(t.id), all);
    expect(openContentKey(founder!.crypto, founder!.ring, founder!.identity, founder!.me, founder!.state.tasks.get(t.id)!)).not.toBeNull();
    expect(new Set(all.map((c) => c.hash())).size).toBe(1);
  });

  it("6b. a lie that an honest rotator's seal did not open: nobody is flagged, nothing is rotated again, the liar alone is re-shared", async () => {
    const { founder, x } = await group([["x", "seedling"]]);
    const all = [founder!, x!];
    // The founder rotates the group key honestly; x says its seal did not open (it did).
    const { body } = rotateBody(founder!.actor, founder!.state, "group");
    const kid = (body as Extract<Body, { t: "keys.rotate" }>).keyId;
    await founder!.publishNow(body);
    await until("x opened the new key", () => x!.ring.get(kid) !== undefined && all.every((c) => c.state.keys.get("group")!.keyId === kid), all);
    await x!.publishNow({ t: "keys.unreadable", scope: "group", keyId: kid });
    await until("the lie is folded and x re-shared", () => all.every((c) => c.state.badSeals.length === 1 && c.state.keys.get("group")!.holders.has(x!.me)), all);
    await Promise.all(all.map((c) => c.sync({ timeoutMs: 2_000, quietMs: 300 })));
    for (const c of all) {
      const g = c.state.keys.get("group")!;
      expect(g.keyId, "no client rotated again").toBe(kid);
      expect(g.needsRotation).toBe(false);
      expect(sealComplaints(c.state)).toEqual([{ scope: "group", keyId: kid, reporter: x!.me }]);
    }
    // The bot's status names the complainer's word, and flags no rotator.
    const status = await pursuanceStatus({} as never, { client: founder! } as never);
    expect(status.kind === "ok" && status.plain).toMatch(/x says it could not open the "group" key/);
    expect(status.kind === "ok" && status.plain).not.toMatch(/flagged|rotator|founder could/);
    expect(new Set(all.map((c) => c.hash())).size).toBe(1);
  });

  it("7. no window: the remover rotates in the same call; a task a second later is sealed under keys the removed member never gets", async () => {
    const { founder, admin, agent, x } = await group([
      ["admin", "admin"],
      ["agent", "change agent"],
      ["x", "change agent"],
    ]);
    // The designated rotator (the founder, highest rank) is offline.
    founder!.close();
    const live = [admin!, agent!];
    await admin!.publish({ t: "remove", member: x!.me, reason: "leak" });
    for (const scope of ["group", "change agent"]) expect(admin!.state.keys.get(scope)!.needsRotation, scope).toBe(false);
    await until("the agent saw the removal and the rotations", () => agent!.state.keys.get("change agent")!.history.length >= 2 && !agent!.state.members.has(x!.me), live);
    const t = await agent!.publish((s) => taskCreateBody(agent!.actor, s, { text: { title: "one second after", deliverables: "" }, readers: ["change agent"] }));
    await Promise.all([...live, x!].map((c) => c.sync({ timeoutMs: 2_000, quietMs: 200 })));
    const task = admin!.state.tasks.get(t.id)!;
    expect(x!.state.tasks.has(t.id)).toBe(false);
    expect(x!.ring.get(task.sealed.wraps["change agent"]!.keyId)).toBeUndefined();
    expect(openContentKey(x!.crypto, x!.ring, x!.identity, x!.me, task)).toBeNull();
  });

  it("7b. an old client removes without rotating: the next writer rotates first, and its task is sealed under the new keys", async () => {
    const { founder, admin, agent, x } = await group([
      ["admin", "admin"],
      ["agent", "change agent"],
      ["x", "change agent"],
    ]);
    // The designated rotator is offline and the others' fallback is a minute away: only the writer can act.
    founder!.close();
    const live = [admin!, agent!];
    const xKey = x!.state.keys.get("change agent")!.keyId;
    // publishNow: the removal alone, as a client that predates the rule would publish it.
    await admin!.publishNow({ t: "remove", member: x!.me, reason: "leak" });
    await until("the agent saw the removal", () => !agent!.state.members.has(x!.me), [agent!]);
    const t = await agent!.publish((s) => taskCreateBody(agent!.actor, s, { text: { title: "right after", deliverables: "" }, readers: ["change agent"] }));
    const task = agent!.state.tasks.get(t.id)!;
    expect(task.sealed.wraps["change agent"]!.keyId).not.toBe(xKey);
    // The agent rotated it itself, before writing.
    const rot = agent!.fold.applied.find((a) => a.event.body?.t === "keys.rotate" && a.event.author === agent!.me && a.rejected === null);
    expect(rot).toBeDefined();
    await Promise.all([...live, x!].map((c) => c.sync({ timeoutMs: 2_000, quietMs: 200 })));
    expect(openContentKey(x!.crypto, x!.ring, x!.identity, x!.me, task)).toBeNull();
    expect(x!.state.tasks.has(t.id)).toBe(false);
  });
});
