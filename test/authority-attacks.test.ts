// The insider attacks on authority (test/helpers/attacks.ts), each as the
// attacker would run it with the project's own builders: ids ground below the
// event they must beat (1,000 tries), timestamps backdated, deps citing only
// what came before. Each history is delivered in at least 20 causal orders and
// batchings ("every client"); every delivery must agree, and the attack must
// fail in all of them. On the fold before supersession (ids deciding
// concurrent conflicts) every one of these tests failed (docs/protocol.md).
import { beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import type { Fold } from "../src/pursuance/fold.js";
import type { Body } from "../src/pursuance/events.js";
import { sealComplaints, sealersDoubtedBy } from "../src/pursuance/seal-complaints.js";
import * as A from "./helpers/attacks.js";
import { converge, distinctOrders, expectApplied, expectRejected, memoVerifyCrypto, position, type History } from "./helpers/history.js";

let base: Crypto;
let crypto: Crypto;
beforeAll(async () => {
  base = await loadCrypto();
  crypto = memoVerifyCrypto(base);
});

const ORDERS = 24;

/** Fold in many orders (all must agree; the history must really be concurrent), then check every named verdict. */
function run(sc: A.Scenario, seed: number): Fold {
  const h: History = sc.h;
  expect(distinctOrders(h, ORDERS, seed), `${sc.name}: concurrent`).toBeGreaterThan(1);
  const f = converge(crypto, h, ORDERS, seed);
  for (const [name, x] of Object.entries(sc.expect)) {
    if (x.applied) expectApplied(f, x.event);
    else expectRejected(f, x.event, x.reason ?? /./);
    expect(f.verdict(x.event.id) === null, `${sc.name}: ${name}`).toBe(x.applied);
  }
  return f;
}

const SEEDS = [1, 2, 3];

describe("insider attacks on authority", () => {
  it("1. backdating after removal: a removed admin's ground, backdated task, invite and puppet join are all rejected; rotations exclude the puppet", () => {
    for (const seed of SEEDS) {
      const sc = A.backdatingAfterRemoval(base, seed);
      const { rm, task, inv } = sc.expect;
      expect(task!.event.id < rm!.event.id && inv!.event.id < rm!.event.id).toBe(true);
      const f = run(sc, seed);
      for (const e of [task!, inv!]) expect(position(f, e.event)).toBeGreaterThan(position(f, rm!.event));
      const { P, A: X, C } = sc.members;
      const s = f.state;
      expect(s.members.has(P!.hex) || s.members.has(X!.hex)).toBe(false);
      expect(s.keys.get("group")!.holders.has(P!.hex) || s.keys.get("group")!.holders.has(X!.hex) || s.keys.get("admin")!.holders.has(X!.hex)).toBe(false);
      expect(s.keys.get("group")!.holders.has(C!.hex)).toBe(true);
    }
  });

  it("2. backdating after demotion: a demoted admin's backdated grant and admin-key rotation are rejected; the honest rotation and the admin task stand", () => {
    for (const seed of SEEDS) {
      const sc = A.backdatingAfterDemotion(base, seed);
      const f = run(sc, seed);
      expect(position(f, sc.expect.grant!.event)).toBeGreaterThan(position(f, sc.expect.demote!.event));
      expect([...f.state.members.get(sc.members.A!.hex)!.roles]).toEqual(["recruiter"]);
      expect(f.state.keys.get("admin")!.holders.has(sc.members.A!.hex)).toBe(false);
    }
  });

  it("3. concurrent removal: the primary removes admin A while A grants C a role; A's grant loses whatever its id", () => {
    for (const seed of SEEDS) {
      const sc = A.concurrentRemoval(base, seed);
      expect(sc.expect.grant!.event.id < sc.expect.rm!.event.id).toBe(true);
      const f = run(sc, seed);
      expect(f.state.members.get(sc.members.C!.hex)!.roles.has("recruiter")).toBe(false);
    }
  });

  it("4. late invite: a join citing only an invite whose inviter was removed, id ground below the removal, is rejected", () => {
    for (const seed of SEEDS) {
      const sc = A.lateInvite(base, seed);
      expect(sc.expect.late!.event.id < sc.expect.rm!.event.id).toBe(true);
      const f = run(sc, seed);
      expect(position(f, sc.expect.late!.event)).toBeGreaterThan(position(f, sc.expect.rm!.event));
      expect(f.state.members.has(sc.members.J!.hex)).toBe(false);
    }
  });

  it("5. retroactive equivocation: a removed member re-signs its old invite; the honest joiner's join, tasks and later rotations stand", () => {
    for (const seed of SEEDS) {
      const sc = A.retroactiveEquivocation(base, seed);
      const f = run(sc, seed);
      expect(f.state.members.has(sc.members.J!.hex)).toBe(true);
      expect(f.state.tasks.has(sc.expect.jt!.event.id)).toBe(true);
    }
  });

  it("5b. equivocation with puppets: a recruiter re-signs the invite an honest member joined with and two puppets build on the new variant; the joiner and its work stand", () => {
    for (const seed of SEEDS) {
      const sc = A.puppetEquivocation(base, seed);
      const f = run(sc, seed);
      expect(f.state.members.has(sc.members.J!.hex)).toBe(true);
    }
  });

  it("6. rotation sabotage: garbage sealed to the founder is reported (the founder's word, naming no one), a holder re-shares, the founder reads again", () => {
    for (const seed of SEEDS) {
      const sc = A.rotationSabotage(base, seed);
      const { F, A: X } = sc.members;
      const kid = (sc.expect.bad!.event.body as Extract<Body, { t: "keys.rotate" }>).keyId;
      const f = run(sc, seed);
      expect(f.state.badSeals).toEqual([{ scope: "group", keyId: kid, reporter: F!.hex, rotator: X!.hex }]);
      expect(sealComplaints(f.state)).toEqual([{ scope: "group", keyId: kid, reporter: F!.hex }]);
      // The rotator is passed over only for re-sharing to the founder; nothing is rotated because of the complaint.
      expect([...sealersDoubtedBy(f.state, F!.hex)]).toEqual([X!.hex]);
      expect(f.state.keys.get("group")!.needsRotation).toBe(false);
      expect(f.state.keys.get("group")!.holders.has(F!.hex)).toBe(true);
      expect(F!.ring.get(kid)).toBeDefined(); // the share opened: the founder reads again
    }
    // A complaint about a key that is not current is refused.
    const { h, F } = A.world(base, 9);
    const stale = h.emit(F, { t: "keys.unreadable", scope: "group", keyId: "ab".repeat(16) })!;
    expectRejected(converge(crypto, h, 4, 9), stale, /is not current/);
  });

  it("a demoted admin's act is judged after the demotion: what the new role allows stands, the rest fails", () => {
    const sc = A.demotedActs(base, 61);
    const f = run(sc, 61);
    for (const e of [sc.expect.comment!, sc.expect.hello!]) expect(position(f, e.event)).toBeGreaterThan(position(f, sc.expect.demote!.event));
  });
});
