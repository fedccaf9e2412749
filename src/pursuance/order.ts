// The one total order every client agrees on: a topological order of the
// causal DAG (an event after everything it cites, and after every event the
// authority rules put before it), ties broken by the smaller event id. It
// depends only on the set of events and those extra edges, never on arrival
// order. Ids decide only between events that the authority rules leave
// unordered (see docs/protocol.md, "Authority under concurrency").
import type { PEvent } from "./apply-common.js";

/**
 * Binary min-heap of event indices, ordered by their ids (string compare):
 * indices, not ids, so a 100k-event order allocates a few typed arrays
 * instead of maps keyed by 64-character strings.
 */
class IndexHeap {
  private readonly a: Int32Array;
  private n = 0;
  constructor(private readonly ids: readonly string[]) {
    this.a = new Int32Array(Math.max(1, ids.length));
  }
  get size() {
    return this.n;
  }
  push(x: number) {
    const a = this.a;
    const ids = this.ids;
    const key = ids[x]!;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (ids[a[p]!]! <= key) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = x;
  }
  pop(): number {
    const a = this.a;
    const ids = this.ids;
    const top = a[0]!;
    const last = a[--this.n]!;
    const n = this.n;
    if (n > 0) {
      const key = ids[last]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let mv = key;
        if (l < n && ids[a[l]!]! < mv) (m = l), (mv = ids[a[l]!]!);
        if (r < n && ids[a[r]!]! < mv) (m = r), (mv = ids[a[r]!]!);
        if (m === i) break;
        a[i] = a[m]!;
        i = m;
      }
      a[i] = last;
    }
    return top;
  }
}

export interface Ordered {
  order: PEvent[];
  /** Events citing something absent from the set (directly or through an ancestor). */
  orphans: PEvent[];
  /** Events on a cycle of the extra edges (never real citations): empty unless the edges conflict. */
  cyclic: PEvent[];
}

/**
 * Extra "must come after" edges: child id → ids that must precede it. They
 * never name an absent event, so they cannot orphan anything; a set of them
 * that closes a cycle leaves the events on it in `cyclic` for the caller to
 * resolve.
 */
export type ExtraEdges = ReadonlyMap<string, readonly string[]>;

export function causalOrder(events: Iterable<PEvent>, extra?: ExtraEdges): Ordered {
  const evs: PEvent[] = [];
  const index = new Map<string, number>();
  for (const e of events) {
    const i = index.get(e.id);
    if (i === undefined) index.set(e.id, evs.push(e) - 1);
    else evs[i] = e; // one id, one event: the last copy stands, in the first one's place
  }
  const n = evs.length;
  const ids = evs.map((e) => e.id);
  // Missing real parents count towards the indegree (they never arrive: an orphan); extra ones are skipped if absent.
  // Present predecessors go into one flat array (CSR), each event's run starting at start[i].
  const indegree = new Int32Array(n);
  const start = new Int32Array(n + 1);
  const orphanish: string[] = [];
  let preds = new Int32Array(Math.max(16, n * 3));
  let m = 0;
  const pushPred = (p: number) => {
    if (m === preds.length) {
      const grown = new Int32Array(preds.length * 2);
      grown.set(preds);
      preds = grown;
    }
    preds[m++] = p;
  };
  for (let i = 0; i < n; i++) {
    start[i] = m;
    const e = evs[i]!;
    const ps = e.parents;
    // A parent named twice counts once (the wire allows 65 parents; a set only for longer lists, which only a caller makes).
    const seen = ps.length > 16 ? new Set<string>() : null;
    let d = 0;
    let missing = false;
    for (let k = 0; k < ps.length; k++) {
      const p = ps[k]!;
      if (seen) {
        if (seen.has(p)) continue;
        seen.add(p);
      } else if (ps.indexOf(p) !== k) continue;
      d++;
      const pi = index.get(p);
      if (pi === undefined) missing = true;
      else pushPred(pi);
    }
    const more = extra?.get(e.id);
    if (more) {
      const taken = more.length > 16 || ps.length > 16 ? new Set<string>(ps) : null;
      for (let k = 0; k < more.length; k++) {
        const p = more[k]!;
        const pi = index.get(p);
        if (pi === undefined) continue;
        if (taken) {
          if (taken.has(p)) continue;
          taken.add(p);
        } else if (ps.includes(p) || more.indexOf(p) !== k) continue;
        d++;
        pushPred(pi);
      }
    }
    if (missing) orphanish.push(e.id);
    indegree[i] = d;
  }
  start[n] = m;
  // Children of each event, inverted from the predecessor runs.
  const childStart = new Int32Array(n + 1);
  for (let k = 0; k < m; k++) childStart[preds[k]! + 1]!++;
  for (let i = 0; i < n; i++) childStart[i + 1]! += childStart[i]!;
  const children = new Int32Array(m);
  const fill = childStart.slice(0, n);
  for (let i = 0; i < n; i++) for (let k = start[i]!; k < start[i + 1]!; k++) children[fill[preds[k]!]!++] = i;
  const heap = new IndexHeap(ids);
  for (let i = 0; i < n; i++) if (indegree[i] === 0) heap.push(i);
  const order: PEvent[] = [];
  while (heap.size > 0) {
    const i = heap.pop();
    order.push(evs[i]!);
    for (let k = childStart[i]!; k < childStart[i + 1]!; k++) {
      const c = children[k]!;
      if (--indegree[c]! === 0) heap.push(c);
    }
  }
  if (order.length === n) return { order, orphans: [], cyclic: [] };
  const left = evs.filter((_, i) => indegree[i]! > 0).sort((a, b) => (a.id < b.id ? -1 : 1));
  if (!extra || extra.size === 0) return { order, orphans: left, cyclic: [] };
  // Orphans: what descends (by real citations) from a missing parent. The rest is stuck on an extra-edge cycle.
  const orphan = new Set<string>();
  const realChildren = new Map<string, string[]>();
  for (const e of left) for (const p of e.parents) {
    let c = realChildren.get(p);
    if (!c) realChildren.set(p, (c = []));
    c.push(e.id);
  }
  const stack = [...orphanish];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (orphan.has(id)) continue;
    orphan.add(id);
    stack.push(...(realChildren.get(id) ?? []));
  }
  return { order, orphans: left.filter((e) => orphan.has(e.id)), cyclic: left.filter((e) => !orphan.has(e.id)) };
}
