// The rendezvous at the edge: frames that are not well-formed rendezvous
// messages open to null; a carried event passes the same checks as a received
// one (signature, group, an epoch we hold); a welcome key is taken only if it
// hashes to the id it claims.
import { beforeAll, describe, expect, it } from "vitest";
import { toB64, toHex, utf8 } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { sealFrame } from "../src/cwtch/envelope.js";
import { GroupSession } from "../src/cwtch/group-session.js";
import { signEvent } from "../src/cwtch/message.js";
import { KeyRing } from "../src/pursuance/keyring.js";
import { openRv, rendezvousKeys, rendezvousSecret, sealRv } from "../src/pursuance/rendezvous.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});

describe("rendezvous frames", () => {
  it("round-trips join and welcome; anything else opens to null", () => {
    const seed = crypto.randomBytes(32);
    const keys = rendezvousKeys(crypto, rendezvousSecret(crypto, seed));
    const other = rendezvousKeys(crypto, crypto.randomBytes(32));
    expect(keys.tag).not.toBe(other.tag);
    const join = sealRv(crypto, keys, { k: "join", ev: Uint8Array.of(1, 2, 3) });
    expect(join.tag).toBe(keys.tag);
    expect(openRv(crypto, keys, join.blob)).toEqual({ k: "join", ev: Uint8Array.of(1, 2, 3) });
    expect(openRv(crypto, other, join.blob)).toBeNull();
    expect(openRv(crypto, keys, toB64(join.blob))).toEqual({ k: "join", ev: Uint8Array.of(1, 2, 3) });
    const w = { k: "welcome" as const, to: "ab".repeat(32), keys: [{ scope: "group", keyId: "11".repeat(16), sealed: "AAAA" }] };
    expect(openRv(crypto, keys, sealRv(crypto, keys, w).blob)).toEqual(w);
    const raw = (o: unknown) => sealFrame(crypto, keys, utf8.encode(JSON.stringify(o)));
    for (const bad of [
      { k: "welcome", to: "ab".repeat(32), keys: [{ scope: "admin", keyId: "11".repeat(16), sealed: "AAAA" }] },
      { k: "welcome", to: "zz", keys: [] },
      { k: "join", ev: "not base64!" },
      { k: "other" },
      [],
      "join",
    ]) expect(openRv(crypto, keys, raw(bad)), JSON.stringify(bad)).toBeNull();
    expect(openRv(crypto, keys, sealFrame(crypto, keys, Uint8Array.of(0xff, 0xfe)))).toBeNull();
    expect(openRv(crypto, keys, "%%%")).toBeNull();
    expect(openRv(crypto, keys, new Uint8Array(600))).toBeNull();
  });

  it("a carried event must verify, be of our group and of an epoch we hold", () => {
    const groupId = crypto.randomBytes(32);
    const me = crypto.signKeyPair();
    const joiner = crypto.signKeyPair();
    const epochKey = crypto.randomBytes(32);
    const s = new GroupSession({ crypto, identity: me, groupId, epochs: [{ epoch: 7, key: epochKey }], now: () => 1 });
    const ev = (o: { group?: Uint8Array; epoch?: number }) =>
      signEvent(crypto, { group: o.group ?? groupId, epoch: o.epoch ?? 7, author: joiner.publicKey, seq: 1, prev: new Uint8Array(32), ts: 5, deps: [], body: utf8.encode("{}") }, joiner.secretKey);
    expect(s.accept(ev({ epoch: 8 }).bytes)).toMatchObject({ type: "dropped", reason: "wrong-epoch" });
    expect(s.accept(ev({ group: crypto.randomBytes(32) }).bytes)).toMatchObject({ type: "dropped", reason: "wrong-group" });
    const good = ev({});
    const forged = good.bytes.slice();
    forged[forged.length - 1]! ^= 1;
    expect(s.accept(forged)).toMatchObject({ type: "dropped", reason: "bad-signature" });
    expect(s.accept(Uint8Array.of(2, 1, 0))).toMatchObject({ type: "dropped", reason: "malformed" });
    expect(s.accept(good.bytes)).toMatchObject({ type: "event", status: "delivered", id: toHex(good.id) });
    expect(s.accept(good.bytes)).toMatchObject({ type: "event", status: "duplicate" });
  });

  it("a welcome key is taken only if it opens for us and hashes to its claimed id", () => {
    const joiner = crypto.signKeyPair();
    const member = new KeyRing(crypto, crypto.signKeyPair());
    const real = member.add("group", crypto.randomBytes(32));
    const ref = member.seal("group", real.keyId, joiner.publicKey);
    const ring = new KeyRing(crypto, joiner);
    expect(ring.open("group", "00".repeat(16), ref.sealed)).toBeNull();
    expect(new KeyRing(crypto, crypto.signKeyPair()).open("group", ref.keyId, ref.sealed)).toBeNull();
    expect(ring.open("group", ref.keyId, ref.sealed)?.keyId).toBe(real.keyId);
  });
});
