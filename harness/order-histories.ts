// The exhaustive order checker. Every small history of authority-changing and
// acting events (removals, revocations, role amends and deletes, grants,
// invites, joins, a leadership transfer, a policy change, a join-request
// opening, a seedling's comment) by four members of different ranks, built in
// every causal shape, is delivered in every arrival order and every batching
// to one long-lived fold (which keeps whatever it caches between adds), and
// must give what a fresh fold of the same set gives: the same state hash and
// the same applied and rejected ids. test/fold-orders.test.ts runs a slice of
// it; `npm run bench -- --only orders` runs the rest and fails on any
// divergence. Histories are enumerated as a tree: each continuation forks its
// parent's History, so shared prefixes are written once.
import { toB64 } from "../src/cwtch/bytes.js";
import type { Crypto } from "../src/cwtch/crypto.js";
import { ActionError, commentBody, grantBody, type InviteSecret } from "../src/pursuance/actions.js";
import { policyBody, roleAmendBody, roleDeleteBody, transferBody } from "../src/pursuance/actions-rules.js";
import type { PEvent } from "../src/pursuance/apply-common.js";
import type { Body } from "../src/pursuance/events.js";
import { Fold, foldAll } from "../src/pursuance/fold.js";
import { hasCap, type PursuanceState } from "../src/pursuance/state.js";
import { History, quietly, type Deps, type HMember } from "./history.js";

/** primary F, admin A, recruiter R, seedling S; N is not yet a member. */
export interface Cast {
  F: HMember;
  A: HMember;
  R: HMember;
  S: HMember;
  N: HMember;
}

export interface OrderHistory {
  h: History;
  cast: Cast;
  /** Written first, one causal chain: everyone joins, then each acts once. */
  base: PEvent[];
  /** The enumerated events, in the order written. */
  tail: PEvent[];
  /** How each tail event was made: "<action> @<shape>". */
  steps: string[];
  /** Invites a join may redeem, newest last (the base holds one by R). */
  invites: InviteSecret[];
  /** The task assigned to S (S comments on it). */
  task: string;
}

/** What a tail event cites besides its author's previous event. */
export type Shape = "tips" | "base" | "last";
export const SHAPES: readonly Shape[] = ["tips", "base", "last"];

/**
 * The world every history starts from. Every member has acted before the tail
 * (a reduction's targets then have events among its ancestors, which is what a
 * cached ancestor set gets wrong when the targets change).
 */
export function orderWorld(base: Crypto, seed: number): OrderHistory {
  const h = new History(base, seed);
  const cast: Cast = { F: h.member("founder"), A: h.member("admin"), R: h.member("recruiter"), S: h.member("seedling"), N: h.member("newcomer") };
  const { F, A, R, S } = cast;
  h.genesis(F);
  h.addMember(F, A, "admin");
  h.addMember(F, R, "recruiter");
  h.addMember(F, S, "seedling");
  h.task(A, ["admin"], { title: "admins only" });
  const { secret } = h.invite(R, "seedling");
  const task = h.task(F, ["recruiter"], { title: "for the seedling", assignee: { member: S.hex } });
  h.comment(S, task, "on it");
  return { h, cast, base: [...h.events], tail: [], steps: [], invites: [secret], task: task.id };
}

type Build = (s: PursuanceState) => Body | null;
/** A tail action: the author and how it builds its body from what it has seen (null: it would not act). */
interface Action {
  by: keyof Cast;
  build: (x: OrderHistory) => Build;
}

/** Builders refuse (ActionError) what an honest client would not send: then the author does not act. */
const honest = (f: Build): Build => (s) => {
  try {
    return f(s);
  } catch (err) {
    if (err instanceof ActionError) return null;
    throw err;
  }
};
const may = (s: PursuanceState, m: HMember, cap: Parameters<typeof hasCap>[2]) => s.members.has(m.hex) && hasCap(s, m.hex, cap);
const holds = (s: PursuanceState, m: HMember, role: string) => s.members.get(m.hex)?.roles.has(role) === true;

const remove = (by: keyof Cast, who: keyof Cast): Action => ({
  by,
  build: ({ cast }) => (s) => (may(s, cast[by], "member.remove") && s.members.has(cast[who].hex) ? { t: "remove", member: cast[who].hex, reason: "order check" } : null),
});
const revoke = (by: keyof Cast, who: keyof Cast, role: string): Action => ({
  by,
  build: ({ cast }) => (s) => (may(s, cast[by], "role.grant") && holds(s, cast[who], role) ? { t: "role.revoke", member: cast[who].hex, role } : null),
});
const grant = (by: keyof Cast, who: keyof Cast, role: string): Action => ({
  by,
  build: ({ cast }) => honest((s) => (may(s, cast[by], "role.grant") && s.members.has(cast[who].hex) && !holds(s, cast[who], role) ? grantBody(cast[by].actor, s, cast[who].hex, role) : null)),
});
/** Invites and joins are written through History.invite and History.join (their secrets travel out of band): see act. */
const special = (by: keyof Cast): Action => ({ by, build: () => () => null });

