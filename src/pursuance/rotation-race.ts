// Concurrent rotations of one key (the same scope, from the same key): the
// higher-ranked rotator's goes first in the fold order, so the lower one is
// stale in every order, whatever ids or deps its author ground. Equal ranks
// are left to the ids: both seal the new key to every entitled member, so
// which stands changes nothing anyone wants (docs/protocol.md).
import type { PEvent } from "./apply-common.js";
import type { Hex } from "./events.js";
import type { ExtraEdges } from "./order.js";

/**
 * `edges` plus "after" edges between concurrent rotations of one key, higher
 * rank first. `ranks` holds each rotation's author rank as the last fold pass
 * found it (the rank at the time). An edge that would close a cycle with the
 * citations and edges already there is left out.
 */
export function withRotationEdges(edges: Map<Hex, Hex[]>, events: ReadonlyMap<Hex, PEvent>, ranks: ReadonlyMap<Hex, number>): Map<Hex, Hex[]> {
  const groups = new Map<string, PEvent[]>();
  for (const id of ranks.keys()) {
    const e = events.get(id);
    const b = e?.body;
    if (!e || b?.t !== "keys.rotate") continue;
    const k = `${b.scope} ${b.from}`;
    const g = groups.get(k);
    if (g) g.push(e);
    else groups.set(k, [e]);
  }
  const rank = (e: PEvent) => ranks.get(e.id) ?? -Infinity;
  for (const k of [...groups.keys()].sort()) {
    const g = groups.get(k)!;
    if (g.length < 2) continue;
    g.sort((a, b) => rank(b) - rank(a) || (a.id < b.id ? -1 : 1));
    for (let i = 0; i < g.length; i++) {
      for (let j = i + 1; j < g.length; j++) {
        const hi = g[i]!;
        const lo = g[j]!;
        if (rank(hi) <= rank(lo)) continue;
        // Already ordered one way or the other (a citation, or an edge): nothing to add, and no cycle.
        if (precedes(hi.id, lo.id, events, edges) || precedes(lo.id, hi.id, events, edges)) continue;
        const l = edges.get(lo.id);
        if (l) l.push(hi.id);
        else edges.set(lo.id, [hi.id]);
      }
    }
  }
  return edges;
}

/** Whether `a` must come before `b`: `a` is among what `b` cites or is put after, transitively. */
export function precedes(a: Hex, b: Hex, events: ReadonlyMap<Hex, PEvent>, edges: ExtraEdges): boolean {
  const seen = new Set<Hex>();
  const stack = [b];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id === a) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const p of events.get(id)?.parents ?? []) stack.push(p);
    for (const p of edges.get(id) ?? []) stack.push(p);
  }
  return false;
}
