// Keys that only the rules may move: who wins concurrent rotations, what time
// a rotation may claim for the periodic policy, what an escrow share holder's
// departure costs, and what a delegation may hand out (docs/protocol.md,
// "Verifiable rotations", "No window after removal", "Succession, and what the
// escrow costs"). Every history is folded in many orders: same hash, same verdicts.
import { MAX_TS } from "../src/pursuance/events.js";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { fromB64, fromHex, toB64 } from "../src/cwtch/bytes.js";
import { delegateBody, rotateBody } from "../src/pursuance/actions.js";
import { escrowBody, escrowStale } from "../src/pursuance/escrow.js";
import { givesKeys, keyIdOf, KeyRing } from "../src/pursuance/keyring.js";
import { defaultRules, type Rules } from "../src/pursuance/rules.js";
import { combine } from "../src/pursuance/shamir.js";
import { keyRecipients } from "../src/pursuance/key-holders.js";
import { rotationDue } from "../src/pursuance/rotation-clock.js";
import { decryptText, openContentKey } from "../src/pursuance/task-crypto.js";
import { converge, expectApplied, expectRejected, History } from "./helpers/history.js";

let base: Crypto;
beforeAll(async () => {
  base = await loadCrypto();
});

/** Founder (primary), admins A and A2, recruiter R, change agent C, seedling S. */
function world(seed: number, rules?: Rules) {
  const h = new History(base, seed);
  const [F, A, A2, R, C, S] = ["founder", "admin", "admin2", "recruiter", "agent", "seedling"].map((n) => h.member(n)) as [ReturnType<History["member"]>, ...ReturnType<History["member"]>[]];
  h.genesis(F, rules ? { rules } : {});
  h.addMember(F, A!, "admin");
  h.addMember(F, A2!, "admin");
  h.addMember(F, R!, "recruiter");
  h.addMember(F, C!, "change agent");
  h.addMember(F, S!, "seedling");
  return { h, F, A: A!, A2: A2!, R: R!, C: C!, S: S! };
}

describe("key ids name one key of one scope", () => {
  it("a rotation to a key id another scope already uses is refused", () => {
    const { h, F } = world(400);
    const admin = h.state().keys.get("admin")!.keyId;
    const bad = h.emit(F, (s) => ({ ...(rotateBody(F.actor, s, "group").body as Extract<ReturnType<typeof rotateBody>["body"], { t: "keys.rotate" }>), keyId: admin }))!;
    expectRejected(converge(base, h), bad, /not new/);
  });
});

describe("concurrent rotations: the higher-ranked rotator wins in every order", () => {
  it("a seedling's rotation with a ground id never beats the founder's concurrent one", () => {
    for (let seed = 300; seed < 310; seed++) {
      const { h, F, S, C } = world(seed);
      h.emit(C, { t: "leave" });
      const at = h.tips();
      const honest = h.rotate(F, "group", at);
      const mine = h.emit(S, (s) => rotateBody(S.actor, s, "group").body, at, { grind: 2000 })!;
      const f = converge(base, h, 12, seed);
      expectApplied(f, honest);
      expectRejected(f, mine, /stale/);
      expect(f.state.keys.get("group")!.keyId).toBe((honest.body as { keyId: string }).keyId);
    }
  });

  it("what was built on the losing rotation is judged after the winner, the same in every order", () => {
    const { h, F, A, S, C } = world(320);
    h.emit(C, { t: "leave" });
    const at = h.tips();
    const mine = h.emit(S, (s) => rotateBody(S.actor, s, "group").body, at, { grind: 2000 })!;
    // An admin saw the seedling's rotation and wrote on top of it, concurrently with the founder's.
    const onTop = h.task(A, ["admin"], { title: "on the seedling's key" }, [mine.id]);
    const honest = h.rotate(F, "group", at);
    const f = converge(base, h, 20, 3);
    expectApplied(f, honest);
    expectRejected(f, mine, /stale/);
    expectApplied(f, onTop);
  });

  it("equal ranks: one of two admins' concurrent rotations stands, the same one in every order", () => {
    const { h, A, A2, C } = world(330);
    h.emit(C, { t: "leave" });
    const at = h.tips();
    const r1 = h.rotate(A, "group", at);
    const r2 = h.rotate(A2, "group", at);
    const f = converge(base, h, 20, 4);
    expect([f.verdict(r1.id), f.verdict(r2.id)].filter((v) => v === null)).toHaveLength(1);
  });
});

