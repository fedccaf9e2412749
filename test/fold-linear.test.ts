// The fold's cost per join must not grow with the membership. Not timed: every
// collection that grows with the members (members, former members, invites,
// each key's holders) is made to count the elements its iterators hand out,
// and the count over N joins must stay within a constant per join, and grow
// 4x, not 16x, when N does. A fold that rescans everyone per event (as
// reconcileKeys once did) visits ~10 N elements per join and fails both.
import { beforeAll, describe, expect, it } from "vitest";
import { joinsLog } from "../bench/joins.js";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { Fold } from "../src/pursuance/fold.js";
import { toPEvent } from "../src/pursuance/pevent.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
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
