// A key's label comes from the applied event that names it, never from a
// rejected one (docs/protocol.md, "Verifiable rotations"): real clients over a
// real relay. A member who may rotate posts, first, shares the fold rejects
// that seal its next group key labelled "admin", then the rotation itself.
// Before the fix clients took keys from every event before the fold judged it
// and never re-labelled a key, so they filed the new group key as an admin key,
// never added its epoch and kept writing under the old group key.
import { afterAll, describe, expect, it } from "vitest";
import { fromHex, toB64 } from "../src/cwtch/bytes.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { encodeBody } from "../src/pursuance/events.js";
import { decodeInvite, encodeInvite } from "../src/pursuance/invite.js";
import { keyIdOf } from "../src/pursuance/keyring.js";
import { defaultRules } from "../src/pursuance/rules.js";
import { epochOfKeyId } from "../src/pursuance/state.js";
import { keyRecipients } from "../src/pursuance/key-holders.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

describe("key labels come from applied events", () => {
  let relay: RelayServer | null = null;
  const clients: PursuanceClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    await relay?.close();
  });

  it("a rejected share labelling the next group key 'admin' does not stop honest clients adopting the new group epoch; a rejected rotation's key is for reading only", async () => {
    relay = await startRelay({ port: 0 });
    // The low member may rotate (keys.rotate), so the rotation itself is authorised: only the labels are at stake.
    const rules = defaultRules();
    rules.roles["change agent"]!.caps.push("keys.rotate");
    const F = await PursuanceClient.create(await ports(), await identity(), { name: "labels", founderName: "founder", relays: [relay.url], rules });
    clients.push(F);
    const A = await PursuanceClient.join(await ports(), await identity(), decodeInvite(encodeInvite(await F.createInvite("admin"))), "admin");
    clients.push(A);
    const C = await PursuanceClient.join(await ports(), await identity(), decodeInvite(encodeInvite(await F.createInvite("change agent"))), "agent");
    clients.push(C);
    const all = [F, A, C];
    await until("everyone holds the group key", () => all.every((c) => all.every((m) => c.state.keys.get("group")!.holders.has(m.me))), all);
    const oldKid = F.state.keys.get("group")!.keyId;
    const cr = C.crypto;
    const K2 = cr.randomBytes(32);
    const kid = keyIdOf(cr, K2);
    const shares = [];
    for (const m of [F.me, A.me]) {
      const ev = await C.group.publish(encodeBody({ t: "keys.share", to: m, keys: [{ scope: "admin", keyId: kid, sealed: toB64(cr.sealTo(K2, fromHex(m))) }] }));
      shares.push(toHex(ev.id));
    }
    const sealed: Record<string, string> = {};
    for (const m of keyRecipients(C.state, "group")) sealed[m] = toB64(cr.sealTo(K2, fromHex(m)));
    await C.group.publish(encodeBody({ t: "keys.rotate", scope: "group", from: oldKid, keyId: kid, sealed }));
    await until("the rotation is applied everywhere", () => all.every((c) => c.state.keys.get("group")!.keyId === kid), all);
    for (const id of shares) expect(F.fold.verdict(id)).toMatch(/not entitled|unknown/);
    // Every honest client files the key as a group key and writes in its epoch.
    const e2 = epochOfKeyId(kid);
    await until("honest clients write in the new epoch", () => [F, A].every((c) => c.session.currentEpoch === e2), all);
    for (const c of [F, A]) {
      expect(c.ring.get(kid)?.scope).toBe("group");
      expect(c.session.hasEpoch(e2)).toBe(true);
    }
    await A.publish({ t: "announce", text: "after the rotation" });
    await until("the founder reads the admin's announcement", () => F.state.announcements.some((a) => a.author === A.me), all);
    expect(F.state.badSeals).toEqual([]);

    // A rotation the fold rejects (stale: it rotates from the old key) is taken to read only: its epoch can
    // be read (someone may have written in it while it looked current), but no client writes in it.
    const K3 = cr.randomBytes(32);
    const kid3 = keyIdOf(cr, K3);
    const sealed3: Record<string, string> = {};
    for (const m of keyRecipients(C.state, "group")) sealed3[m] = toB64(cr.sealTo(K3, fromHex(m)));
    const stale = await C.group.publish(encodeBody({ t: "keys.rotate", scope: "group", from: oldKid, keyId: kid3, sealed: sealed3 }));
    await until("the stale rotation is folded", () => [F, A].every((c) => c.fold.verdict(toHex(stale.id)) !== undefined), all);
    for (const c of [F, A]) {
      expect(c.fold.verdict(toHex(stale.id))).toMatch(/stale/);
      expect(c.session.hasEpoch(epochOfKeyId(kid3))).toBe(true);
      expect(c.session.currentEpoch).toBe(e2);
      expect(c.state.keys.get("group")!.keyId).toBe(kid);
    }
  });
});

function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}