describe("the periodic rotation clock cannot be claimed", () => {
  const hourly = (): Rules => ({ ...defaultRules(), rotation: { everyMs: 3_600_000 } });

  it("a seedling's rotation dated as far ahead as a ts may be is refused, and once allowed it does not switch the policy off", () => {
    const { h, F, R, S } = world(12, hourly());
    // 2^53-1 is refused at the edge (events.ts MAX_TS); the latest time an event may claim is the attack now.
    const far = h.emit(S, (s) => rotateBody(S.actor, s, "group").body, "tips", { ts: Number.MAX_SAFE_INTEGER })!;
    expectRejected(converge(base, h), far, /out of range/);
    const rot = h.emit(S, (s) => rotateBody(S.actor, s, "group").body, "tips", { ts: MAX_TS })!;
    expectRejected(converge(base, h), rot, /needs no rotation/);
    // After an hour of others' time the seedling may rotate, even dated MAX_TS ...
    h.advance(3_700_000);
    h.emit(F, { t: "announce", text: "an hour later" });
    const late = h.emit(S, (s) => rotateBody(S.actor, s, "group").body, "tips", { ts: MAX_TS })!;
    expectApplied(converge(base, h), late);
    // ... but a key dated a period ahead of a claim is due: an honest client finds it due now, and a
    // member without keys.rotate (the recruiter) rotates it at its ordinary time, as the fold agrees.
    const k = h.state().keys.get("group")!;
    expect(rotationDue(h.state(), k, Date.now(), F.hex)).toBe(true);
    const fix = h.rotate(R, "group");
    const g = converge(base, h);
    expectApplied(g, fix);
    expect(g.state.keys.get("group")!.since).toBe(fix.ts);
  });

  it("a seedling without keys.rotate cannot rotate at will by claiming the policy time has passed", () => {
    const { h, S } = world(13, hourly());
    const since = h.state().keys.get("group")!.since;
    const rot = h.emit(S, (s) => rotateBody(S.actor, s, "group").body, "tips", { ts: since + 3_600_000 })!;
    expectRejected(converge(base, h), rot, /needs no rotation/);
  });

  it("a member already far in the future cannot freeze the policy: a key whose age is far ahead of a rotation's claim is due", () => {
    const { h, F } = world(14, hourly());
    const s = h.state();
    const k = { ...s.keys.get("group")!, since: Number.MAX_SAFE_INTEGER };
    expect(rotationDue(s, k, Date.now(), F.hex)).toBe(true);
    // What a liar keeps: a key dated less than a period ahead delays the policy by at most that period.
    const now = Date.now();
    const near = { ...k, since: now + 3_000_000 };
    expect(rotationDue(s, near, now, F.hex)).toBe(false);
    expect(rotationDue(s, near, now + 3_000_000 + 3_600_000, F.hex)).toBe(true);
  });

  it("a seedling cannot make the key due by dating its rotation more than a period before the key's age", () => {
    const { h, F, S } = world(15, hourly());
    h.rotate(F, "group");
    const since = h.state().keys.get("group")!.since;
    const back = h.emit(S, (s) => rotateBody(S.actor, s, "group").body, "tips", { ts: since - 2 * 3_600_000 - 1 })!;
    const far = h.emit(S, (s) => rotateBody(S.actor, s, "group").body, "tips", { ts: -Number.MAX_SAFE_INTEGER })!;
    const f = converge(base, h, 20, 15);
    expectRejected(f, back, /needs no rotation/);
    expectRejected(f, far, /out of range/); // refused at the edge now (events.ts MAX_TS), before the clock rule
  });

  it("a seedling's own earlier claim never makes the key due for it: a backdated rotation it was allowed does not let it rotate again", () => {
    const { h, S, C } = world(16, hourly());
    // C leaves, so the group key needs rotation and any member may rotate it: the seedling does, dated ten hours back.
    h.emit(C, { t: "leave" });
    const since = h.state().keys.get("group")!.since;
    const first = h.emit(S, (s) => rotateBody(S.actor, s, "group").body, "tips", { ts: since - 10 * 3_600_000 })!;
    const again = h.emit(S, (s) => rotateBody(S.actor, s, "group").body, "tips", { ts: since + 1 })!;
    const f = converge(base, h, 20, 16);
    expectApplied(f, first);
    expectRejected(f, again, /needs no rotation/);
    // The key's age did not move back with the seedling's claim.
    expect(f.state.keys.get("group")!.since).toBe(since);
  });

  it("concurrent shapes around a backdated rotation fold the same in every order, incremental and fresh", () => {
    for (let seed = 40; seed < 46; seed++) {
      const { h, F, A, C, S } = world(seed, hourly());
      h.rotate(F, "group");
      const since = h.state().keys.get("group")!.since;
      const at = h.tips();
      // Concurrent with the seedling's backdated rotation: an admin's ordinary task, a change agent dated an hour ahead, a founder's rotation.
      h.task(A, ["admin"], { title: "ordinary" }, at);
      if (seed % 2 === 0) h.emit(C, (s) => rotateBody(C.actor, s, "group").body, at, { ts: since + 3_700_000 });
      if (seed % 3 === 0) h.rotate(F, "group", at);
      const back = h.emit(S, (s) => rotateBody(S.actor, s, "group").body, at, { ts: since - 2 * 3_600_000 - 1 })!;
      const f = converge(base, h, 24, seed);
      expectRejected(f, back, /needs no rotation|stale/);
    }
  });

  it("what is left: after a period of silence by everyone but the last rotator, one more rotation by a seedling is allowed, not two", () => {
    const { h, F, S } = world(18, hourly());
    h.advance(3_700_000);
    h.rotate(F, "group");
    const once = h.emit(S, (s) => rotateBody(S.actor, s, "group").body)!;
    const twice = h.emit(S, (s) => rotateBody(S.actor, s, "group").body)!;
    const f = converge(base, h, 20, 18);
    expectApplied(f, once);
    expectRejected(f, twice, /needs no rotation/);
  });

  it("what is left: a colluding member's claim a period ahead lets a seedling rotate early", () => {
    const { h, C, S } = world(19, hourly());
    h.advance(3_700_000);
    h.task(C, ["change agent"], { title: "dated an hour ahead" });
    h.advance(-3_700_000);
    const early = h.emit(S, (s) => rotateBody(S.actor, s, "group").body, "tips", { ts: h.state().keys.get("group")!.since + 3_700_000 })!;
    expectApplied(converge(base, h, 20, 19), early);
  });

  it("only other members' claims count: once others' time has passed a period, the seedling may rotate", () => {
    const { h, F, S } = world(17, hourly());
    h.rotate(F, "group");
    h.advance(3_700_000);
    h.emit(F, { t: "announce", text: "an hour later" });
    const ok = h.emit(S, (s) => rotateBody(S.actor, s, "group").body)!;
    expectApplied(converge(base, h, 20, 17), ok);
  });
});

