// Role keys and the group key through membership changes, checked both in the
// state every client computes (needsRotation, holders) and in what members'
// key rings can actually open (task content keys, sealed rotations).
import { beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import type { PEvent } from "../src/pursuance/apply-common.js";
import type { Body } from "../src/pursuance/events.js";
import { canReadTask, entitledMembers, type PursuanceState, type Task } from "../src/pursuance/state.js";
import { missingHolders } from "../src/pursuance/key-holders.js";
import { decryptComment, decryptText, openContentKey } from "../src/pursuance/task-crypto.js";
import { converge, expectApplied, expectRejected, History, memoVerifyCrypto, position, type HMember } from "./helpers/history.js";

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
  C2: HMember;
  S: HMember;
  all: HMember[];
}

function world(seed: number): World {
  const h = new History(base, seed);
  const F = h.member("founder");
  const A1 = h.member("admin1");
  const A2 = h.member("admin2");
  const R = h.member("recruiter");
  const C = h.member("agent");
  const C2 = h.member("agent2");
  const S = h.member("seedling");
  h.genesis(F);
  h.addMember(F, A1, "admin");
  h.addMember(F, A2, "admin");
  h.addMember(F, R, "recruiter");
  h.addMember(F, C, "change agent");
  h.addMember(F, C2, "change agent");
  h.addMember(F, S, "seedling");
  return { h, F, A1, A2, R, C, C2, S, all: [F, A1, A2, R, C, C2, S] };
}

const SCOPES = ["group", "primary", "admin", "recruiter", "change agent"];

const flagged = (s: PursuanceState) => SCOPES.filter((sc) => s.keys.get(sc)!.needsRotation);

function opens(h: History, m: HMember, t: Task): string | null {
  const ck = openContentKey(h.base, m.ring, m.kp, m.hex, t);
  if (!ck) return null;
  return decryptText(h.base, ck, t.text)?.title ?? null;
}

const keyIdOf = (e: PEvent) => (e.body as Extract<Body, { t: "keys.rotate" }>).keyId;

describe("membership changes mark keys for rotation", () => {
  it("removing a member flags the group key and every role key they held, and only those", () => {
    const { h, F, R } = world(1);
    let s = h.state();
    expect(flagged(s)).toEqual([]);
    for (const sc of ["group", "recruiter", "change agent"]) expect(s.keys.get(sc)!.holders.has(R.hex), sc).toBe(true);
    for (const sc of ["primary", "admin"]) expect(s.keys.get(sc)!.holders.has(R.hex), sc).toBe(false);
    h.remove(F, R);
    s = converge(crypto, h, 4).state;
    expect(flagged(s)).toEqual(["group", "recruiter", "change agent"]);
    // Until the rotation the old holders are still on record (they did hold the key).
    expect(s.keys.get("group")!.holders.has(R.hex)).toBe(true);
  });

  it("removing a seedling flags only the group key; a revoke flags only the roles lost; leaving flags like a removal", () => {
    {
      const { h, F, S } = world(2);
      h.remove(F, S);
      expect(flagged(converge(crypto, h, 4).state)).toEqual(["group"]);
    }
    {
      const { h, A1, R } = world(3);
      h.revoke(A1, R, "recruiter");
      const s = converge(crypto, h, 4).state;
      expect(s.members.get(R.hex)!.roles.size).toBe(0);
      expect(flagged(s)).toEqual(["recruiter", "change agent"]);
    }
    {
      const { h, A1, R, C } = world(4);
      h.grant(A1, C, "recruiter");
      h.revoke(A1, C, "recruiter"); // C keeps "change agent"
      const s = converge(crypto, h, 4).state;
      expect(flagged(s)).toEqual(["recruiter"]);
      expect(s.keys.get("recruiter")!.holders.has(R.hex)).toBe(true);
    }
    {
      const { h, C } = world(5);
      h.emit(C, { t: "leave" });
      const s = converge(crypto, h, 4).state;
      expect(flagged(s)).toEqual(["group", "change agent"]);
      expect(s.former.get(C.hex)?.reason).toBe("left");
    }
  });
});

