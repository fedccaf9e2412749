// The one total order every client agrees on: a topological order of the
// causal DAG (an event after everything it cites, and after every event the
// authority rules put before it), ties broken by the smaller event id. It
// depends only on the set of events and those extra edges, never on arrival
// order. Ids decide only between events that the authority rules leave
// unordered (see docs/protocol.md, "Authority under concurrency").
import type { PEvent } from "./apply-common.js";

/** Binary min-heap of ids (string compare). */
class IdHeap {
  private a: string[] = [];
  get size() {
    return this.a.length;
  }
  push(x: string) {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= x) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = x;
  }
  pop(): string {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let mv = last;
        if (l < a.length && a[l]! < mv) (m = l), (mv = a[l]!);
        if (r < a.length && a[r]! < mv) (m = r), (mv = a[r]!);
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
  const byId = new Map<string, PEvent>();
  for (const e of events) byId.set(e.id, e);
  const indegree = new Map<string, number>();
  const children = new Map<string, string[]>();
  const heap = new IdHeap();
  const link = (p: string, id: string) => {
    let c = children.get(p);
    if (!c) children.set(p, (c = []));
    c.push(id);
  };
  // Missing real parents count towards the indegree (they never arrive: an orphan); extra ones are skipped if absent.
  const orphanish = new Set<string>();
  for (const e of byId.values()) {
    let n = 0;
    const ps = new Set(e.parents);
    for (const p of ps) {
      n++;
      link(p, e.id);
      if (!byId.has(p)) orphanish.add(e.id);
    }
    for (const p of extra?.get(e.id) ?? []) {
      if (ps.has(p) || !byId.has(p)) continue;
      ps.add(p);
      n++;
      link(p, e.id);
    }
    indegree.set(e.id, n);
    if (n === 0) heap.push(e.id);
  }
  const order: PEvent[] = [];
  while (heap.size > 0) {
    const id = heap.pop();
    order.push(byId.get(id)!);
    for (const c of children.get(id) ?? []) {
      const n = indegree.get(c)! - 1;
      indegree.set(c, n);
      if (n === 0) heap.push(c);
    }
  }
  if (order.length === byId.size) return { order, orphans: [], cyclic: [] };
  const left = [...byId.values()].filter((e) => indegree.get(e.id)! > 0).sort((a, b) => (a.id < b.id ? -1 : 1));
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
