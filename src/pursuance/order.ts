// The one total order every client agrees on: a topological order of the
// causal DAG (an event after everything it cites), ties broken by the smaller
// event id. It depends only on the set of events, never on arrival order.
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
}

export function causalOrder(events: Iterable<PEvent>): Ordered {
  const byId = new Map<string, PEvent>();
  for (const e of events) byId.set(e.id, e);
  const indegree = new Map<string, number>();
  const children = new Map<string, string[]>();
  const heap = new IdHeap();
  for (const e of byId.values()) {
    let n = 0;
    for (const p of new Set(e.parents)) {
      n++;
      let c = children.get(p);
      if (!c) children.set(p, (c = []));
      c.push(e.id);
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
  const orphans = order.length === byId.size ? [] : [...byId.values()].filter((e) => indegree.get(e.id)! > 0).sort((a, b) => (a.id < b.id ? -1 : 1));
  return { order, orphans };
}