describe("rotation", () => {
  it("an entitled member's rotation clears the flag; every remaining entitled member opens the new key, the removed member does not", () => {
    const { h, F, A1, R, C, S, all } = world(6);
    h.remove(F, R);
    const rotations = new Map<string, PEvent>();
    for (const sc of ["group", "recruiter", "change agent"]) rotations.set(sc, h.rotate(A1, sc));
    const f = converge(crypto, h, 6);
    const s = f.state;
    expect(flagged(s)).toEqual([]);
    for (const [sc, e] of rotations) {
      expectApplied(f, e);
      const k = s.keys.get(sc)!;
      const id = keyIdOf(e);
      expect(k.keyId).toBe(id);
      expect(k.history.at(-1)).toBe(id);
      const want = entitledMembers(s, sc);
      expect([...k.holders].sort()).toEqual(want);
      expect(missingHolders(s, sc)).toEqual([]);
      const key = A1.ring.get(id)!.key;
      for (const m of all) {
        const held = m.ring.get(id);
        if (want.includes(m.hex)) {
          expect(held, `${m.name} should open the new "${sc}" key`).toBeDefined();
          expect(Buffer.from(held!.key).equals(Buffer.from(key))).toBe(true);
        } else expect(held, `${m.name} must not open the new "${sc}" key`).toBeUndefined();
      }
      // The removed member, handed the rotation itself, learns nothing.
      expect(R.ring.ingest(e.body!)).toEqual([]);
      expect(R.ring.get(id)).toBeUndefined();
    }
    // Entitlement, not membership alone: the seedling never gets role keys, the agent not the recruiter key.
    expect(S.ring.get(keyIdOf(rotations.get("change agent")!))).toBeUndefined();
    expect(C.ring.get(keyIdOf(rotations.get("recruiter")!))).toBeUndefined();
    expect(S.ring.get(keyIdOf(rotations.get("group")!))).toBeDefined();
  });

  it("a task created after the rotation is unreadable by the removed member and readable by every remaining reader", () => {
    const { h, F, A1, R, C, C2, S, all } = world(7);
    const before = h.task(C, ["change agent"], { title: "old news" });
    h.remove(F, R);
    h.rotate(A1, "group");
    h.rotate(A1, "change agent");
    const after = h.task(C, ["change agent"], { title: "secret plan" });
    h.comment(C2, after, "only for us");
    const f = converge(crypto, h, 6);
    const s = f.state;
    const tNew = s.tasks.get(after.id)!;
    expect(tNew.sealed.wraps["change agent"]!.keyId).toBe(s.keys.get("change agent")!.keyId);
    expect(openContentKey(h.base, R.ring, R.kp, R.hex, tNew)).toBeNull();
    expect(opens(h, R, tNew)).toBeNull();
    for (const m of [F, A1, C, C2]) expect(opens(h, m, tNew), m.name).toBe("secret plan");
    expect(opens(h, S, tNew)).toBeNull();
    // Comments are under the same content key.
    const ck = openContentKey(h.base, A1.ring, A1.kp, A1.hex, tNew)!;
    expect(decryptComment(h.base, ck, tNew.comments[0]!.content)).toBe("only for us");
    // No retroactive secrecy: what the removed member could read before, it still can.
    expect(opens(h, R, s.tasks.get(before.id)!)).toBe("old news");
    // What the state says about reading agrees with what the keys open, for every member and task.
    for (const t of s.tasks.values()) for (const m of all) if (s.members.has(m.hex)) expect(canReadTask(s, m.hex, t), `${m.name} / #${t.num}`).toBe(opens(h, m, t) !== null);
  });

  it("a task written concurrently with a rotation under the old key stands only if it comes first in the fold order", () => {
    const seen = new Set<string>();
    for (let seed = 30; seed < 40; seed++) {
      const { h, F, A1, R, C } = world(seed);
      h.remove(F, R);
      const at = h.tips();
      const rot = h.rotate(A1, "change agent", at);
      const t = h.task(C, ["change agent"], { title: "racing" }, at);
      const f = converge(crypto, h, 8, seed);
      expectApplied(f, rot);
      if (position(f, t) < position(f, rot)) {
        expectApplied(f, t);
        seen.add("task first");
      } else {
        expectRejected(f, t, /not wrapped for the current "change agent" key/);
        seen.add("rotation first");
      }
    }
    expect([...seen].sort()).toEqual(["rotation first", "task first"]);
  });

  it("a joiner whose invite predates a rotation lacks the new key until someone shares it", () => {
    const { h, F, A1, R } = world(8);
    const J = h.member("joiner");
    const { secret } = h.invite(A1, "change agent");
    h.remove(F, R);
    const rot = h.rotate(A1, "change agent");
    h.rotate(A1, "group");
    h.join(J, secret);
    let s = converge(crypto, h, 4).state;
    expect(s.members.has(J.hex)).toBe(true);
    expect(missingHolders(s, "change agent")).toEqual([J.hex]);
    expect(missingHolders(s, "group")).toEqual([J.hex]);
    expect(J.ring.get(keyIdOf(rot))).toBeUndefined();
    const t = h.task(A1, ["change agent"], { title: "after the rotation" });
    expect(opens(h, J, h.state().tasks.get(t.id)!)).toBeNull();
    const share = h.share(A1, J)!;
    const f = converge(crypto, h, 4);
    expectApplied(f, share);
    s = f.state;
    expect(missingHolders(s, "change agent")).toEqual([]);
    expect(missingHolders(s, "group")).toEqual([]);
    expect(opens(h, J, s.tasks.get(t.id)!)).toBe("after the rotation");
  });
});

