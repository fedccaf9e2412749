// The seven insider attacks on authority, each as the attacker would run it
// with the project's own builders: ids ground below the event they must beat
// (1,000 tries), timestamps backdated, deps citing only what came before. Each
// history is delivered in at least 20 causal orders and batchings ("every
// client"); every delivery must agree, and the attack must fail in all of them.
// On the fold before supersession (ids deciding concurrent conflicts) attacks
// 1-5 succeeded; 6 had no answer at all (see docs/protocol.md).
import { beforeAll, describe, expect, it } from "vitest";
import { toB64 } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { commentBody, grantBody, inviteBody, joinBody, rotateBody, shareBody, taskCreateBody } from "../src/pursuance/actions.js";
import type { PEvent } from "../src/pursuance/apply-common.js";
import type { Body } from "../src/pursuance/events.js";
import type { Fold } from "../src/pursuance/fold.js";
import { suspectRotators, type PursuanceState } from "../src/pursuance/state.js";
import { converge, distinctOrders, expectApplied, expectRejected, History, memoVerifyCrypto, position, type HMember } from "./helpers/history.js";

let base: Crypto;
let crypto: Crypto;
beforeAll(async () => {
  base = await loadCrypto();
  crypto = memoVerifyCrypto(base);
});

const ORDERS = 24;
const GRIND = 1000;

function world(seed: number) {
  const h = new History(base, seed);
  const F = h.member("founder");
  const A = h.member("admin");
  const A2 = h.member("admin2");
  const R = h.member("recruiter");
  const C = h.member("agent");
  h.genesis(F);
  h.addMember(F, A, "admin");
  h.addMember(F, A2, "admin");
  h.addMember(F, R, "recruiter");
  h.addMember(F, C, "change agent");
  return { h, F, A, A2, R, C };
}

/** Fold in many orders (all must agree); the attack must really have been concurrent. */
function everywhere(h: History, seed: number): Fold {
  expect(distinctOrders(h, ORDERS, seed)).toBeGreaterThan(1);
  return converge(crypto, h, ORDERS, seed);
}

/** The attacker's options: ground below `beat`, backdated before it. */
const ground = (beat: PEvent) => ({ grind: GRIND, ts: beat.ts - 60_000 });

const holdsKey = (s: PursuanceState, m: HMember, scope: string) => s.keys.get(scope)!.holders.has(m.hex);

