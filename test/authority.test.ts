// Strict authority, adversarially: every escalation attempt is rejected, kept
// in `state.rejected` with a reason naming the cause, identically on every
// client (each history is folded in many delivery orders and batchings, and
// every fold must hold the same hash and the same rejected list).
import { beforeAll, describe, expect, it } from "vitest";
import { toB64 } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { grantBody, joinBody } from "../src/pursuance/actions.js";
import type { PEvent } from "../src/pursuance/apply-common.js";
import { encodeBody, type Body } from "../src/pursuance/events.js";
import { parseBody } from "../src/pursuance/events-parse.js";
import { defaultRules } from "../src/pursuance/rules.js";
import type { Fold } from "../src/pursuance/fold.js";
import { type PursuanceState } from "../src/pursuance/state.js";
import { missingHolders } from "../src/pursuance/key-holders.js";
import { converge, distinctOrders, expectApplied, expectRejected, History, memoVerifyCrypto, position, reasonOf, type HMember } from "./helpers/history.js";

let base: Crypto;
let crypto: Crypto;
beforeAll(async () => {
  base = await loadCrypto();
  crypto = memoVerifyCrypto(base);
});

interface World {
  h: History;
  F: HMember;
  A1: HMember;
  A2: HMember;
  R: HMember;
  C: HMember;
  S: HMember;
  X: HMember;
}

/** Founder (primary, leader), two admins, a recruiter, a change agent, a seedling; X never joins. */
function world(seed: number): World {
  const h = new History(base, seed);
  const F = h.member("founder");
  const A1 = h.member("admin1");
  const A2 = h.member("admin2");
  const R = h.member("recruiter");
  const C = h.member("agent");
  const S = h.member("seedling");
  const X = h.member("outsider");
  h.genesis(F);
  h.addMember(F, A1, "admin");
  h.addMember(F, A2, "admin");
  h.addMember(F, R, "recruiter");
  h.addMember(F, C, "change agent");
  h.addMember(F, S, "seedling");
  return { h, F, A1, A2, R, C, S, X };
}

const roles = (s: PursuanceState, m: HMember) => [...(s.members.get(m.hex)?.roles ?? [])].sort();

/** Fold everywhere, with every listed attempt rejected for the listed cause. */
function allRejected(h: History, attempts: Array<[PEvent | null, RegExp]>, orders = 12): Fold {
  const f = converge(crypto, h, orders);
  for (const [e, why] of attempts) expectRejected(f, e, why);
  return f;
}