describe("who reads which tasks", () => {
  it("a seedling reads only tasks assigned to it", () => {
    const { h, A1, R, C, S } = world(9);
    const assigned = h.task(C, ["change agent"], { title: "for the seedling", assignee: { member: S.hex } });
    const other = h.task(C, ["change agent"], { title: "not for the seedling" });
    const toRole = h.task(C, ["change agent"], { title: "for the role", assignee: { role: "seedling" } });
    const adminTask = h.task(A1, ["admin"], { title: "admins" });
    let s = h.state();
    const tA = s.tasks.get(assigned.id)!;
    expect(Object.keys(tA.memberKeys)).toEqual([S.hex]);
    expect(opens(h, S, tA)).toBe("for the seedling");
    expect(canReadTask(s, S.hex, tA)).toBe(true);
    for (const e of [other, toRole, adminTask]) {
      const t = s.tasks.get(e.id)!;
      expect(opens(h, S, t)).toBeNull();
      expect(canReadTask(s, S.hex, t)).toBe(false);
    }
    // Assigning a task to the seedling (a recruiter may assign) seals its content key to them.
    const as = h.assign(R, other, { member: S.hex });
    const f = converge(crypto, h, 4);
    expectApplied(f, as);
    s = f.state;
    const tO = s.tasks.get(other.id)!;
    expect(Object.keys(tO.memberKeys)).toEqual([S.hex]);
    expect(opens(h, S, tO)).toBe("not for the seedling");
    expect(canReadTask(s, S.hex, tO)).toBe(true);
    // Role keys: the seedling holds only the group key.
    expect(S.ring.all().map((k) => k.scope)).toEqual(["group"]);
  });

  it("higher roles read lower-role tasks; lower roles never read higher-role tasks", () => {
    const { h, F, A1, A2, R, C, C2, all } = world(10);
    const tasks = {
      "change agent": h.task(C, ["change agent"], { title: "ca" }),
      recruiter: h.task(R, ["recruiter"], { title: "rec" }),
      admin: h.task(A1, ["admin"], { title: "adm" }),
      primary: h.task(F, ["primary"], { title: "pri" }),
    };
    const readers: Record<keyof typeof tasks, HMember[]> = {
      "change agent": [F, A1, A2, R, C, C2],
      recruiter: [F, A1, A2, R],
      admin: [F, A1, A2],
      primary: [F],
    };
    const s = converge(crypto, h, 4).state;
    for (const [role, e] of Object.entries(tasks) as Array<[keyof typeof tasks, PEvent]>) {
      const t = s.tasks.get(e.id)!;
      for (const m of all) {
        const want = readers[role].includes(m);
        expect(opens(h, m, t) !== null, `${m.name} reading a ${role} task`).toBe(want);
        expect(canReadTask(s, m.hex, t), `${m.name} / ${role} (state)`).toBe(want);
      }
    }
  });

  it("a grant seals the role's current key: the grantee reads that role's tasks from then on", () => {
    const { h, A1, R, C } = world(11);
    const t = h.task(R, ["recruiter"], { title: "recruiting" });
    expect(opens(h, C, h.state().tasks.get(t.id)!)).toBeNull();
    const g = h.grant(A1, C, "recruiter");
    const f = converge(crypto, h, 4);
    expectApplied(f, g);
    expect(f.state.keys.get("recruiter")!.holders.has(C.hex)).toBe(true);
    expect(missingHolders(f.state, "recruiter")).toEqual([]);
    expect(opens(h, C, f.state.tasks.get(t.id)!)).toBe("recruiting");
  });
});

