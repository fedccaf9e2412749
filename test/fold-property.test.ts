// Convergence of the pursuance fold, by property: random histories that mix
// honest and malicious writers (joins, grants, revokes, removals, concurrent
// branches, tasks acted on by allowed and disallowed members, forged
// capabilities, rotations including concurrent ones, an equivocating member)
// are delivered to fresh folds in many causal orders, one event at a time, in
// random-sized batches (the incremental path and the refold path), and as one
// shuffled batch. Every delivery must reach the same state hash and the same
// audit (order and verdicts) as a single `foldAll`.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import type { PEvent } from "../src/pursuance/apply-common.js";
import { Fold, foldAll } from "../src/pursuance/fold.js";
import { entitledMembers } from "../src/pursuance/state.js";
import { History, Rng, deliver, memoVerifyCrypto, quietly, randomCausalOrder, randomChunks, randomHistory } from "./helpers/history.js";

let base: Crypto;
let crypto: Crypto;
beforeAll(async () => {
  base = await loadCrypto();
  crypto = memoVerifyCrypto(base);
});

/** Fixed so that a failure reproduces; fast-check prints the history seed and size on failure. */
const SEED = 0x5eed_f01d;
const BLOCKS = 8;
const PER_BLOCK = 26; // 208 histories
const ORDERS = 50;

const stats = {
  histories: 0,
  events: 0,
  deliveries: 0,
  incrementalAdds: 0,
  refolds: 0,
  rejected: 0,
  concurrent: 0,
  equivocations: 0,
  kinds: {} as Record<string, number>,
  rejectedTypes: {} as Record<string, number>,
  causes: {} as Record<string, number>,
};

/** Rejection causes the generator must provoke, by the words of their reasons. */
const CAUSES: Record<string, RegExp> = {
  "non-member": /is not a member/,
  "missing capability": /lacks capability/,
  "rank (role)": /does not outrank role/,
  "rank (member)": /does not outrank member/,
  "cannot read task": /cannot read task/,
  "stale rotation": /stale rotation/,
  "bad rotation seal": /non-entitled|leaves out/,
  equivocation: /equivocated/,
  "leader protected": /is the leader/,
  "invite reuse": /already used/,
  "bad proof": /proof does not verify/,
  "unknown key": /unknown ".*" key id/,
  malformed: /malformed body/,
};

const audit = (f: Fold) => f.applied.map((a) => `${a.event.id}:${a.rejected ?? "ok"}`).join("\n");