describe("grants", () => {
  it("granting a role ranked at or above one's own is rejected", () => {
    const { h, F, A1, R, C, S } = world(1);
    const at = h.tips(); // all attempts concurrent: many delivery orders
    const e1 = h.grant(R, C, "recruiter", at);
    const e2 = h.grant(R, C, "admin", at);
    const e3 = h.grant(A1, A1, "primary", at);
    const e4 = h.grant(A1, R, "admin", at);
    const e5 = h.emit(R, (s) => grantBody(R.actor, s, R.hex, "primary"), at);
    const ok = h.grant(R, S, "change agent", at);
    expect(distinctOrders(h, 20)).toBeGreaterThan(1);
    const f = allRejected(h, [
      [e1, /does not outrank role "recruiter" \(rank 60\)/],
      [e2, /does not outrank role "admin" \(rank 80\)/],
      [e3, /rank 80 does not outrank role "primary"/],
      [e4, /rank 80 does not outrank role "admin"/],
      [e5, /rank 60 does not outrank role "primary"/],
    ]);
    expectApplied(f, ok);
    expect(roles(f.state, C)).toEqual(["change agent"]);
    expect(roles(f.state, R)).toEqual(["recruiter"]);
    expect(roles(f.state, A1)).toEqual(["admin"]);
    expect(roles(f.state, S)).toEqual(["change agent", "seedling"]);
    expect(roles(f.state, F)).toEqual(["primary"]);
  });

  it("granting to a member ranked at or above oneself is rejected", () => {
    const { h, F, A1, A2, R } = world(2);
    const at = h.tips();
    const e1 = h.grant(R, A1, "change agent", at);
    const e2 = h.grant(A1, A2, "recruiter", at); // equals
    const e3 = h.grant(A1, F, "change agent", at);
    const e4 = h.revoke(A1, A2, "admin", at); // a role one does not outrank
    const e5 = h.revoke(R, A1, "admin", at);
    const f = allRejected(h, [
      [e1, /rank 60 does not outrank member .* \(rank 80\)/],
      [e2, /rank 80 does not outrank member .* \(rank 80\)/],
      [e3, /rank 80 does not outrank member .* \(rank 100\)/],
      [e4, /does not outrank role "admin"/],
      [e5, /does not outrank role "admin"/],
    ]);
    expect(roles(f.state, A1)).toEqual(["admin"]);
    expect(roles(f.state, A2)).toEqual(["admin"]);
  });

  it("a grant that does not seal the current role key to the grantee is rejected", () => {
    const { h, A1, C } = world(3);
    const e = h.emit(A1, { t: "role.grant", member: C.hex, role: "recruiter", keys: [] });
    const f = allRejected(h, [[e, /grant must seal the current "recruiter" key/]]);
    expect(roles(f.state, C)).toEqual(["change agent"]);
  });

  it("capabilities a role does not have cannot be used (forged capabilities)", () => {
    const { h, F, A1, R, C, S } = world(4);
    const at = h.tips();
    const inv = h.emit(C, { t: "invite", invite: "ab".repeat(32), role: "seedling", groupKeyId: "00".repeat(16), roleKeyIds: [] }, at);
    const rem = h.remove(C, S, at);
    const grant = h.emit(S, { t: "role.grant", member: C.hex, role: "seedling", keys: [] }, at);
    const create = h.emit(R, { t: "role.create", role: "boss", def: { rank: 10, caps: [], reads: "role" } }, at);
    const amendUp = h.emit(A1, { t: "role.amend", role: "recruiter", def: { rank: 90, caps: ["task.create"], reads: "role" } }, at);
    const amendEq = h.emit(A1, { t: "role.amend", role: "admin", def: { rank: 70, caps: [], reads: "role" } }, at);
    const policy = h.emit(A1, { t: "rules.policy", succession: { role: "recruiter", quorum: 1 } }, at);
    const ann = h.emit(R, { t: "announce", text: "I am in charge" }, at);
    const rot = h.emit(C, (s) => ({ t: "keys.rotate", scope: "admin", from: s.keys.get("admin")!.keyId, keyId: "11".repeat(16), sealed: {} }), at);
    const transfer = h.emit(A1, { t: "leader.transfer", to: A1.hex }, at);
    const f = allRejected(h, [
      [inv, /lacks capability member\.invite/],
      [rem, /lacks capability member\.remove/],
      [grant, /lacks capability role\.grant/],
      [create, /lacks capability rules\.change/],
      [amendUp, /cannot define a role at rank 90, not below own rank 80/],
      [amendEq, /does not outrank role "admin"/],
      [policy, /only the leader/],
      [ann, /lacks capability announce/],
      [rot, /not entitled to the "admin" key/],
      [transfer, /only the leader transfers/],
    ]);
    expect(f.state.rules.roles.recruiter!.rank).toBe(60);
    expect(f.state.rules.succession).toEqual({ role: "admin", quorum: 2, silentAfterMs: 14 * 86_400_000 });
    expect(f.state.members.has(S.hex)).toBe(true);
    expect(f.state.leader).toBe(F.hex);
  });
});