describe("delegating a role key to a non-member reader (a bridge)", () => {
  it("lets the delegate read the role, seals later rotations to it, and stops at revocation", async () => {
    const { delegateBody } = await import("../src/pursuance/actions.js");
    const { KeyRing } = await import("../src/pursuance/keyring.js");
    const { h, F, A1, C, R } = world(40);
    const bridgeKp = base.signKeyPair();
    const bridge = { hex: Buffer.from(bridgeKp.publicKey).toString("hex"), ring: new KeyRing(base, bridgeKp) };
    const ingestAll = () => {
      for (const e of h.fold().applied) if (e.event.body && !e.rejected) bridge.ring.ingest(e.event.body);
    };

    // Only a holder of the role's key may delegate it.
    const bad = h.emit(R, (st) => delegateBody(R.actor, st, "admin", bridge.hex));
    expectRejected(converge(crypto, h, 3), bad, /does not hold the "admin" key/);
    // A delegate reads the log like a member: only who may invite (member.invite) may delegate.
    const noInvite = h.emit(C, (st) => delegateBody(C.actor, st, "change agent", bridge.hex));
    expectRejected(converge(crypto, h, 3), noInvite, /lacks capability member\.invite/);
    const d = h.emit(R, (s) => delegateBody(R.actor, s, "change agent", bridge.hex))!;
    let s = converge(crypto, h, 4).state;
    expectApplied(h.fold(), d);
    expect(s.delegates.get("change agent")?.get(bridge.hex)).toBe(R.hex);
    // A member cannot be a delegate, and one delegation per role and delegate.
    const toMember = h.emit(R, (st) => delegateBody(R.actor, st, "change agent", A1.hex));
    expectRejected(converge(crypto, h, 3), toMember, /is a member/);
    ingestAll();
    const t1 = h.task(F, ["change agent"], { title: "read by the bridge" });
    s = converge(crypto, h, 4).state;
    expect(opensWith(bridge, bridgeKp, s.tasks.get(t1.id)!)).toBe("read by the bridge");
    const adminTask = h.task(F, ["admin"], { title: "not for the bridge" });
    s = converge(crypto, h, 4).state;
    expect(opensWith(bridge, bridgeKp, s.tasks.get(adminTask.id)!)).toBeNull();

    // A rotation (here after a removal) is sealed to the delegate too.
    h.remove(F, h.get("agent2"));
    h.rotate(F, "change agent");
    h.rotate(F, "group");
    s = converge(crypto, h, 4).state;
    expect(s.keys.get("change agent")!.needsRotation).toBe(false);
    ingestAll();
    const t2 = h.task(F, ["change agent"], { title: "after rotation" });
    s = converge(crypto, h, 4).state;
    expect(opensWith(bridge, bridgeKp, s.tasks.get(t2.id)!)).toBe("after rotation");

    // Revoked (here by an admin, who outranks the role): the key must rotate away from the bridge.
    const u = h.emit(A1, { t: "keys.undelegate", role: "change agent", to: bridge.hex })!;
    s = converge(crypto, h, 4).state;
    expectApplied(h.fold(), u);
    expect(s.delegates.has("change agent")).toBe(false);
    expect(s.keys.get("change agent")!.needsRotation).toBe(true);
    expect(s.keys.get("group")!.needsRotation).toBe(true);
    h.rotate(F, "change agent");
    s = converge(crypto, h, 4).state;
    ingestAll();
    const t3 = h.task(F, ["change agent"], { title: "after revocation" });
    s = converge(crypto, h, 4).state;
    expect(opensWith(bridge, bridgeKp, s.tasks.get(t3.id)!)).toBeNull();
  });

  it("a delegation lapses when its delegator is removed", async () => {
    const { delegateBody } = await import("../src/pursuance/actions.js");
    const { h, F, R } = world(41);
    const to = Buffer.from(base.signKeyPair().publicKey).toString("hex");
    h.emit(R, (s) => delegateBody(R.actor, s, "change agent", to));
    expect(converge(crypto, h, 3).state.delegates.size).toBe(1);
    h.remove(F, R);
    const s = converge(crypto, h, 4).state;
    expect(s.delegates.size).toBe(0);
    expect(s.keys.get("change agent")!.needsRotation).toBe(true);
  });
});

