// A leaked, already-used invite token cannot displace the member who joined
// with it (docs/protocol.md, "Invites carry no keys": the first join wins and a
// second holder's is refused as a reuse). The late join cites only the invite
// (a joiner holds no log), is dated before expiry and has its id ground low, and
// a member posts its signed bytes. Which of two concurrent joins through one
// invite wins is decided by who built on each (join-contest.ts), never by ids.
// Every history is delivered in many causal orders, one event at a time, in
// batches and at once; all must agree.
import { beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { joinBody, shareBody } from "../src/pursuance/actions.js";
import { converge, expectApplied, expectRejected, History, memoVerifyCrypto, quietly } from "./helpers/history.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = memoVerifyCrypto(await loadCrypto());
});

const ORDERS = 24;

describe("a second join through a used invite", () => {
  it("a month-old member is not displaced by a ground-id join citing only the invite", () => {
    for (let seed = 1; seed <= 4; seed++) {
      const h = new History(crypto, seed);
      const F = h.member("founder");
      const A = h.member("alice");
      const B = h.member("bob");
      const X = h.member("x");
      h.genesis(F);
      const { event: inv, secret } = h.invite(F, "admin");
      const jA = h.join(A, secret);
      h.share(F, A); // the inviter's welcome: it names alice
      const { secret: sb } = h.invite(A, "recruiter");
      const jB = h.join(B, sb);
      h.task(A, ["group"]);
      h.advance(30 * 86_400_000);
      const jX = h.emit(X, joinBody(X.actor, h.genesisId!, secret.seed, "alice"), [inv], { grind: 4000, ts: inv.ts + 500 });
      const f = quietly(() => converge(crypto, h, ORDERS, seed));
      expectApplied(f, jA);
      expectApplied(f, jB);
      expectRejected(f, jX, /already used/);
      expect(f.state.members.has(A.hex)).toBe(true);
      expect(f.state.members.has(B.hex)).toBe(true);
      expect(f.state.members.has(X.hex)).toBe(false);
    }
  });

  it("a seedling witnessing the late join does not outweigh the members who built on the first", () => {
    const h = new History(crypto, 7);
    const F = h.member("founder");
    const S = h.member("seedling");
    const A = h.member("alice");
    const B = h.member("bob");
    const X = h.member("x");
    h.genesis(F);
    h.addMember(F, S, "seedling");
    const { event: inv, secret } = h.invite(F, "admin", "own");
    const jA = h.join(A, secret);
    h.share(F, A); // the inviter's welcome: it names alice
    const { secret: sb } = h.invite(A, "recruiter");
    h.join(B, sb);
    h.advance(30 * 86_400_000);
    const jX = h.emit(X, joinBody(X.actor, h.genesisId!, secret.seed, "alice"), [inv], { grind: 4000, ts: inv.ts + 500 });
    // The seedling's own chain never saw Alice's join: its event (any will do) saw only X's.
    const w = h.emit(S, { t: "leave" }, [jX!]);
    const f = quietly(() => converge(crypto, h, ORDERS, 7));
    expectApplied(f, jA);
    expectRejected(f, jX, /already used/);
    expect(f.state.members.has(A.hex)).toBe(true);
    expect(f.state.members.has(X.hex)).toBe(false);
    expect(w).not.toBeNull();
  });

  it("a recruiter's kept seed cannot un-member the admin it once invited as change agent", () => {
    const h = new History(crypto, 11);
    const F = h.member("founder");
    const R = h.member("rec");
    const C = h.member("carol");
    const P = h.member("puppet");
    h.genesis(F);
    h.addMember(F, R, "recruiter");
    const { event: inv, secret } = h.invite(R, "change agent");
    const jC = h.join(C, secret);
    h.grant(F, C, "admin");
    h.task(C, ["group"]);
    h.advance(10 * 86_400_000);
    const jP = h.emit(P, joinBody(P.actor, h.genesisId!, secret.seed, "carol"), [inv], { grind: 4000, ts: inv.ts + 500 });
    const f = quietly(() => converge(crypto, h, ORDERS, 3));
    expectApplied(f, jC);
    expectRejected(f, jP, /already used/);
    expect([...(f.state.members.get(C.hex)?.roles ?? [])]).toContain("admin");
    expect(f.state.members.has(P.hex)).toBe(false);
  });

  it("the honest flow is unchanged: one join, then the welcome, and a later reuse is refused", () => {
    const h = new History(crypto, 5);
    const F = h.member("founder");
    const A = h.member("alice");
    const Y = h.member("y");
    h.genesis(F);
    const { secret } = h.invite(F, "change agent");
    const jA = h.join(A, secret);
    h.share(F, A);
    const jY = h.join(Y, secret);
    const f = quietly(() => converge(crypto, h, ORDERS, 5));
    expectApplied(f, jA);
    expectRejected(f, jY, /already used/);
  });
});

