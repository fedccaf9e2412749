// Keyless invites over real relays: the token holds no key; a member's client
// that is online carries the join in from the rendezvous and welcomes the
// joiner with keys sealed to it, while the inviter is offline. Expired
// invites are revoked by a duty; a revoked invite lets nobody in.
import { afterAll, describe, expect, it } from "vitest";
import { toB64, toHex } from "../src/cwtch/bytes.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { taskCreateBody } from "../src/pursuance/actions.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { decodeInvite, encodeInvite, INVITE_PREFIX } from "../src/pursuance/invite.js";
import { decryptText, openContentKey } from "../src/pursuance/task-crypto.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

const fast = { fallbackDutyMs: 500, repairDelayMs: 50, repairIntervalMs: 300 };

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe("keyless invites over real relays", () => {
  const relays: RelayServer[] = [];
  const clients: PursuanceClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const r of relays) await r.close();
  });

  it("a token carries no key; a member joins while the inviter is offline and another member is online; all agree", async () => {
    relays.push(await startRelay(), await startRelay());
    const urls = relays.map((r) => r.url);
    const founderPorts = await ports();
    const founderId = await identity();
    const founder = await PursuanceClient.create(founderPorts, founderId, { name: "Watchdogs", founderName: "ada", relays: urls, ...fast });
    clients.push(founder);

    // Bob joins while the founder is online.
    const bobCode = encodeInvite(await founder.createInvite("admin"));
    const bob = await PursuanceClient.join(await ports(), await identity(), decodeInvite(bobCode), "bob", fast);
    clients.push(bob);
    expect(bob.state.members.get(bob.me)?.roles.has("admin")).toBe(true);

    // A change-agent task, and an invite to that role; then the founder goes offline.
    const t = await founder.publish(taskCreateBody(founder.actor, founder.state, { text: { title: "FOIA request", deliverables: "a letter" }, readers: ["change agent"] }));
    const invite = await founder.createInvite("change agent", { expiresInMs: 3_600_000 });
    const code = encodeInvite(invite);
    await until("bob has the invite and the task", () => bob.state.invites.size === 2 && bob.state.tasks.has(t.id), [bob]);

    // No byte of any group or role key in the token: decoded, raw, base64url or hex.
    const keys = [...founder.ring.all(), ...bob.ring.all()];
    expect(keys.length).toBeGreaterThan(4);
    const raw = Buffer.from(code.slice(INVITE_PREFIX.length), "base64url");
    const decoded = decodeInvite(code);
    for (const k of keys) {
      expect(contains(raw, k.key), `raw token holds the ${k.scope} key`).toBe(false);
      expect(contains(decoded.inviteSeed, k.key.subarray(0, 16))).toBe(false);
      for (const form of [toB64(k.key), toHex(k.key), Buffer.from(k.key).toString("base64")]) {
        expect(code.includes(form.slice(0, 16)), `token holds the ${k.scope} key as text`).toBe(false);
        expect(raw.toString("utf8").includes(form.slice(0, 16))).toBe(false);
      }
    }
    expect(Object.keys(JSON.parse(raw.toString("utf8"))).sort()).toEqual(["e", "g", "i", "n", "o", "p", "r", "s", "v", "x"]);

    founder.close();
    const cat = await PursuanceClient.join(await ports(), await identity(), decoded, "cat", { ...fast, syncTimeoutMs: 30_000 });
    clients.push(cat);
    const live = [bob, cat];
    await until("cat reads the change agent key", () => cat.admitted() && bob.state.members.has(cat.me), live);
    expect(cat.state.members.get(cat.me)?.roles.has("change agent")).toBe(true);
    // Cat reads its role's task, written before it joined.
    const task = cat.state.tasks.get(t.id)!;
    const ck = openContentKey(cat.crypto, cat.ring, cat.identity, cat.me, task);
    expect(ck).not.toBeNull();
    expect(decryptText(cat.crypto, ck!, task.text)?.title).toBe("FOIA request");
    // And the founder's key for admin never reached cat.
    expect(cat.ring.get(cat.state.keys.get("admin")!.keyId)).toBeUndefined();

    // The founder comes back (same store) and all three agree.
    const founder2 = await PursuanceClient.open(founderPorts, founderId, founder.config, fast);
    clients.push(founder2);
    await founder2.start();
    const all = [founder2, bob, cat];
    await until("three agree", () => all.every((c) => c.state.members.size === 3) && new Set(all.map((c) => c.hash())).size === 1, all);
    expect(founder2.state.rejected).toEqual([]);
  });

  it("an expired invite is revoked by a member's duty, and a revoked invite lets nobody in", async () => {
    const r = await startRelay();
    relays.push(r);
    let skew = 0;
    const p = { ...(await ports()), now: () => Date.now() + skew };
    const ada = await PursuanceClient.create(p, await identity(), { name: "Timed", founderName: "ada", relays: [r.url], ...fast });
    clients.push(ada);
    const stale = await ada.createInvite("seedling", { expiresInMs: 60_000 });
    const fresh = await ada.createInvite("seedling", { expiresInMs: 3_600_000 });
    const staleId = [...ada.state.invites.entries()].find(([, i]) => i.expires === stale.expires)![0];
    const freshId = [...ada.state.invites.entries()].find(([, i]) => i.expires === fresh.expires)![0];
    await ada.sync({ timeoutMs: 1_000, quietMs: 100 });
    expect(ada.state.invites.get(staleId)!.revokedBy).toBeUndefined();
    skew = 61_000;
    await until("the duty revoked the expired invite", () => ada.state.invites.get(staleId)!.revokedBy === ada.me, [ada], 10_000);
    expect(ada.state.invites.get(freshId)!.revokedBy).toBeUndefined();

    // The joiner's clock (unskewed) says the invite is still good; the fold says it is revoked.
    expect(Date.now()).toBeLessThan(stale.expires);
    // A member online answers why (issue 22): the joiner stops waiting.
    await expect(PursuanceClient.join(await ports(), await identity(), stale, "late", { ...fast, syncTimeoutMs: 4_000 })).rejects.toThrow(/^refused: this invite expired at /);
    // An honest member does not carry a join for an invite it sees revoked (the fold would refuse it too: invite-rules.test.ts).
    expect(ada.state.members.size).toBe(1);

    // Revoked by hand: same.
    await ada.publish({ t: "invite.revoke", invite: freshId });
    await expect(PursuanceClient.join(await ports(), await identity(), fresh, "nope", { ...fast, syncTimeoutMs: 4_000 })).rejects.toThrow(/^refused: this invite was revoked/);
    await ada.sync({ timeoutMs: 1_000, quietMs: 100 });
    expect(ada.state.members.size).toBe(1);
    expect(ada.state.invites.get(freshId)!.usedBy).toBeNull();
  });

  it("asking again re-posts the same join (never a second seq 1), and is let in once", async () => {
    const r = await startRelay();
    relays.push(r);
    const ada = await PursuanceClient.create(await ports(), await identity(), { name: "Again", founderName: "ada", relays: [r.url], ...fast });
    clients.push(ada);
    const inv = await ada.createInvite("seedling");
    const p = await ports();
    const me = await identity();
    const first = await PursuanceClient.requestJoin(p, me, inv, "dan", fast);
    const id = first.config.joining!.join;
    first.close();
    const again = await PursuanceClient.requestJoin(p, me, inv, "dan", fast);
    clients.push(again);
    expect(again.config.joining!.join).toBe(id);
    expect(await again.waitAdmitted(20_000)).toBe(true);
    expect(again.config.joining).toBeUndefined();
    await until("ada agrees", () => ada.state.members.size === 2 && ada.hash() === again.hash(), [ada, again]);
    expect(ada.state.members.get(again.me)!.joinedBy).toBe(id);
    expect(ada.state.rejected).toEqual([]);
    // An identity that has written something else refuses to sign a fresh join.
    const other = await ada.createInvite("seedling");
    await expect(PursuanceClient.requestJoin(p, me, other, "dan", fast)).rejects.toThrow(/already written/);
  });

  it("a host that reopens the joiner's store without its config still asks again and gets in (a bridge restart)", async () => {
    const r = await startRelay();
    relays.push(r);
    const ada = await PursuanceClient.create(await ports(), await identity(), { name: "Restart", founderName: "ada", relays: [r.url], ...fast });
    clients.push(ada);
    const inv = await ada.createInvite("seedling");
    ada.close();
    const p = await ports();
    const me = await identity();
    const first = await PursuanceClient.requestJoin(p, me, inv, "eli", fast);
    expect(await first.waitAdmitted(1_000)).toBe(false);
    const id = first.config.joining!.join;
    first.close();
    // Nobody was online; now the founder is, and the joiner's host reopens from its store alone.
    const ada2 = await PursuanceClient.open(ada.ports, ada.identity, ada.config, fast);
    clients.push(ada2);
    await ada2.start();
    const { joining: _dropped, ...bare } = first.config;
    const eli = await PursuanceClient.open(p, me, { ...bare, relays: [r.url] }, fast);
    clients.push(eli);
    expect(eli.config.joining?.join).toBe(id);
    await eli.start();
    expect(await eli.waitAdmitted(20_000)).toBe(true);
    await until("both agree", () => ada2.hash() === eli.hash(), [ada2, eli]);
  });

  it("a request made in time but heard only after expiry is not carried; the invite is revoked instead", async () => {
    const r = await startRelay();
    relays.push(r);
    let skew = 0;
    const p = { ...(await ports()), now: () => Date.now() + skew };
    const ada = await PursuanceClient.create(p, await identity(), { name: "Late", founderName: "ada", relays: [r.url], ...fast });
    const inv = await ada.createInvite("seedling", { expiresInMs: 60_000 });
    const id = [...ada.state.invites.keys()][0]!;
    ada.close();
    const fay = await PursuanceClient.requestJoin(await ports(), await identity(), inv, "fay", fast);
    clients.push(fay);
    expect(await fay.waitAdmitted(500)).toBe(false);
    skew = 61_000;
    const ada2 = await PursuanceClient.open(p, ada.identity, ada.config, fast);
    clients.push(ada2);
    await ada2.start();
    await until("revoked", () => ada2.state.invites.get(id)!.revokedBy === ada2.me, [ada2], 10_000);
    await ada2.sync({ timeoutMs: 1_500, quietMs: 300 });
    expect(ada2.state.members.size).toBe(1);
    expect(ada2.session.log.head(fay.me)).toBeUndefined();
    await expect(fay.waitAdmitted(5_000)).rejects.toThrow(/^refused: this invite expired at /);
  });
});