describe("escrow shares outlive no one's role", () => {
  it("after both escrow-holding admins are removed, the primary key rotates and their shares do not open what is written next", () => {
    const { h, F, A, A2 } = world(11);
    const pol = h.emit(F, (s) => escrowBody(F.actor, s))!;
    h.remove(F, A);
    h.remove(F, A2);
    const s0 = h.state();
    expect(s0.keys.get("primary")!.needsRotation).toBe(true);
    for (const [scope, k] of s0.keys) if (k.needsRotation) h.rotate(F, scope);
    const t = h.task(F, ["primary"], { title: "top secret after removals" });
    const f = converge(base, h);
    expectApplied(f, pol);
    expectApplied(f, t);
    const st = f.state;
    const b = pol.body as Extract<NonNullable<typeof pol.body>, { t: "rules.policy" }>;
    const share = (m: typeof A) => {
      const raw = base.openSealed(fromB64(b.escrow!.shares[m.hex]!), m.kp.publicKey, m.kp.secretKey)!;
      return { x: raw[0]!, y: raw.slice(1) };
    };
    const secret = combine([share(A), share(A2)]);
    const keys = b.escrow!.keyIds.map((_, i) => secret.slice(32 * i, 32 * i + 32));
    expect(keys.map((k) => keyIdOf(base, k))).not.toContain(st.keys.get("primary")!.keyId);
    const ring = new KeyRing(base, A.kp);
    for (const k of keys) ring.add("primary", k);
    const ck = openContentKey(base, ring, A.kp, A.hex, st.tasks.get(t.id)!);
    expect(ck === null ? null : decryptText(base, ck, st.tasks.get(t.id)!.text)).toBeNull();
  });

  it("a share holder demoted out of the succession role makes the escrowed key due; one who stays does not", () => {
    const { h, F, A, R } = world(21);
    h.emit(F, (s) => escrowBody(F.actor, s));
    h.remove(F, R);
    expect(h.state().keys.get("primary")!.needsRotation).toBe(false);
    h.revoke(F, A, "admin");
    expect(h.state().keys.get("primary")!.needsRotation).toBe(true);
    converge(base, h);
  });

  it("moving succession away from the escrow holders makes the escrowed key due; re-escrowing it un-rotated is refused", () => {
    const { h, F, A, A2, R } = world(22);
    const R2 = h.member("recruiter2");
    h.addMember(F, R2, "recruiter");
    const e1 = h.emit(F, (s) => escrowBody(F.actor, s))!;
    expect(h.state().escrow!.holders).toEqual([A.hex, A2.hex].sort());
    const keyBefore = h.state().keys.get("primary")!.keyId;
    const pol = h.emit(F, (s) => ({ t: "rules.policy", succession: { ...s.rules.succession, role: "recruiter" } }))!;
    expect(h.state().keys.get("primary")!.needsRotation).toBe(true);
    // The leader's duty waits for the rotation before it re-escrows.
    expect(escrowStale(h.state())).toBe(false);
    // A re-escrow of the same key to the recruiters (an older client, or a leader who wants the admins to keep it) is refused.
    const early = h.emit(F, (s) => escrowBody(F.actor, s))!;
    expect(h.state().keys.get("primary")!.keyId).toBe(keyBefore);
    expect(h.state().keys.get("primary")!.needsRotation).toBe(true);
    const rot = h.rotate(F, "primary");
    expect(escrowStale(h.state())).toBe(true);
    const e2 = h.emit(F, (s) => escrowBody(F.actor, s))!;
    const t = h.task(F, ["primary"], { title: "top secret after the succession moved" });
    const f = converge(base, h, 20, 22);
    expectApplied(f, pol);
    expectRejected(f, early, /needs rotation/);
    expectApplied(f, rot);
    expectApplied(f, e2);
    expectApplied(f, t);
    expect(f.state.escrow!.holders).toEqual([R.hex, R2.hex].sort());
    // The former holders open their old shares and combine: not the key in use, and not what is written under it.
    const b = e1.body as Extract<NonNullable<typeof e1.body>, { t: "rules.policy" }>;
    const share = (m: typeof A) => {
      const raw = base.openSealed(fromB64(b.escrow!.shares[m.hex]!), m.kp.publicKey, m.kp.secretKey)!;
      return { x: raw[0]!, y: raw.slice(1) };
    };
    const secret = combine([share(A), share(A2)]);
    const keys = b.escrow!.keyIds.map((_, i) => secret.slice(32 * i, 32 * i + 32));
    expect(keys.map((k) => keyIdOf(base, k))).not.toContain(f.state.keys.get("primary")!.keyId);
    const ring = new KeyRing(base, A.kp);
    for (const k of keys) ring.add("primary", k);
    const ck = openContentKey(base, ring, A.kp, A.hex, f.state.tasks.get(t.id)!);
    expect(ck === null ? null : decryptText(base, ck, f.state.tasks.get(t.id)!.text)).toBeNull();
  });

  it("a succession move concurrent with removals and a re-escrow folds the same in every order; the escrowed key stays due until it rotates", () => {
    for (let seed = 60; seed < 66; seed++) {
      const { h, F, A, R } = world(seed);
      const R2 = h.member("recruiter2");
      h.addMember(F, R2, "recruiter");
      h.emit(F, (s) => escrowBody(F.actor, s));
      const keyBefore = h.state().keys.get("primary")!.keyId;
      const at = h.tips();
      h.emit(F, (s) => ({ t: "rules.policy", succession: { ...s.rules.succession, role: "recruiter" } }), at);
      if (seed % 2 === 0) h.remove(F, A, at);
      if (seed % 3 === 0) h.remove(F, R, at);
      h.emit(F, (s) => escrowBody(F.actor, s));
      const f = converge(base, h, 24, seed);
      const k = f.state.keys.get("primary")!;
      expect(k.keyId !== keyBefore || k.needsRotation).toBe(true);
    }
  });

  it("a re-escrow that drops a holder, folded in any order, leaves the escrowed key due until it rotates", () => {
    const { h, F, A, A2 } = world(23);
    const A3 = h.member("admin3");
    h.addMember(F, A3, "admin");
    h.emit(F, (s) => escrowBody(F.actor, s));
    h.revoke(F, A3, "admin");
    expect(h.state().keys.get("primary")!.needsRotation).toBe(true);
    const re = h.emit(F, (s) => escrowBody(F.actor, s))!;
    const f = converge(base, h, 20, 23);
    expectRejected(f, re, /needs rotation/);
    expect(f.state.escrow!.holders).toEqual([A.hex, A2.hex, A3.hex].sort());
    expect(f.state.keys.get("primary")!.needsRotation).toBe(true);
  });
});