// Round 2 of the attacks on the trust pass: the inviter holds the invite's seed, so it can
// sign a rival join whenever it likes; an admin who built on Alice's join re-signed that
// seq (equivocated) to build on the rival instead, and had two change agents it invited
// earlier build there too. Counting witnesses, the rival won (three authors to one) and
// Alice's join and all her work fell as a reuse. A join vouched for by a member who could
// have made that invite stands whatever else is vouched for (join-contest.ts).
describe("a contest an inviter stages against its own invitee", () => {
  function staged(seed: number) {
    const h = new History(crypto, seed);
    const F = h.member("founder");
    const M = h.member("mallory");
    const P1 = h.member("puppet1");
    const P2 = h.member("puppet2");
    const A = h.member("alice");
    const X = h.member("x");
    h.genesis(F);
    h.addMember(F, M, "admin");
    h.addMember(M, P1, "change agent");
    h.addMember(M, P2, "change agent");
    const { event: inv, secret } = h.invite(M, "change agent");
    const jA = h.join(A, secret);
    const seq = M.chain.length + 1;
    h.share(M, A); // mallory's welcome to alice
    const work = h.task(A, ["change agent"], { title: "alice's work" });
    const jX = h.emit(X, joinBody(X.actor, h.genesisId!, secret.seed, "x"), [inv], { grind: 4000, ts: inv.ts + 500 })!;
    // Re-signed at the same seq: a welcome to the rival instead.
    const v2 = h.emit(M, (s) => shareBody(M.actor, s, X.hex), [jX], { fork: { seq } })!;
    const w1 = h.task(P1, ["change agent"], {}, [v2]);
    const w2 = h.task(P2, ["change agent"], {}, [v2]);
    return { h, A, X, jA, jX, work, w1, w2 };
  }

  it("an equivocating inviter and its puppets cannot displace the member it admitted: both joins stand, as if it had invited the rival anew", () => {
    for (let seed = 1; seed <= 3; seed++) {
      const { h, A, X, jA, jX, work, w1, w2 } = staged(seed);
      const f = quietly(() => converge(crypto, h, ORDERS, seed));
      expectApplied(f, jA);
      expectApplied(f, work);
      expect(f.state.members.has(A.hex)).toBe(true);
      // The rival: Mallory may admit a change agent, so her vouching admits it; her puppets' work stands.
      expectApplied(f, jX);
      expect(f.state.members.has(X.hex)).toBe(true);
      expectApplied(f, w1);
      expectApplied(f, w2);
    }
  });

  it("puppets who could not have made the invite do not vouch: a stranger's rival they alone built on is a reuse", () => {
    const h = new History(crypto, 21);
    const F = h.member("founder");
    const A = h.member("alice");
    const S1 = h.member("s1");
    const S2 = h.member("s2");
    const X = h.member("x");
    h.genesis(F);
    h.addMember(F, S1, "seedling");
    h.addMember(F, S2, "seedling");
    const { event: inv, secret } = h.invite(F, "change agent");
    const jA = h.join(A, secret);
    h.share(F, A);
    const jX = h.emit(X, joinBody(X.actor, h.genesisId!, secret.seed, "x"), [inv], { grind: 4000, ts: inv.ts + 500 })!;
    h.emit(S1, { t: "leave" }, [jX]);
    h.emit(S2, { t: "leave" }, [jX]);
    const f = quietly(() => converge(crypto, h, ORDERS, 21));
    expectApplied(f, jA);
    expectRejected(f, jX, /already used/);
    expect(f.state.members.has(X.hex)).toBe(false);
  });
});