/** One history: build it, check invariants, deliver it in many orders. */
function checkHistory(seed: number, size: number): void {
  const { h, outsiders, forks, kinds } = randomHistory(base, seed, size);
  const where = `history seed=${seed} size=${size}`;
  const events = h.events;
  const ref = quietly(() => foldAll(crypto, events, null));
  const refHash = ref.hash();
  const refAudit = audit(ref);
  const s = ref.state;

  // ---- invariants of the single fold ----
  expect(ref.size, where).toBe(events.length);
  expect(s.applied + s.rejected.length, where).toBe(events.length);
  for (const r of s.rejected) expect(r.reason.length, where).toBeGreaterThan(0);
  const verdict = new Map(ref.applied.map((a) => [a.event.id, a.rejected]));
  // The genesis applies; a root written without it (an equivocating first event citing nothing) may precede it, and is rejected.
  expect(verdict.get(h.genesisId!), where).toBeNull();
  expect(s.id, where).toBe(h.genesisId);
  for (const a of ref.applied) {
    if (a.event.id === h.genesisId) break;
    expect(a.rejected, where).toMatch(/no genesis|equivocated/);
  }
  for (const e of events) {
    // An author who never joined can do nothing at all.
    if (outsiders.has(e.author)) expect(verdict.get(e.id), `${where}: outsider event ${e.id}`).toMatch(/not a member|unknown invite|malformed/);
    // An equivocating author is disqualified from the fork on.
    const f = forks.get(e.author);
    if (f !== undefined && e.seq >= f) expect(verdict.get(e.id), `${where}: forked event ${e.id}`).toMatch(/equivocated/);
  }
  // Nobody reaches the top role except the founder and those crowned by succession.
  const crowned = new Set(ref.applied.filter((a) => a.rejected === null && a.event.body?.t === "leader.vote").map((a) => (a.event.body as { candidate: string }).candidate));
  for (const [id, m] of s.members) if (m.roles.has("primary")) expect(id === s.founder || crowned.has(id), `${where}: ${id} holds primary`).toBe(true);
  if (s.leader !== null) expect(s.members.get(s.leader)?.roles.has("primary"), where).toBe(true);
  // Whoever holds a key they are no longer entitled to forces a rotation.
  for (const [scope, k] of s.keys) {
    const want = new Set(entitledMembers(s, scope));
    if ([...k.holders].some((x) => !want.has(x))) expect(k.needsRotation, `${where}: scope ${scope}`).toBe(true);
  }

  // ---- the same events, many deliveries ----
  const rng = new Rng(seed ^ 0x9e3779b9);
  const same = (f: Fold, how: string) => {
    stats.deliveries++;
    const got = f.hash();
    if (got !== refHash || audit(f) !== refAudit) {
      expect(audit(f), `${where}: ${how}`).toBe(refAudit);
      expect(got, `${where}: ${how}`).toBe(refHash);
    }
  };
  const run = (chunks: PEvent[][], how: string) => {
    const d = deliver(crypto, chunks, null);
    stats.incrementalAdds += d.incremental;
    stats.refolds += d.refolds;
    same(d.fold, how);
  };
  for (let i = 0; i < ORDERS; i++) {
    const order = randomCausalOrder(events, rng);
    if (i < 2) run(order.map((e) => [e]), `causal order #${i}, one event per add`);
    else if (i < 26) run(randomChunks(order, rng, rng.range(2, Math.max(2, Math.ceil(events.length / 3)))), `causal order #${i} in random batches`);
    else if (i < 46) run([order], `causal order #${i} in one add`);
    else run([rng.shuffle([...events])], `arbitrary permutation #${i} in one add`);
  }
  // Creation order: most writers cite every tip, so most adds take the incremental path.
  run(events.map((e) => [e]), "creation order, one event per add");
  run(randomChunks(events, rng, 4), "creation order in small batches");
  // Duplicates and re-deliveries change nothing.
  const order = randomCausalOrder(events, rng);
  const dup = randomChunks(order, rng, 6).map((c, i, all) => (i > 0 && rng.chance(0.5) ? [...c, ...rng.subset(all[i - 1]!, 0.5)] : c));
  run([...dup, rng.subset(events, 0.3)], "causal batches with re-deliveries");
  // A fold that refolds from scratch at the end agrees with itself.
  const d = deliver(crypto, [order]);
  quietly(() => d.fold.refold());
  same(d.fold, "explicit refold");

  stats.histories++;
  stats.events += events.length;
  stats.rejected += s.rejected.length;
  stats.equivocations += forks.size;
  stats.concurrent += events.filter((e) => e.parents.length > 1).length;
  for (const [k, v] of Object.entries(kinds)) stats.kinds[k] = (stats.kinds[k] ?? 0) + v;
  for (const r of s.rejected) {
    stats.rejectedTypes[r.type] = (stats.rejectedTypes[r.type] ?? 0) + 1;
    for (const [c, re] of Object.entries(CAUSES)) if (re.test(r.reason)) stats.causes[c] = (stats.causes[c] ?? 0) + 1;
  }
}

