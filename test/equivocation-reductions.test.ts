// An equivocated event reduces no one (docs/protocol.md, "Equivocation cuts the
// equivocator off, not the others"): a member who re-signs an old seq as a
// removal or an invite revocation, and has a puppet build on that variant, must
// not undo work honest members did and built on before the variant existed.
// Every history is delivered in many orders, one event at a time, in chunks and
// all at once: one state hash, the same verdicts.
import { beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import type { PEvent } from "../src/pursuance/apply-common.js";
import type { Body } from "../src/pursuance/events.js";
import type { Fold } from "../src/pursuance/fold.js";
import { world } from "./helpers/attacks.js";
import { deliver, expectApplied, expectRejected, randomCausalOrder, randomChunks, Rng, type History } from "./helpers/history.js";

let base: Crypto;
beforeAll(async () => {
  base = await loadCrypto();
});

/** Fold `h` in `n` arrival orders; every fold has one hash; returns the first. */
function everyOrder(h: History, n = 24): Fold {
  const rng = new Rng(3);
  const folds: Fold[] = [];
  for (let i = 0; i < n; i++) {
    const order = randomCausalOrder(h.events, rng);
    const chunks = i % 3 === 0 ? order.map((e) => [e]) : i % 3 === 1 ? randomChunks(order, rng, 4) : [order];
    folds.push(deliver(h.foldCrypto, chunks, h.genesisId).fold);
  }
  expect(new Set(folds.map((f) => f.hash())).size).toBe(1);
  return folds[0]!;
}

describe("an equivocated event reduces no one", () => {
  it("a recruiter re-signs its invite's seq as a revocation of that invite (id between the invite and the join), a puppet builds on it: the joiner and its work stand", () => {
    let found: { h: History; join: PEvent; jt: PEvent; fc: PEvent; v2: PEvent; pw: PEvent; member: string } | null = null;
    for (let seed = 1; seed < 200 && !found; seed++) {
      const { h, F, R } = world(base, seed);
      const P = h.member("puppet");
      h.addMember(R, P, "change agent");
      const J = h.member("joiner");
      const old = h.tips();
      const { event: inv, secret } = h.invite(R, "change agent");
      const join = h.join(J, secret);
      const jt = h.task(J, ["change agent"], { title: "the joiner's work" });
      const fc = h.comment(F, jt, "good work");
      h.task(F, ["admin"], { title: "the founder carries on" });
      const seq = R.chain.indexOf(inv.id) + 1;
      const key = (inv.body as Extract<Body, { t: "invite" }>).invite;
      const v2 = h.emit(R, { t: "invite.revoke", invite: key }, old, { fork: { seq }, ts: inv.ts + 1 })!;
      const pw = h.task(P, ["change agent"], { title: "the puppet builds on the revocation" }, [v2.id]);
      // The attacker's best case: the revocation's id sorts between the invite's and the join's.
      if (inv.id < v2.id && v2.id < join.id) found = { h, join, jt, fc, v2, pw, member: J.hex };
    }
    expect(found).not.toBeNull();
    const { h, join, jt, fc, v2, pw, member } = found!;
    const f = everyOrder(h);
    expect(f.state.members.has(member)).toBe(true);
    for (const e of [join, jt, fc, pw]) expectApplied(f, e);
    expectRejected(f, v2, /equivocated/);
  });

  it("an admin who commented on X's work re-signs an older seq as `remove X`, a puppet builds on it: X, X's invitee and the founder's comment stand", () => {
    const { h, F, A, R: X } = world(base, 9);
    const P = h.member("puppet");
    h.addMember(A, P, "change agent");
    const old = h.tips();
    const v1 = h.task(A, ["admin"], { title: "A's ordinary task" });
    const J = h.member("joiner");
    const { event: inv, secret } = h.invite(X, "change agent");
    const join = h.join(J, secret);
    const xt = h.task(X, ["recruiter"], { title: "X's work" });
    const a1 = h.comment(A, xt, "A has seen X's work");
    const fc = h.comment(F, xt, "thanks X");
    const ft = h.task(F, ["admin"], { title: "the founder carries on" });
    const seq = A.chain.indexOf(v1.id) + 1;
    const v2 = h.emit(A, { t: "remove", member: X.hex, reason: "retroactive" }, old, { fork: { seq } })!;
    const pw = h.task(P, ["change agent"], { title: "the puppet builds on the removal" }, [v2.id]);
    const f = everyOrder(h);
    expect(f.state.members.has(X.hex)).toBe(true);
    expect(f.state.members.has(J.hex)).toBe(true);
    for (const e of [v1, a1, inv, join, xt, fc, ft, pw]) expectApplied(f, e);
    expectRejected(f, v2, /equivocated/);
  });
});
