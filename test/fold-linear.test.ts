// The fold's cost per join must not grow with the membership. Not timed: every
// collection that grows with the members (members, former members, invites,
// each key's holders) is made to count the elements its iterators hand out,
// and the count over N joins must stay within a constant per join, and grow
// 4x, not 16x, when N does. A fold that rescans everyone per event (as
// reconcileKeys once did) visits ~10 N elements per join and fails both.
//
// What makes it linear is that reconcileKeys looks only at the ids an event
// touched. That is exact only while every reducer names the right ids, so
// after every event of random and delegation-heavy histories the state must
// equal what a full reconciliation (every holder, every delegation) makes of it.
import { beforeAll, describe, expect, it } from "vitest";
import { joinsLog } from "../bench/joins.js";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { delegateBody } from "../src/pursuance/actions.js";
import type { PEvent } from "../src/pursuance/apply-common.js";
import { Fold } from "../src/pursuance/fold.js";
import { defaultRules } from "../src/pursuance/rules.js";
import { toPEvent } from "../src/pursuance/pevent.js";
import { stateHash } from "../src/pursuance/state-hash.js";
import { reconcileKeys } from "../src/pursuance/key-holders.js";
import { History, memoVerifyCrypto, randomCausalOrder, randomHistory, Rng } from "./helpers/history.js";

let crypto: Crypto;
let fast: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
  fast = memoVerifyCrypto(crypto);
});

type Iterated = Map<unknown, unknown> | Set<unknown>;

/** Make `c` count (into `tally`) every element any of its iterators yields; it stays the same object. */
function counting<C extends Iterated>(c: C, tally: { n: number }): C {
  const anyC = c as unknown as Record<PropertyKey, (...a: unknown[]) => unknown>;
  for (const name of ["keys", "values", "entries", Symbol.iterator] as PropertyKey[]) {
    const orig = anyC[name]!.bind(c) as (...a: unknown[]) => Iterable<unknown>;
    anyC[name] = function* (...a: unknown[]) {
      for (const x of orig(...a)) {
        tally.n++;
        yield x;
      }
    };
  }
  const forEach = anyC.forEach!.bind(c);
  anyC.forEach = (...a: unknown[]) => {
    const f = a[0] as (...x: unknown[]) => void;
    return forEach((...x: unknown[]) => (tally.n++, f(...x)));
  };
  return c;
}

/** Elements visited in the growing collections while `joiners` members join one event at a time. */
function visitsFor(joiners: number): number {
  const log = joinsLog(crypto, joiners);
  const pevs = log.events.map(toPEvent);
  const f = new Fold({ crypto, genesisId: log.pursuanceId });
  f.add([pevs[0]!]);
  const tally = { n: 0 };
  const s = f.state;
  counting(s.members, tally);
  counting(s.former, tally);
  counting(s.invites, tally);
  for (const k of s.keys.values()) counting(k.holders, tally);
  let refolds = 0;
  for (const p of pevs.slice(1)) if (f.add([p])) refolds++;
  // The counters are only meaningful if the same state object saw every event.
  expect(refolds).toBe(0);
  expect(f.state).toBe(s);
  expect(s.applied).toBe(pevs.length);
  expect(s.members.size).toBe(joiners + 1);
  expect(s.rejected).toEqual([]);
  return tally.n;
}

describe("fold cost per member", () => {
  it("joins visit a bounded number of members each, whatever the membership", () => {
    const small = visitsFor(500);
    const large = visitsFor(2000);
    // Linear: a constant per join (the bookkeeping touches the joiner, not everyone).
    expect(small).toBeLessThanOrEqual(4 * 500);
    expect(large).toBeLessThanOrEqual(4 * 2000);
    // And 4x the joins costs about 4x, never the 16x of a rescan per join.
    expect(large).toBeLessThanOrEqual(5 * Math.max(small, 1));
  }, 120_000);
});

/** Fold `events` one at a time; after each, a full reconciliation of a copy must change nothing. */
function expectReconciled(events: readonly PEvent[], genesisId: string | null): Fold {
  const f = new Fold({ crypto: fast, genesisId });
  for (const e of events) {
    f.add([e]);
    const full = structuredClone(f.state);
    reconcileKeys(full);
    if (stateHash(fast, full) !== f.hash()) {
      expect({ event: e.body?.t, keys: full.keys, delegates: full.delegates }).toEqual({ event: e.body?.t, keys: f.state.keys, delegates: f.state.delegates });
    }
  }
  return f;
}

describe("reconciling only the touched ids is exact", () => {
  it("random histories (joins, grants, revokes, removals, leaves, votes, amends, rotations), every causal order step", () => {
    for (let seed = 1; seed <= 16; seed++) {
      const rh = randomHistory(crypto, 0x1ea5 + seed, 140);
      expectReconciled(randomCausalOrder(rh.h.events, new Rng(seed)), rh.h.genesisId);
    }
  }, 120_000);

  it("delegations: lapse by revoke, by removal and by role deletion; undelegation; a delegate who joins", () => {
    const h = new History(crypto, 77);
    const F = h.member("founder");
    const A = h.member("admin");
    const C = h.member("agent");
    const D = h.member("agent2");
    const X = h.member("bridge-x");
    const Y = h.member("bridge-y");
    // Delegation needs member.invite: here change agents may invite (and so delegate).
    const rules = defaultRules();
    rules.roles["change agent"]!.caps.push("member.invite");
    h.genesis(F, { rules });
    h.addMember(F, A, "admin");
    h.addMember(F, C, "change agent");
    h.addMember(F, D, "recruiter");
    const del = (by: typeof C, role: string, to: typeof X) => h.emit(by, (s) => delegateBody(by.actor, s, role, to.hex));
    del(C, "change agent", X);
    del(D, "recruiter", Y);
    h.rotate(F, "group");
    // C loses the role: the delegation to X lapses, and X held the group and role keys.
    h.revoke(F, C, "change agent");
    h.rotate(F, "change agent");
    h.rotate(F, "group");
    del(D, "change agent", X);
    // Undelegation by someone who outranks the role.
    h.emit(A, { t: "keys.undelegate", role: "recruiter", to: Y.hex });
    h.rotate(F, "recruiter");
    h.rotate(F, "group");
    // A role created, delegated, then deleted: the delegation goes with it.
    h.emit(F, { t: "role.create", role: "press", def: { rank: 50, caps: [], reads: "role" } });
    h.rotate(F, "press");
    del(A, "press", Y);
    h.emit(F, { t: "role.delete", role: "press" });
    h.rotate(F, "group");
    // The delegate X joins as a member while still a delegate; then its delegator is removed.
    h.addMember(F, X, "change agent");
    h.remove(F, D);
    h.grant(F, C, "change agent");
    h.emit(C, { t: "leave" });
    const f = expectReconciled(h.events, h.genesisId);
    // The scenario did what it says (else the check above proved little).
    const kinds = f.applied.filter((a) => a.rejected === null).map((a) => a.event.body?.t);
    expect(kinds.filter((t) => t === "keys.delegate").length).toBe(4);
    expect(f.state.rejected).toEqual([]);
    expect(kinds).toContain("keys.undelegate");
    expect(kinds).toContain("role.delete");
    expect(f.state.delegates.size).toBe(0);
    expect(f.state.members.has(X.hex)).toBe(true);
  }, 60_000);
});