describe("fold convergence over random honest+malicious histories", () => {
  // To replay one failing history: FOLD_HISTORY=<seed>,<size> npx vitest run test/fold-property.test.ts
  const only = process.env.FOLD_HISTORY?.split(",").map(Number);
  if (only && only.length === 2) {
    it(`history seed=${only[0]} size=${only[1]}`, () => checkHistory(only[0]!, only[1]!));
    return;
  }
  for (let b = 0; b < BLOCKS; b++) {
    it(`histories ${b * PER_BLOCK}..${(b + 1) * PER_BLOCK - 1}: every delivery order, every batching, one hash`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 30, max: 80 }), (seed, size) => {
          checkHistory(seed, size);
        }),
        { seed: SEED + b, numRuns: PER_BLOCK, endOnFailure: true },
      );
    });
  }

  it("covered what it claims to cover", () => {
    expect(stats.histories).toBeGreaterThanOrEqual(200);
    expect(stats.deliveries).toBeGreaterThanOrEqual(stats.histories * (ORDERS + 4));
    // Both fold paths were exercised.
    expect(stats.incrementalAdds).toBeGreaterThan(stats.histories * 10);
    expect(stats.refolds).toBeGreaterThan(stats.histories * 10);
    // Honest and malicious events both occur in volume.
    expect(stats.rejected).toBeGreaterThan(stats.events * 0.15);
    expect(stats.rejected).toBeLessThan(stats.events * 0.75);
    expect(stats.equivocations).toBeGreaterThan(stats.histories * 0.3);
    expect(stats.concurrent).toBeGreaterThan(stats.events * 0.2);
    for (const k of ["join", "join!", "grant", "grant!", "revoke", "remove", "remove!", "rotate", "rotate!", "task.create", "task.create!", "task.comment", "task.comment!", "task.close", "task.close!", "task.assign", "outsider!", "vote", "rotate2", "equivocate"]) {
      expect(stats.kinds[k] ?? 0, k).toBeGreaterThan(20);
    }
    for (const c of Object.keys(CAUSES)) expect(stats.causes[c] ?? 0, c).toBeGreaterThan(10);
    for (const t of ["join", "role.grant", "role.revoke", "remove", "keys.rotate", "keys.share", "task.create", "task.comment", "task.close", "task.assign", "leader.vote", "malformed"]) {
      expect(stats.rejectedTypes[t] ?? 0, t).toBeGreaterThan(5);
    }
  });
});

afterAll(() => {
  console.log(`fold-property: ${JSON.stringify({ ...stats, kinds: undefined, rejectedTypes: undefined })}`);
});

describe("the incremental path", () => {
  it("appending an event that cites every tip does not refold, and agrees with a refold", () => {
    const h = new History(base, 7);
    const f = h.member("founder");
    const m = h.member("m");
    h.genesis(f);
    h.addMember(f, m, "change agent");
    h.task(f, ["change agent"]);
    h.emit(m, { t: "announce", text: "not allowed" });
    h.comment(m, h.state().taskIds[0]!, "hi");
    const fold = new Fold({ crypto });
    const rebuilt = h.events.map((e) => fold.add([e]));
    // The first add has no tips to cite; every later one cites them all.
    expect(rebuilt).toEqual(h.events.map(() => false));
    expect(fold.hash()).toBe(foldAll(crypto, h.events).hash());
    expect(audit(fold)).toBe(audit(foldAll(crypto, h.events)));
    // The audit view holds the events as written (their parents intact).
    expect(fold.applied.map((a) => a.event)).toEqual(h.events);
  });

  it("an event descending from an orphan is judged as a refold would judge it", () => {
    const h = new History(base, 8);
    const f = h.member("founder");
    const g = h.genesis(f);
    const a = h.emit(f, { t: "announce", text: "a" })!;
    const b = h.emit(f, { t: "announce", text: "b" })!; // cites a
    const c = h.emit(f, { t: "announce", text: "c" }, [g])!; // cites b and the genesis: every tip while a is missing
    const fold = new Fold({ crypto });
    fold.add([g]);
    fold.add([b]); // a is missing: b cannot be placed
    fold.add([c]);
    expect(fold.hash()).toBe(foldAll(crypto, [g, b, c]).hash());
    expect(fold.state.rejected.map((r) => r.id).sort()).toEqual([b.id, c.id].sort());
    fold.add([a]); // the gap is filled: all of it applies
    expect(fold.hash()).toBe(foldAll(crypto, h.events).hash());
    expect(fold.state.rejected).toEqual([]);
  });

  it("rule changes never write through to the genesis event (refolds see the rules as written)", () => {
    const h = new History(base, 9);
    const f = h.member("founder");
    const g = h.genesis(f);
    const before = JSON.stringify(g.body);
    h.emit(f, { t: "role.amend", role: "seedling", def: { rank: 20, caps: ["task.comment"], reads: "role" } });
    h.emit(f, { t: "role.delete", role: "change agent" });
    const fold = foldAll(crypto, h.events);
    expect(fold.state.rules.roles.seedling?.reads).toBe("role");
    expect(fold.state.rules.roles["change agent"]).toBeUndefined();
    expect(JSON.stringify(g.body)).toBe(before);
    const h1 = fold.hash();
    fold.refold();
    expect(fold.state.rejected).toEqual([]);
    expect(fold.hash()).toBe(h1);
  });
});
