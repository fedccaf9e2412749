// A claim about another member's seal (`keys.unreadable`) is the claimer's
// word alone: in every delivery order it flags no one and rotates nothing; it
// only takes the complainer off the key's holders so a holder re-shares to it.
import { beforeAll, describe, expect, it } from "vitest";
import { toB64 } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import type { Body } from "../src/pursuance/events.js";
import { sealComplaints, sealersDoubtedBy } from "../src/pursuance/seal-complaints.js";
import { converge, expectApplied, expectRejected, History } from "./helpers/history.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});

function pair(seed: number) {
  const h = new History(crypto, seed);
  const F = h.member("founder");
  const X = h.member("x");
  h.genesis(F);
  h.addMember(F, X, "seedling");
  return { h, F, X };
}

describe("keys.unreadable costs only the complainer (docs/protocol.md, Verifiable rotations)", () => {
  it("a lie about an honest rotation, when no one but the rotator still holds the key: no rotation is due, no rotator is named, the liar is re-shared", () => {
    const { h, F, X } = pair(31);
    const rot = h.rotate(F, "group");
    const kid = (rot.body as Extract<Body, { t: "keys.rotate" }>).keyId;
    expect(X.ring.get(kid)).toBeDefined(); // the seal did open: the complaint is a lie
    const lie = h.emit(X, { t: "keys.unreadable", scope: "group", keyId: kid })!;
    let f = converge(crypto, h, 12, 31);
    expectApplied(f, lie);
    const g = f.state.keys.get("group")!;
    expect(g.needsRotation).toBe(false);
    expect(g.holders.has(X.hex)).toBe(false);
    expect(sealComplaints(f.state)).toEqual([{ scope: "group", keyId: kid, reporter: X.hex }]);
    // Who re-shares to the liar is steered for the liar alone.
    expect([...sealersDoubtedBy(f.state, X.hex)]).toEqual([F.hex]);
    expect([...sealersDoubtedBy(f.state, F.hex)]).toEqual([]);
    h.share(F, X);
    f = converge(crypto, h, 12, 31);
    expect(f.state.keys.get("group")!.holders.has(X.hex)).toBe(true);
    expect(f.state.keys.get("group")!.history.at(-1)).toBe(kid);
    // Once removed, a member's complaint is refused: it is no longer its business.
    h.remove(F, X);
    h.rotate(F, "group");
    const late = h.emit(X, { t: "keys.unreadable", scope: "group", keyId: f.state.keys.get("group")!.keyId }, "tips")!;
    expectRejected(converge(crypto, h, 12, 31), late, /not a member/);
  });

  it("an honest complaint about a truly bad seal still works: the complainer is re-shared by a holder and reads the key", () => {
    const { h, F, X } = pair(32);
    const A = h.member("admin");
    h.addMember(F, A, "admin");
    const bad = h.rotate(A, "group", "tips", (sealed) => {
      sealed[X.hex] = toB64(h.rng.bytes(80));
    });
    const kid = (bad.body as Extract<Body, { t: "keys.rotate" }>).keyId;
    expect(X.ring.get(kid)).toBeUndefined();
    h.emit(X, { t: "keys.unreadable", scope: "group", keyId: kid });
    h.share(F, X);
    const f = converge(crypto, h, 12, 32);
    expect(f.state.keys.get("group")!.holders.has(X.hex)).toBe(true);
    expect(f.state.keys.get("group")!.needsRotation).toBe(false);
    expect(X.ring.get(kid)).toBeDefined();
  });
  it("a holder that re-shares garbage is passed over too: each complaint passes over whoever sealed what the complainer could not open", () => {
    const { h, F, X } = pair(33);
    const A = h.member("admin");
    const B = h.member("admin2");
    h.addMember(F, A, "admin");
    h.addMember(F, B, "admin");
    const bad = h.rotate(F, "group", "tips", (sealed) => {
      sealed[X.hex] = toB64(h.rng.bytes(80));
    });
    const kid = (bad.body as Extract<Body, { t: "keys.rotate" }>).keyId;
    h.emit(X, { t: "keys.unreadable", scope: "group", keyId: kid });
    // A "re-shares" garbage; X says so again.
    const garbage = h.emit(A, { t: "keys.share", to: X.hex, keys: [{ scope: "group", keyId: kid, sealed: toB64(h.rng.bytes(80)) }] })!;
    h.emit(X, { t: "keys.unreadable", scope: "group", keyId: kid });
    const f = converge(crypto, h, 12, 33);
    expectApplied(f, garbage);
    expect([...sealersDoubtedBy(f.state, X.hex)].sort()).toEqual([F.hex, A.hex].sort());
    expect([...sealersDoubtedBy(f.state, B.hex)]).toEqual([]);
    expect(f.state.keys.get("group")!.needsRotation).toBe(false);
  });
});