/** The actions a history is made of, by name. */
export const ACTIONS: Record<string, Action> = {
  "F removes A": remove("F", "A"),
  "A removes R": remove("A", "R"),
  "F revokes A's admin": revoke("F", "A", "admin"),
  "A revokes R's recruiter": revoke("A", "R", "recruiter"),
  "F amends recruiter (no member.invite)": {
    by: "F",
    build: ({ cast }) => honest((s) => {
      const caps = s.rules.roles.recruiter?.caps;
      return may(s, cast.F, "rules.change") && caps?.includes("member.invite") ? roleAmendBody(s, "recruiter", { caps: caps.filter((c) => c !== "member.invite") }) : null;
    }),
  },
  "F deletes recruiter": { by: "F", build: ({ cast }) => honest((s) => (may(s, cast.F, "rules.change") ? roleDeleteBody(s, "recruiter") : null)) },
  "A grants S recruiter": grant("A", "S", "recruiter"),
  "R grants S change agent": grant("R", "S", "change agent"),
  "R invites": special("R"),
  "S invites": special("S"),
  "N joins": special("N"),
  "F transfers leadership to A": { by: "F", build: ({ cast }) => honest((s) => (s.leader === cast.F.hex ? transferBody(s, cast.A.hex) : null)) },
  "F changes the rotation policy": { by: "F", build: ({ cast }) => honest((s) => (s.leader === cast.F.hex ? policyBody(s, { rotateEveryMs: 3_600_000 }) : null)) },
  "R opens join requests": { by: "R", build: ({ cast, h }) => (s) => (may(s, cast.R, "member.invite") ? { t: "requests.set", open: true, seed: toB64(h.rng.bytes(32)), limit: 5 } : null) },
  "S comments": {
    by: "S",
    build: ({ cast, task }) => honest((s) => {
      const t = s.tasks.get(task);
      return t && s.members.has(cast.S.hex) ? commentBody(cast.S.actor, t, "still on it") : null;
    }),
  },
};
export const ACTION_NAMES = Object.keys(ACTIONS);

/**
 * Write one more event into a fork of `x`; null when its author would not
 * act (not a member, lacks the power, or nothing to do in what it has seen).
 */
export function act(x: OrderHistory, name: string, shape: Shape): OrderHistory | null {
  const a = ACTIONS[name];
  if (!a) throw new Error(`unknown action ${JSON.stringify(name)}`);
  const y: OrderHistory = { ...x, h: x.h.fork(), tail: [...x.tail], steps: [...x.steps], invites: [...x.invites] };
  const { h } = y;
  const cast: Cast = { F: h.get("founder"), A: h.get("admin"), R: h.get("recruiter"), S: h.get("seedling"), N: h.get("newcomer") };
  y.cast = cast;
  const baseTips = tipsOf(y.base);
  const last = y.tail[y.tail.length - 1];
  const deps: Deps = shape === "tips" ? "tips" : shape === "base" || !last ? baseTips : [last.id];
  const m = cast[a.by];
  let e: PEvent | null;
  if (name === "R invites" || name === "S invites") {
    const s = h.stateAt(h.parentsFor(m, deps).parents);
    if (!may(s, m, "member.invite")) return null;
    const r = h.invite(m, "seedling", deps);
    y.invites.push(r.secret);
    e = r.event;
  } else if (name === "N joins") {
    if (y.tail.some((t) => t.author === cast.N.hex)) return null;
    e = h.join(cast.N, y.invites[y.invites.length - 1]!, deps);
  } else e = h.emit(m, a.build(y), deps);
  if (!e) return null;
  y.tail.push(e);
  y.steps.push(`${name} @${shape}`);
  return y;
}

function tipsOf(events: readonly PEvent[]): string[] {
  const cited = new Set(events.flatMap((e) => e.parents));
  return events.filter((e) => !cited.has(e.id)).map((e) => e.id);
}

export interface EnumerateOptions {
  /** Tail events per history, at most. */
  maxEvents: number;
  /** Histories of exactly this many tail events only (default: 1..maxEvents). */
  minEvents?: number;
  actions?: readonly string[];
  shapes?: readonly Shape[];
  /** The i-th event is always `actions[i]`: only the shapes are enumerated (for long histories). */
  inOrder?: boolean;
  seed?: number;
}

/**
 * Every history of up to `maxEvents` tail events: each a sequence of actions,
 * each event in each shape (the first event's shape is always "tips": with no
 * tail before it, every shape is the same). Depth first, prefixes shared.
 */
