// Join-request verdicts no seedling can steer (the independent attacker's
// findings 4, 5 and 10): a close, a retirement and a drop go before every
// concurrent carry; concurrent carries go highest carrier rank first, so a
// backdated, id-ground carry by a seedling cannot push an honest carry over
// the limit; and a request is bound to the opening whose address it was made
// on. Every verdict is checked in many delivery orders (one by one, chunks,
// all at once), with ground ids and backdated deps, against one state hash.
import { beforeAll, describe, expect, it } from "vitest";
import { toB64, toHex } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto, type SignKeyPair } from "../src/cwtch/crypto.js";
import { mintRequestStamp, sealAnswerKey, signRequest } from "../src/pursuance/join-request.js";
import { converge, expectApplied, expectRejected, History, type HMember } from "./helpers/history.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});

/** Open requests sealing a fresh answer key to `holders`; returns the answer key's public half. */
function open(h: History, by: HMember, holders: HMember[], limit = 5): string {
  const answerSeed = h.rng.bytes(32);
  const answerKey = toHex(crypto.signKeyPair(answerSeed).publicKey);
  const box = Object.fromEntries(holders.map((m) => [m.hex, sealAnswerKey(crypto, answerSeed, m.hex)]));
  h.emit(by, { t: "requests.set", open: true, seed: toB64(h.rng.bytes(32)), limit, work: 4, answerKey, holders: box });
  return answerKey;
}

/** A fresh requester's request, made on the address whose answer key is `answerKey`. */
function request(h: History, answerKey: string, name: string) {
  const kp: SignKeyPair = crypto.signKeyPair(h.rng.bytes(32));
  const requester = toHex(kp.publicKey);
  const content = { name, message: "let me in", ts: 1_700_000_000_000 };
  const sig = signRequest(crypto, kp, h.genesisId!, content, answerKey);
  return { t: "request.pending" as const, requester, sig, stamp: mintRequestStamp(crypto, h.genesisId!, requester, sig, 4), ...content };
}

function world(seed: number) {
  const h = new History(crypto, seed);
  const F = h.member("founder");
  const R = h.member("recruiter");
  const S = h.member("seedling");
  h.genesis(F);
  h.addMember(F, R, "recruiter");
  h.addMember(F, S, "seedling");
  return { h, F, R, S };
}

describe("join-request verdicts under concurrency", () => {
  it("a seedling's backdated, id-ground carry cannot push a founder's carry over the limit nor undo its answer", () => {
    for (const seed of [20, 21, 22]) {
      const { h, F, S } = world(seed);
      const key = open(h, F, [F], 1);
      const before = h.tips();
      const real = h.emit(F, request(h, key, "the real requester"))!;
      const answer = h.emit(F, { t: "request.answer", requester: (real.body as { requester: string }).requester, admit: false, reason: "full" })!;
      h.task(F, ["primary"], { title: "later" });
      const flood = h.emit(S, request(h, key, "throw-away"), before, { grind: 2000, ts: real.ts - 60_000 })!;
      const f = converge(crypto, h, 24, seed);
      expectApplied(f, real);
      expectApplied(f, answer);
      // The flood folds after the founder's carry: over the limit, or after the answer freed the slot.
      expect(f.applied.findIndex((a) => a.event.id === flood.id)).toBeGreaterThan(f.applied.findIndex((a) => a.event.id === real.id));
    }
  });

  it("concurrent carries by a seedling cannot displace concurrent carries by a recruiter at the limit", () => {
    const { h, F, R, S } = world(23);
    const key = open(h, F, [F, R], 2);
    const at = h.tips();
    const honest = [h.emit(R, request(h, key, "r1"), at)!, h.emit(R, request(h, key, "r2"), at)!];
    const floods = [0, 1, 2].map((i) => h.emit(S, request(h, key, `s${i}`), at, { grind: 500 })!);
    const f = converge(crypto, h, 24, 23);
    for (const e of honest) expectApplied(f, e);
    for (const e of floods) expectRejected(f, e, /too many pending requests/);
  });

  it("after a close, a backdated, id-ground carry is refused in every order", () => {
    const { h, F, R, S } = world(18);
    const key = open(h, F, [F, R]);
    const before = h.tips();
    const close = h.emit(F, { t: "requests.set", open: false, limit: 5 })!;
    h.task(F, ["primary"], { title: "later" });
    const late = h.emit(S, request(h, key, "after the close"), before, { grind: 2000, ts: close.ts - 60_000 })!;
    expectRejected(converge(crypto, h, 24, 18), late, /requests to join are off/);
  });

  it("after a holder's removal retired the address, a backdated, id-ground carry is refused in every order", () => {
    const { h, F, R, S } = world(19);
    const key = open(h, F, [F, R]);
    const before = h.tips();
    const rm = h.remove(F, R);
    const late = h.emit(S, request(h, key, "after the retirement"), before, { grind: 2000, ts: rm.ts - 60_000 })!;
    expectRejected(converge(crypto, h, 24, 19), late, /address is retired/);
  });

  it("a carry concurrent with a drop folds after it, so the drop never misses a slot it freed", () => {
    const { h, F, S } = world(24);
    const key = open(h, F, [F], 1);
    const q = h.emit(F, request(h, key, "first"))!;
    const before = h.tips();
    const drop = h.emit(F, { t: "request.drop", requesters: [(q.body as { requester: string }).requester] })!;
    const next = h.emit(S, request(h, key, "second"), before, { grind: 2000, ts: drop.ts - 60_000 })!;
    const f = converge(crypto, h, 24, 24);
    expectApplied(f, drop);
    // Folded after the drop, the carry finds the slot free.
    expectApplied(f, next);
  });

  it("a request made on an old address is refused after a reopen, even when a demoted ex-holder carries it in", () => {
    const { h, F, R } = world(17);
    const oldKey = open(h, F, [F, R]);
    h.revoke(F, R, "recruiter");
    h.grant(F, R, "seedling");
    const old = request(h, oldKey, "asked on the old address");
    const whileRetired = h.emit(R, old)!;
    const newKey = open(h, F, [F]);
    const after = h.emit(R, old)!;
    const fresh = h.emit(R, request(h, newKey, "asked on the new address"))!;
    const f = converge(crypto, h, 24, 17);
    expectRejected(f, whileRetired, /address is retired/);
    expectRejected(f, after, /another opening|signature does not verify/);
    expectApplied(f, fresh);
  });
});