describe("rules", () => {
  it("no role may be named \"group\" (the group key's scope): such events do not parse and are rejected as malformed", () => {
    const def = { rank: 10, caps: ["task.comment"], reads: "role" };
    expect(() => parseBody(encodeBody({ t: "role.create", role: "group", def } as Body))).toThrow(/"group" is reserved/);
    const rules = defaultRules() as unknown as { roles: Record<string, unknown> };
    rules.roles.group = def;
    expect(() => parseBody(encodeBody({ t: "genesis", name: "x", mission: "", rules, founderName: "f", groupKeyId: "00".repeat(16), keys: [] } as unknown as Body))).toThrow(/"group" is reserved/);
    const { h, F, S } = world(21);
    const create = h.emit(F, { t: "role.create", role: "group", def } as Body);
    const revoke = h.revoke(F, S, "seedling"); // S now holds no role, yet holds the group key
    const task = h.emit(F, (s) => ({ t: "task.create", readers: ["group"], assignee: null, parent: null, due: null, content: h.fakeContent(s, ["group"]) }));
    const f = allRejected(h, [
      [create, /malformed body: role "group" is reserved/],
      [task, /malformed body: reader "group" is reserved/],
    ]);
    expectApplied(f, revoke);
    expect(f.state.rules.roles.group).toBeUndefined();
    expect(f.state.taskIds).toEqual([]);
  });
});