export function* enumerateHistories(crypto: Crypto, o: EnumerateOptions): Generator<OrderHistory> {
  const root = quietly(() => orderWorld(crypto, o.seed ?? 1));
  const actions = o.actions ?? ACTION_NAMES;
  const shapes = o.shapes ?? SHAPES;
  function* grow(x: OrderHistory): Generator<OrderHistory> {
    for (const name of o.inOrder ? actions.slice(x.tail.length, x.tail.length + 1) : actions) {
      for (const shape of x.tail.length === 0 ? (["tips"] as const) : shapes) {
        const y = quietly(() => act(x, name, shape));
        if (!y) continue;
        if (y.tail.length >= (o.minEvents ?? 1)) yield y;
        if (y.tail.length < o.maxEvents) yield* grow(y);
      }
    }
  }
  yield* grow(root);
}

/** Every ordered partition of `xs`: every arrival order with every batching (Fubini numbers: 1, 3, 13, 75, 541, 4683). */
export function* arrivals<T>(xs: readonly T[]): Generator<T[][]> {
  if (xs.length === 0) {
    yield [];
    return;
  }
  const n = xs.length;
  // Each non-empty subset (as a bit mask) is the first batch; the rest is partitioned after it.
  for (let mask = 1; mask < 1 << n; mask++) {
    const first = xs.filter((_, i) => mask & (1 << i));
    const rest = xs.filter((_, i) => !(mask & (1 << i)));
    for (const tail of arrivals(rest)) yield [first, ...tail];
  }
}

export interface FoldSummary {
  hash: string;
  applied: string[];
  rejected: string[];
}

export function summary(f: Fold): FoldSummary {
  const applied: string[] = [];
  const rejected: string[] = [];
  for (const a of f.applied) (a.rejected === null ? applied : rejected).push(a.event.id);
  return { hash: f.hash(), applied: applied.sort(), rejected: rejected.sort() };
}

const same = (a: FoldSummary, b: FoldSummary) => a.hash === b.hash && a.applied.join() === b.applied.join() && a.rejected.join() === b.rejected.join();

export interface Divergence {
  history: string;
  /** The arrival order, as batches of tail indices. */
  arrival: string;
  want: FoldSummary;
  got: FoldSummary;
}

/**
 * Deliver `x` to one long-lived fold per arrival: the base one event at a
 * time (the fold is warm), then the tail in that arrival's batches; compare
 * with a fresh fold of the whole set. `limit` caps the arrivals tried.
 */
export function checkArrivals(crypto: Crypto, x: OrderHistory, limit = Infinity, inspect?: (f: Fold, arrival: string) => void): { arrivals: number; divergences: Divergence[] } {
  return quietly(() => {
    const want = summary(foldAll(crypto, [...x.base, ...x.tail]));
    const idx = new Map(x.tail.map((e, i) => [e.id, i]));
    const divergences: Divergence[] = [];
    let n = 0;
    for (const batches of arrivals(x.tail)) {
      if (n >= limit) break;
      n++;
      const f = new Fold({ crypto });
      for (const e of x.base) f.add([e]);
      for (const b of batches) f.add(b);
      const got = summary(f);
      const arrival = batches.map((b) => `[${b.map((e) => idx.get(e.id)).join(",")}]`).join("");
      inspect?.(f, arrival);
      if (!same(got, want)) divergences.push({ history: x.steps.join(" | "), arrival, want, got });
    }
    return { arrivals: n, divergences };
  });
}

export interface OrderReport {
  histories: number;
  /** Arrival orders checked, summed over histories (each a fold fed in batches). */
  orders: number;
  byLength: Record<number, { histories: number; orders: number }>;
  divergences: Divergence[];
  seconds: number;
}

/** Enumerate and check; keeps at most `keep` divergences (their count is in `divergent`). */
export function runOrderCheck(crypto: Crypto, o: EnumerateOptions & { arrivalsPerHistory?: number; keep?: number; onProgress?: (r: OrderReport & { divergent: number }) => void }): OrderReport & { divergent: number } {
  const t0 = performance.now();
  const r = { histories: 0, orders: 0, byLength: {} as OrderReport["byLength"], divergences: [] as Divergence[], seconds: 0, divergent: 0 };
  for (const x of enumerateHistories(crypto, o)) {
    const c = checkArrivals(crypto, x, o.arrivalsPerHistory);
    r.histories++;
    r.orders += c.arrivals;
    const l = (r.byLength[x.tail.length] ??= { histories: 0, orders: 0 });
    l.histories++;
    l.orders += c.arrivals;
    if (c.divergences.length > 0) r.divergent++;
    for (const d of c.divergences) if (r.divergences.length < (o.keep ?? 20)) r.divergences.push(d);
    if (o.onProgress && r.histories % 500 === 0) o.onProgress({ ...r, seconds: (performance.now() - t0) / 1000 });
  }
  r.seconds = (performance.now() - t0) / 1000;
  return r;
}