function opensWith(d: { hex: string; ring: import("../src/pursuance/keyring.js").KeyRing }, kp: import("../src/cwtch/crypto.js").SignKeyPair, t: Task): string | null {
  const ck = openContentKey(base, d.ring, kp, d.hex, t);
  return ck ? (decryptText(base, ck, t.text)?.title ?? null) : null;
}

describe("periodic rotation per the rules' policy", () => {
  it("a member without keys.rotate may rotate only once the period has passed (by others' event time)", async () => {
    const { defaultRules } = await import("../src/pursuance/rules.js");
    const { rotateBody } = await import("../src/pursuance/actions.js");
    const rules = { ...defaultRules(), rotation: { everyMs: 3_600_000 } };
    const h = new History(base, 50);
    const F = h.member("founder");
    const C = h.member("agent");
    h.genesis(F, { rules });
    h.addMember(F, C, "change agent");
    const t0 = h.fold().state.keys.get("change agent")!.since;
    const early = h.emit(C, (s) => rotateBody(C.actor, s, "change agent").body, "tips", { ts: t0 + 60_000 });
    expectRejected(converge(crypto, h, 3), early, /needs no rotation and .* lacks keys\.rotate/);
    // Its own claim that the hour has passed is not enough: only time other members claimed counts (rotation-clock.ts).
    const claimed = h.emit(C, (s) => rotateBody(C.actor, s, "change agent").body, "tips", { ts: t0 + 3_600_000 });
    expectRejected(converge(crypto, h, 3), claimed, /needs no rotation and .* lacks keys\.rotate/);
    h.advance(3_600_000);
    h.emit(F, { t: "announce", text: "an hour on" });
    const late = h.emit(C, (s) => rotateBody(C.actor, s, "change agent").body)!;
    const f = converge(crypto, h, 3);
    expectApplied(f, late);
    expect(f.state.keys.get("change agent")!.since).toBe(late.ts);
  });
});