describe("tasks", () => {
  it("acting on a task of a role one cannot read is rejected (comment, close, assign, update)", () => {
    const { h, A1, A2, R, C } = world(5);
    const t = h.task(A1, ["admin"], { title: "admins only" });
    const at = h.tips();
    const fake = () => h.fakeCiphertext(); // they hold no key to write real ciphertext
    const com = h.emit(C, { t: "task.comment", task: t.id, content: fake() }, at);
    const close = h.emit(R, { t: "task.close", task: t.id, reason: null }, at);
    const assign = h.emit(R, { t: "task.assign", task: t.id, assignee: { member: C.hex } }, at);
    const update = h.emit(R, { t: "task.update", task: t.id, status: "started" }, at);
    const ok = h.comment(A2, t, "seen", at);
    const f = allRejected(h, [
      [com, /cannot read task #1 \(readers: admin\)/],
      [close, /cannot read task #1/],
      [assign, /cannot read task #1/],
      [update, /cannot read task #1/],
    ]);
    expectApplied(f, ok);
    const task = f.state.tasks.get(t.id)!;
    expect(task.closed).toBe(false);
    expect(task.assignee).toBeNull();
    expect(task.comments.map((c) => c.author)).toEqual([A2.hex]);
  });

  it("closing a task without task.close is rejected, even for its assignee", () => {
    const { h, C, S } = world(6);
    const t = h.task(C, ["change agent"], { assignee: { member: S.hex } });
    const at = h.tips();
    const close = h.close(S, t, "finished", at);
    const done = h.emit(S, { t: "task.update", task: t.id, status: "done" }, at);
    const com = h.comment(S, t, "working on it", at);
    const f = allRejected(h, [
      [close, /lacks capability task\.close/],
      [done, /lacks capability task\.close/],
    ]);
    expectApplied(f, com);
    expect(f.state.tasks.get(t.id)!.closed).toBe(false);
  });

  it("a seedling neither creates tasks nor reads tasks not assigned to it", () => {
    const { h, C, S } = world(7);
    const other = h.task(C, ["change agent"], { title: "not for seedlings" });
    const mine = h.task(C, ["change agent"], { title: "for the seedling", assignee: { member: S.hex } });
    const at = h.tips();
    const c1 = h.emit(S, (s) => ({ t: "task.create", readers: ["change agent"], assignee: null, parent: null, due: null, content: h.fakeContent(s, ["change agent"]) }), at);
    const c2 = h.emit(S, (s) => ({ t: "task.create", readers: ["seedling"], assignee: null, parent: null, due: null, content: h.fakeContent(s, ["seedling"]) }), at);
    const read = h.emit(S, { t: "task.comment", task: other.id, content: h.fakeCiphertext() }, at);
    const ok = h.comment(S, mine, "on it", at);
    const f = allRejected(h, [
      [c1, /lacks capability task\.create/],
      [c2, /lacks capability task\.create/],
      [read, /cannot read task #1/],
    ]);
    expectApplied(f, ok);
    expect(f.state.taskIds).toEqual([other.id, mine.id]);
  });

  it("a task for a role one cannot read, or without a wrap for the current key, is rejected", () => {
    const { h, R, C } = world(8);
    const at = h.tips();
    const up = h.emit(C, (s) => ({ t: "task.create", readers: ["admin"], assignee: null, parent: null, due: null, content: h.fakeContent(s, ["admin"]) }), at);
    const stale = h.emit(R, (s) => {
      const content = h.fakeContent(s, ["recruiter"]);
      content.wraps.recruiter!.keyId = "22".repeat(16);
      return { t: "task.create", readers: ["recruiter"], assignee: null, parent: null, due: null, content };
    }, at);
    const seed = h.emit(R, (s) => ({ t: "task.create", readers: ["seedling"], assignee: null, parent: null, due: null, content: h.fakeContent(s, ["seedling"]) }), at);
    const f = allRejected(h, [
      [up, /cannot write tasks for role "admin"/],
      [stale, /not wrapped for the current "recruiter" key/],
      [seed, /reads only assigned tasks/],
    ]);
    expect(f.state.taskIds).toEqual([]);
  });
});

describe("membership", () => {
  it("events by a key that never joined are rejected", () => {
    const { h, C, X } = world(9);
    const at = h.tips();
    const e1 = h.emit(X, (s) => ({ t: "task.create", readers: ["change agent"], assignee: null, parent: null, due: null, content: h.fakeContent(s, ["change agent"]) }), at);
    const e2 = h.emit(X, { t: "role.grant", member: X.hex, role: "admin", keys: [] }, at);
    const e3 = h.emit(X, { t: "remove", member: C.hex, reason: "forged" }, at);
    const e4 = h.emit(X, { t: "keys.share", to: C.hex, keys: [{ scope: "group", keyId: "33".repeat(16), sealed: "AAAA" }] }, at);
    const e5 = h.emit(X, { t: "leader.vote", candidate: X.hex }, at);
    const e6 = h.emit(X, { t: "join", invite: "cd".repeat(32), proof: "00".repeat(64), name: "me" }, at);
    const e7 = h.emit(X, { t: "announce", text: "hello" }, at);
    const f = allRejected(h, [
      [e1, /is not a member/],
      [e2, /is not a member/],
      [e3, /is not a member/],
      [e4, /is not a member/],
      [e5, /is not a member/],
      [e6, /unknown invite/],
      [e7, /is not a member/],
    ]);
    expect(f.state.members.has(X.hex)).toBe(false);
    expect(f.state.members.has(C.hex)).toBe(true);
  });

  it("the founder and leader cannot be removed or demoted", () => {
    const { h, F, A1, A2 } = world(10);
    const at = h.tips();
    const r1 = h.remove(A1, F, at);
    const r2 = h.remove(A2, F, at);
    const r3 = h.revoke(A1, F, "primary", at);
    const f = allRejected(h, [
      [r1, /is the leader: leadership changes only by transfer or succession/],
      [r2, /is the leader/],
      [r3, /does not outrank role "primary"/],
    ]);
    expect(f.state.leader).toBe(F.hex);
    expect(roles(f.state, F)).toEqual(["primary"]);
  });

  it("two admins of equal rank removing each other concurrently: neither succeeds, in every order", () => {
    const { h, A1, A2 } = world(11);
    const at = h.tips();
    const r1 = h.remove(A1, A2, at);
    const r2 = h.remove(A2, A1, at);
    expect(distinctOrders(h, 20)).toBe(2);
    const f = allRejected(
      h,
      [
        [r1, /rank 80 does not outrank member .* \(rank 80\)/],
        [r2, /rank 80 does not outrank member .* \(rank 80\)/],
      ],
      20,
    );
    expect(f.state.members.has(A1.hex) && f.state.members.has(A2.hex)).toBe(true);
  });

  it("a removed member's later events are rejected; concurrent ones resolve the same way everywhere", () => {
    // After the removal (the event cites it): always rejected.
    {
      const { h, F, C } = world(12);
      const t = h.task(C, ["change agent"]);
      const rm = h.remove(F, C);
      const after1 = h.emit(C, (s) => ({ t: "task.create", readers: ["change agent"], assignee: null, parent: null, due: null, content: h.fakeContent(s, ["change agent"]) }));
      const after2 = h.comment(C, t, "still here?");
      const after3 = h.emit(C, { t: "leave" });
      const f = allRejected(h, [
        [after1, /is not a member/],
        [after2, /is not a member/],
        [after3, /is not a member/],
      ]);
      expectApplied(f, rm);
      expect(f.state.former.get(C.hex)).toEqual({ reason: "test", by: F.hex });
    }
    // Concurrently (neither saw the other): the removal beats the removed member's act, whatever the ids.
    for (let seed = 20; seed < 32; seed++) {
      const { h, A1, C } = world(seed);
      const at = h.tips();
      const rm = h.remove(A1, C, at);
      const t = h.task(C, ["change agent"], {}, at);
      const f = converge(crypto, h, 8, seed);
      expectApplied(f, rm);
      expect(f.state.members.has(C.hex)).toBe(false);
      expect(position(f, rm)).toBeLessThan(position(f, t));
      expectRejected(f, t, /is not a member/);
    }
  });

  it("a lower-ranked concurrent conflict (admin removes recruiter while the recruiter invites and creates) resolves for the remover", () => {
    for (let seed = 40; seed < 52; seed++) {
      const { h, A1, R } = world(seed);
      const J = h.member("joiner");
      const at = h.tips();
      const rm = h.remove(A1, R, at);
      const { event: inv, secret } = h.invite(R, "change agent", at);
      const t = h.task(R, ["recruiter"], {}, "own");
      const join = h.join(J, secret, [inv]);
      const f = converge(crypto, h, 16, seed);
      expectApplied(f, rm);
      expect(f.state.members.has(R.hex)).toBe(false);
      // Every act of R the removal did not see comes after it, and fails; so does the join through R's invite.
      for (const e of [inv, t, join]) expect(position(f, rm)).toBeLessThan(position(f, e));
      expectRejected(f, inv, /is not a member/);
      expectRejected(f, t, /is not a member/);
      expectRejected(f, join, /unknown invite/);
      expect(f.state.members.has(J.hex)).toBe(false);
    }
  });

  it("joins: a bad proof, a reused invite, and an invite whose inviter was removed first are rejected", () => {
    const { h, F, A1, R } = world(13);
    const [J1, J2, J3, J4, J5] = ["j1", "j2", "j3", "j4", "j5"].map((n) => h.member(n)) as [HMember, HMember, HMember, HMember, HMember];
    const bad = h.invite(A1, "change agent");
    const badJoin = h.join(J1, bad.secret, "tips", { badProof: true });
    const once = h.invite(A1, "change agent");
    const first = h.join(J2, once.secret);
    const reuse = h.join(J3, once.secret);
    const byR = h.invite(R, "change agent");
    const early = h.invite(R, "change agent");
    const earlyJoin = h.join(J5, early.secret);
    h.remove(F, R);
    const lateJoin = h.join(J4, byR.secret);
    // A proof made for another pursuance does not verify here.
    const J6 = h.member("j6");
    const other = h.invite(A1, "seedling");
    const foreign = h.emit(J6, joinBody(J6.actor, "ff".repeat(32), other.secret.seed, "j6"));
    // A removed member's invites are not invites.
    const high = h.invite(R, "change agent");
    const f = allRejected(h, [
      [badJoin, /invite proof does not verify/],
      [reuse, /was already used by/],
      [lateJoin, /the inviter can no longer admit to that role/],
      [foreign, /invite proof does not verify/],
      [high.event, /is not a member/],
    ]);
    expectApplied(f, first);
    expectApplied(f, earlyJoin);
    for (const [m, inside] of [[J1, false], [J2, true], [J3, false], [J4, false], [J5, true]] as const) expect(f.state.members.has(m.hex), m.name).toBe(inside);
    // Nobody invites into a role not below their own.
    const w = world(14);
    const up = w.h.invite(w.R, "recruiter");
    const up2 = w.h.invite(w.A1, "admin");
    allRejected(w.h, [
      [up.event, /rank 60 does not outrank role "recruiter"/],
      [up2.event, /rank 80 does not outrank role "admin"/],
    ]);
  });
});

describe("keys", () => {
  it("old or unknown key shares are rejected: to a removed member, with an unknown key id, beyond entitlement", () => {
    const { h, F, A1, R, C } = world(15);
    const s0 = h.state();
    const oldGroup = s0.keys.get("group")!.keyId;
    const replay = A1.ring.seal("group", oldGroup, C.kp.publicKey); // made while C was a member
    h.remove(F, C);
    const toRemoved = h.emit(A1, { t: "keys.share", to: C.hex, keys: [replay] });
    const unknown = h.emit(A1, { t: "keys.share", to: R.hex, keys: [{ scope: "group", keyId: "44".repeat(16), sealed: replay.sealed }] });
    const wrongScope = h.emit(A1, { t: "keys.share", to: R.hex, keys: [{ scope: "recruiter", keyId: oldGroup, sealed: replay.sealed }] });
    const beyond = h.emit(A1, { t: "keys.share", to: R.hex, keys: [A1.ring.seal("admin", s0.keys.get("admin")!.keyId, R.kp.publicKey)] });
    const toRemoved2 = h.emit(R, { t: "keys.share", to: C.hex, keys: [R.ring.seal("recruiter", s0.keys.get("recruiter")!.keyId, C.kp.publicKey)] });
    const empty = h.emit(A1, { t: "keys.share", to: R.hex, keys: [] });
    const ok = h.emit(A1, { t: "keys.share", to: R.hex, keys: [A1.ring.seal("group", oldGroup, R.kp.publicKey)] });
    const f = allRejected(h, [
      [toRemoved, /is not a member/],
      [unknown, /unknown "group" key id 444444444444/],
      [wrongScope, /unknown "recruiter" key id/],
      [beyond, /is not entitled to "admin"/],
      [toRemoved2, /is not a member/],
      [empty, /carries no keys/],
    ]);
    expectApplied(f, ok);
  });

  it("concurrent rotations of one scope: the first in fold order wins, the other is stale", () => {
    const winners = new Set<string>();
    for (let seed = 60; seed < 68; seed++) {
      const { h, F, A1, A2, C } = world(seed);
      h.remove(F, C);
      const at = h.tips();
      const r1 = h.rotate(A1, "group", at);
      const r2 = h.rotate(A2, "group", at);
      const f = converge(crypto, h, 10, seed);
      const [first, second] = position(f, r1) < position(f, r2) ? [r1, r2] : [r2, r1];
      expectApplied(f, first);
      expectRejected(f, second, /stale rotation of "group"/);
      const k = f.state.keys.get("group")!;
      expect(k.keyId).toBe((first.body as { keyId: string }).keyId);
      expect(k.needsRotation).toBe(false);
      expect(k.holders.has(C.hex)).toBe(false);
      winners.add(first === r1 ? "A1" : "A2");
    }
    expect([...winners].sort()).toEqual(["A1", "A2"]);
  });

  it("a rotation that seals to a removed member or leaves a member out is rejected", () => {
    const { h, F, A1, A2, R, C } = world(16);
    h.remove(F, C);
    const at = h.tips();
    const leak = h.rotate(A1, "group", at, (sealed) => {
      sealed[C.hex] = toB64(new Uint8Array(80));
    });
    const drop = h.rotate(A2, "group", at, (sealed) => {
      delete sealed[R.hex];
    });
    const leakRole = h.rotate(A1, "change agent", at, (sealed) => {
      sealed[C.hex] = toB64(new Uint8Array(80));
    });
    const notEntitled = h.rotate(R, "admin", at);
    const f = allRejected(h, [
      [leak, /seals "group" to non-entitled/],
      [drop, /rotation of "group" leaves out/],
      [leakRole, /seals "change agent" to non-entitled/],
      [notEntitled, /not entitled to the "admin" key/],
    ]);
    expect(f.state.keys.get("group")!.needsRotation).toBe(true);
    expect(f.state.keys.get("change agent")!.needsRotation).toBe(true);
    // An honest rotation afterwards goes through.
    const good = h.rotate(A1, "group");
    const f2 = converge(crypto, h, 6);
    expectApplied(f2, good);
    expect(f2.state.keys.get("group")!.needsRotation).toBe(false);
  });

  it("a rotation nobody needs, by a member without keys.rotate, is rejected; replaying an old key id is rejected", () => {
    const { h, F, C } = world(17);
    const e = h.rotate(C, "change agent");
    const r1 = h.rotate(F, "group");
    const old = (h.events[0]!.body as { groupKeyId: string }).groupKeyId;
    const replay = h.emit(F, (s) => ({ t: "keys.rotate", scope: "group", from: s.keys.get("group")!.keyId, keyId: old, sealed: {} }));
    const f = allRejected(h, [
      [e, /needs no rotation and .* lacks keys\.rotate/],
      [replay, /is not new/],
    ]);
    expectApplied(f, r1);
  });
});

describe("succession", () => {
  it("two admins' votes move leadership to a third member; one vote does not; a non-admin cannot vote", () => {
    const { h, F, A1, A2, R, C } = world(18);
    // The founder goes silent from here on, past the succession silence limit.
    h.advance(15 * 86_400_000);
    const v1 = h.vote(A1, C);
    let s = h.state();
    expect(s.leader).toBe(F.hex);
    expect(roles(s, C)).toEqual(["change agent"]);
    const vR = h.vote(R, C);
    s = h.state();
    expect(s.leader).toBe(F.hex);
    const vDup = h.vote(A1, C); // the same admin again is still one vote
    s = h.state();
    expect(s.leader).toBe(F.hex);
    const v2 = h.vote(A2, C);
    s = h.state();
    expect(s.leader).toBe(C.hex);
    expect(roles(s, C)).toEqual(["change agent", "primary"]);
    expect(s.votes.size).toBe(0);
    // The new leader still needs the top role's keys: they are missing until someone shares them.
    expect(missingHolders(s, "primary")).toContain(C.hex);
    expect(missingHolders(s, "admin")).toContain(C.hex);
    // The founder is gone: an admin shares what it holds; the new leader rotates the top role's key.
    const share = h.share(A1, C)!;
    const rot = h.rotate(C, "primary");
    // The new leader is protected; the old founder, an equal, cannot be removed by them.
    const rmLeader = h.remove(A1, C);
    const rmFounder = h.remove(C, F);
    const oldTransfer = h.emit(F, { t: "leader.transfer", to: F.hex });
    const f = allRejected(h, [
      [vR, /only holders of "admin" vote on succession/],
      [rmLeader, /is the leader/],
      [rmFounder, /rank 100 does not outrank member .* \(rank 100\)/],
      [oldTransfer, /only the leader transfers leadership/],
    ]);
    for (const e of [v1, vDup, v2, share, rot]) expectApplied(f, e);
    expect(f.state.leader).toBe(C.hex);
    expect(missingHolders(f.state, "primary")).toEqual([]);
    expect(missingHolders(f.state, "admin")).toEqual([]);
    expect(C.ring.get(f.state.keys.get("primary")!.keyId)).toBeDefined();
    // Now the new leader can act with full authority.
    const g = h.grant(C, R, "admin");
    const f2 = converge(crypto, h, 6);
    expectApplied(f2, g);
    expect(roles(f2.state, R)).toEqual(["admin", "recruiter"]);
  });

  it("concurrent votes converge, and a voter who lost the succession role no longer counts", () => {
    const { h, F, A1, A2, C } = world(19);
    h.advance(15 * 86_400_000);
    const at = h.tips();
    const v1 = h.vote(A1, C, at);
    const rv = h.revoke(F, A1, "admin", at);
    const v2 = h.vote(A2, C, at);
    const f = converge(crypto, h, 20);
    // Whatever the order, leadership moved iff A1's vote counted while A1 still held "admin" and A2's came after it.
    const p = (e: PEvent) => position(f, e);
    const a1Counted = reasonOf(f, v1) === null;
    const crowned = a1Counted && p(v1) < p(rv) && p(rv) > p(v2);
    expect(f.state.leader).toBe(crowned ? C.hex : F.hex);
    if (p(rv) < p(v1)) expectRejected(f, v1, /only holders of "admin" vote/);
  });
});