describe("insider attacks on authority", () => {
  it("1. backdating after removal: a removed admin's ground, backdated task, invite and puppet join are all rejected; rotations exclude the puppet", () => {
    for (let seed = 1; seed <= 3; seed++) {
      const { h, F, A, C } = world(seed);
      const P = h.member("puppet");
      const before = h.tips();
      const rm = h.remove(F, A);
      const rot = h.rotate(F, "group"); // the honest rotation after the removal
      const rotAdmin = h.rotate(F, "admin");
      const t = h.task(F, ["admin"], { title: "after the removal" });
      // Days later: A writes as if it had never seen the removal.
      const task = h.emit(A, (s) => taskCreateBody(A.actor, s, { text: { title: "backdated", deliverables: "" }, readers: ["admin"] }), before, ground(rm))!;
      let secret: ReturnType<typeof inviteBody>["secret"] | null = null;
      const inv = h.emit(A, (s) => {
        const r = inviteBody(A.actor, s, "recruiter");
        secret = r.secret;
        return r.body;
      }, [task], ground(rm))!;
      const join = h.join(P, secret!, [inv]);
      expect(task.id < rm.id && inv.id < rm.id).toBe(true);
      const f = everywhere(h, seed);
      for (const e of [task, inv]) {
        expect(position(f, e)).toBeGreaterThan(position(f, rm));
        expectRejected(f, e, /is not a member/);
      }
      expectRejected(f, join, /unknown invite/);
      for (const e of [rm, rot, rotAdmin, t]) expectApplied(f, e);
      expect(f.state.members.has(P.hex)).toBe(false);
      expect(f.state.members.has(A.hex)).toBe(false);
      expect(holdsKey(f.state, P, "group") || holdsKey(f.state, A, "group") || holdsKey(f.state, A, "admin")).toBe(false);
      expect(holdsKey(f.state, C, "group")).toBe(true);
    }
  });

  it("2. backdating after demotion: a demoted admin's backdated grant and admin-key rotation are rejected; the honest rotation and the admin task stand", () => {
    for (let seed = 11; seed <= 13; seed++) {
      const { h, F, A, C } = world(seed);
      h.grant(F, A, "recruiter"); // A stays a member, below admin
      const before = h.tips();
      const demote = h.revoke(F, A, "admin");
      const rot = h.rotate(F, "admin");
      const t = h.task(F, ["admin"], { title: "admin only, after the demotion" });
      const grant = h.emit(A, (s) => grantBody(A.actor, s, C.hex, "recruiter"), before, ground(demote))!;
      const evilRot = h.emit(A, (s) => rotateBody(A.actor, s, "admin").body, [grant], ground(demote))!;
      const f = everywhere(h, seed);
      expect(position(f, grant)).toBeGreaterThan(position(f, demote));
      expectRejected(f, grant, /does not outrank role "recruiter"/);
      expectRejected(f, evilRot, /not entitled to the "admin" key/);
      for (const e of [demote, rot, t]) expectApplied(f, e);
      expect([...f.state.members.get(A.hex)!.roles]).toEqual(["recruiter"]);
      expect(holdsKey(f.state, A, "admin")).toBe(false);
    }
  });

  it("3. concurrent removal: the primary removes admin A while A grants C a role; A's grant loses whatever its id", () => {
    for (let seed = 21; seed <= 23; seed++) {
      const { h, F, A, C } = world(seed);
      const at = h.tips();
      const rm = h.remove(F, A, at);
      const grant = h.emit(A, (s) => grantBody(A.actor, s, C.hex, "recruiter"), at, ground(rm))!;
      expect(grant.id < rm.id).toBe(true);
      const f = everywhere(h, seed);
      expectApplied(f, rm);
      expectRejected(f, grant, /is not a member/);
      expect(f.state.members.get(C.hex)!.roles.has("recruiter")).toBe(false);
    }
  });

  it("4. late invite: a join citing only an invite whose inviter was removed, id ground below the removal, is rejected", () => {
    for (let seed = 31; seed <= 33; seed++) {
      const { h, F, A } = world(seed);
      const J = h.member("joiner");
      const { event: inv, secret } = h.invite(A, "change agent");
      const rm = h.remove(F, A);
      // The joiner (or A's puppet) cites only the invite and grinds the join's id below the removal's.
      for (const k of h.inviteKeys.get(secret.publicKey) ?? []) J.ring.add(k.scope, k.key);
      const late = h.emit(J, joinBody(J.actor, h.genesisId!, secret.seed, "late"), [inv], ground(rm))!;
      expect(late.id < rm.id).toBe(true);
      const f = everywhere(h, seed);
      expectApplied(f, inv);
      expectApplied(f, rm);
      expect(position(f, late)).toBeGreaterThan(position(f, rm));
      expectRejected(f, late, /the inviter can no longer admit/);
      expect(f.state.members.has(J.hex)).toBe(false);
    }
  });

  it("5. retroactive equivocation: a removed member re-signs its old invite; the honest joiner's join, tasks and later rotations stand", () => {
    for (let seed = 41; seed <= 43; seed++) {
      const { h, F, R } = world(seed);
      const J = h.member("joiner");
      const old = h.tips();
      const { event: inv, secret } = h.invite(R, "change agent");
      const join = h.join(J, secret);
      const jt = h.task(J, ["change agent"], { title: "the joiner's work" });
      const rm = h.remove(F, R);
      const rot = h.rotate(F, "group");
      // R re-signs the seq of its invite with something else, citing only what came before it.
      const seq = R.chain.indexOf(inv.id) + 1;
      const forged = h.emit(R, (s) => inviteBody(R.actor, s, "change agent").body, old, { ...ground(inv), fork: { seq } })!;
      const f = everywhere(h, seed);
      for (const e of [inv, join, jt, rm, rot]) expectApplied(f, e);
      expectRejected(f, forged, /equivocated/);
      expect(f.state.members.has(J.hex)).toBe(true);
      expect(f.state.tasks.has(jt.id)).toBe(true);
    }
  });

  it("6. rotation sabotage: garbage sealed to the founder is reported, the rotator flagged, a holder re-shares, the founder reads again", () => {
    for (let seed = 51; seed <= 53; seed++) {
      const { h, F, A, A2 } = world(seed);
      h.grant(F, A, "recruiter"); // irrelevant noise, concurrent-ish
      const bad = h.rotate(A, "group", "tips", (sealed) => {
        sealed[F.hex] = toB64(h.rng.bytes(80)); // random bytes where the founder's seal should be
      });
      const kid = (bad.body as Extract<Body, { t: "keys.rotate" }>).keyId;
      expect(F.ring.get(kid)).toBeUndefined(); // the founder's ring could not open it
      const at = h.tips();
      const complaint = h.emit(F, { t: "keys.unreadable", scope: "group", keyId: kid }, at)!;
      h.task(A2, ["admin"], { title: "concurrent with the complaint" }, at);
      // The duty: a holder other than the flagged rotator re-shares.
      const share = h.emit(A2, (s) => {
        expect(suspectRotators(s).has(A.hex)).toBe(true);
        return shareBody(A2.actor, s, F.hex);
      })!;
      const t = h.task(A2, ["admin"], { title: "after the sabotage" });
      const f = everywhere(h, seed);
      for (const e of [bad, complaint, share, t]) expectApplied(f, e);
      expect(f.state.badSeals).toEqual([{ scope: "group", keyId: kid, reporter: F.hex, rotator: A.hex }]);
      expect(holdsKey(f.state, F, "group")).toBe(true);
      expect(F.ring.get(kid)).toBeDefined(); // the founder reads again
      // A complaint about a key one is not listed as holding, or an old one, is refused.
      const h2 = world(seed).h;
      const F2 = h2.get("founder");
      const stale = h2.emit(F2, (s) => ({ t: "keys.unreadable", scope: "group", keyId: "ab".repeat(16) }))!;
      expectRejected(converge(crypto, h2, 4, seed), stale, /is not current/);
    }
  });

  it("a demoted admin's act is judged after the demotion: what the new role allows stands, the rest fails", () => {
    const { h, F, A } = world(61);
    h.grant(F, A, "recruiter");
    const t = h.task(F, ["recruiter"], { title: "recruiters" });
    const before = h.tips();
    const demote = h.revoke(F, A, "admin");
    const comment = h.emit(A, (s) => commentBody(A.actor, s.tasks.get(t.id)!, "still on it"), before, ground(demote))!;
    const hello = h.emit(A, { t: "announce", text: "hello" }, [comment], ground(demote))!;
    const f = everywhere(h, 61);
    for (const e of [comment, hello]) expect(position(f, e)).toBeGreaterThan(position(f, demote));
    expectApplied(f, comment);
    expectRejected(f, hello, /lacks capability announce/);
  });
});