describe("delegation", () => {
  it("a change agent (no member.invite) cannot hand an outsider the group and role keys", () => {
    const { h, F, C } = world(51);
    const O = h.member("outsider");
    const d = h.emit(C, (s) => delegateBody(C.actor, s, "change agent", O.hex))!;
    h.rotate(F, "group");
    const f = converge(base, h);
    expectRejected(f, d, /member\.invite/);
    expect(keyRecipients(f.state, "group")).not.toContain(O.hex);
  });

  it("a refused delegation gives the delegate's ring nothing, fed as the bridge feeds it (givesKeys); an allowed one does", () => {
    const { h, C, R } = world(52);
    const O = h.member("bridge");
    const bad = h.emit(C, (s) => delegateBody(C.actor, s, "change agent", O.hex))!;
    const f1 = converge(base, h);
    expectRejected(f1, bad, /member\.invite/);
    const feed = (f: ReturnType<typeof converge>) => {
      const ring = new KeyRing(base, O.kp);
      for (const a of f.applied) if (givesKeys(a.event.body, a.rejected)) ring.ingest(a.event.body!);
      return ring;
    };
    // The change agent sealed the current group key to the bridge: a refused event must not open it.
    expect(feed(f1).get(f1.state.keys.get("group")!.keyId)).toBeFalsy();
    const good = h.emit(R, (s) => delegateBody(R.actor, s, "recruiter", O.hex))!;
    const f2 = converge(base, h);
    expectApplied(f2, good);
    expect(feed(f2).get(f2.state.keys.get("group")!.keyId)).toBeTruthy();
  });

  it("a recruiter may delegate its role key; anyone who outranks the recruiter may take it back", () => {
    const { h, A, R } = world(54);
    const O = h.member("bridge");
    const d = h.emit(R, (s) => delegateBody(R.actor, s, "recruiter", O.hex))!;
    const u = h.emit(A, { t: "keys.undelegate", role: "recruiter", to: O.hex })!;
    const f = converge(base, h);
    expectApplied(f, d);
    expectApplied(f, u);
    expect(keyRecipients(f.state, "group")).not.toContain(O.hex);
    expect(f.state.keys.get("recruiter")!.needsRotation).toBe(true);
  });

  it("a delegate is never sealed a key by a rotation after its delegator is removed", () => {
    const { h, F, R } = world(55);
    const O = h.member("bridge");
    h.emit(R, (s) => delegateBody(R.actor, s, "recruiter", O.hex));
    h.remove(F, R);
    const rot = h.rotate(F, "group");
    const f = converge(base, h);
    expectApplied(f, rot);
    expect(Object.keys((rot.body as { sealed: Record<string, string> }).sealed)).not.toContain(O.hex);
    void fromHex;
    void toB64;
  });
});
