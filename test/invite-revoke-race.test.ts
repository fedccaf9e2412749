// An invite revocation against joins redeeming the same invite: a revoke its
// author could make supersedes every join it does not descend from, in every
// arrival order, even a join whose id was ground below it or whose ts was
// backdated; a join the revoker had already seen stands (docs/protocol.md,
// "Authority under concurrency").
import { beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { inviteBody, joinBody, type InviteSecret } from "../src/pursuance/actions.js";
import { converge, expectApplied, expectRejected, History, memoVerifyCrypto, type HMember } from "./helpers/history.js";

let base: Crypto;
let crypto: Crypto;
beforeAll(async () => {
  base = await loadCrypto();
  crypto = memoVerifyCrypto(base);
});

function world(seed: number) {
  const h = new History(base, seed);
  const F = h.member("founder");
  const R = h.member("recruiter");
  const C = h.member("agent");
  h.genesis(F);
  h.addMember(F, R, "recruiter");
  h.addMember(F, C, "change agent");
  return { h, F, R, C };
}

function invite(h: History, by: HMember, role: string, expires?: number) {
  let secret: InviteSecret | null = null;
  const event = h.emit(by, (s) => {
    const r = inviteBody(by.actor, s, role, expires !== undefined ? { expires } : {});
    secret = r.secret;
    return r.body;
  })!;
  return { event, secret: secret! as InviteSecret };
}

describe("invite.revoke against concurrent joins", () => {
  it("a leaked token: the inviter's revoke beats the thief's concurrent join (ground id) in every order and on 20 seeds", () => {
    for (let seed = 100; seed < 120; seed++) {
      const { h, F, R, C } = world(seed);
      const { event: inv, secret } = invite(h, R, "change agent");
      h.task(F, ["admin"], { title: "life goes on" });
      const rv = h.emit(R, { t: "invite.revoke", invite: secret.publicKey })!;
      h.task(C, ["change agent"], { title: "more" });
      const T = h.member("thief");
      const join = h.emit(T, joinBody(T.actor, h.genesisId!, secret.seed, "thief"), [inv], { grind: 1000 })!;
      const after = h.emit(T, { t: "announce", text: "hi" } as never, "own");
      const f = seed < 103 ? converge(crypto, h, 12, seed) : h.fold();
      expectApplied(f, rv);
      expectRejected(f, join, /invite revoked/);
      if (after) expectRejected(f, after, /not a member/);
      expect(f.state.members.has(T.hex), `seed ${seed}`).toBe(false);
    }
  });

  it("the expiry duty's revoke beats a concurrent join backdated to before the expiry", () => {
    const { h, R } = world(32);
    const exp = h.state().clock + 3_600_000;
    const { event: inv, secret } = invite(h, R, "change agent", exp);
    h.advance(30 * 86_400_000);
    const rv = h.emit(R, { t: "invite.revoke", invite: secret.publicKey })!;
    const J = h.member("latecomer");
    const join = h.emit(J, joinBody(J.actor, h.genesisId!, secret.seed, "late"), [inv], { ts: exp - 1, grind: 1000 })!;
    const f = converge(crypto, h, 12, 32);
    expectApplied(f, rv);
    expectRejected(f, join, /invite revoked/);
  });

  it("a join the revoker had already seen stands; the revoke is refused as too late", () => {
    const { h, R } = world(33);
    const { event: inv, secret } = invite(h, R, "change agent");
    const J = h.member("joiner");
    const join = h.emit(J, joinBody(J.actor, h.genesisId!, secret.seed, "j"), [inv])!;
    const rv = h.emit(R, { t: "invite.revoke", invite: secret.publicKey })!;
    const f = converge(crypto, h, 12, 33);
    expectApplied(f, join);
    expectRejected(f, rv, /already used/);
    expect(f.state.members.has(J.hex)).toBe(true);
  });

  it("a revoke its author may not make (a change agent, an admin's invite) supersedes nothing", () => {
    const { h, F, C } = world(34);
    const { event: inv, secret } = invite(h, F, "change agent");
    const rv = h.emit(C, { t: "invite.revoke", invite: secret.publicKey })!;
    const J = h.member("joiner");
    const join = h.emit(J, joinBody(J.actor, h.genesisId!, secret.seed, "j"), [inv], { grind: 1000 })!;
    const f = converge(crypto, h, 12, 34);
    expectRejected(f, rv, /lacks capability member.invite|does not outrank/);
    expectApplied(f, join);
  });
});
