// Concurrent carries of join requests: the higher-ranked carrier's goes first
// in the fold order, so at the pending limit a lower-ranked member's carry
// (a seedling's, backdated and id-ground) can never displace a carry by a
// higher-ranked member, nor undo the answer built on it. Equal ranks are
// left to the ids. See docs/protocol.md, "Join requests (built)".
import type { PEvent } from "./apply-common.js";
import type { Hex } from "./events.js";
import { causalOrder } from "./order.js";
import { precedes } from "./rotation-race.js";

/**
 * `edges` plus "after" edges between concurrent `request.pending` events of
 * different carrier rank, higher first. `ranks` holds each carry's carrier
 * rank as the last fold pass found it. An edge that would close a cycle with
 * the citations and edges already there is left out.
 */
export function withCarryEdges(edges: Map<Hex, Hex[]>, events: ReadonlyMap<Hex, PEvent>, ranks: ReadonlyMap<Hex, number>): Map<Hex, Hex[]> {
  const g: PEvent[] = [];
  for (const id of ranks.keys()) {
    const e = events.get(id);
    if (e?.body?.t === "request.pending") g.push(e);
  }
  if (g.length < 2) return edges;
  const rank = (e: PEvent) => ranks.get(e.id) ?? -Infinity;
  g.sort((a, b) => rank(b) - rank(a) || (a.id < b.id ? -1 : 1));
  const below = carriesBelow(g, events, edges);
  const bits = g.map((_, i) => 1n << BigInt(i));
  for (let i = 0; i < g.length; i++) {
    for (let j = i + 1; j < g.length; j++) {
      const hi = g[i]!;
      const lo = g[j]!;
      if (rank(hi) <= rank(lo)) continue;
      // Ordered before any edge was added here (the usual case, carries made one after another): nothing to add.
      if ((below.get(lo.id) ?? 0n) & bits[i]! || (below.get(hi.id) ?? 0n) & bits[j]!) continue;
      // Judged again with the edges added so far, so no edge closes a cycle.
      if (precedes(hi.id, lo.id, events, edges) || precedes(lo.id, hi.id, events, edges)) continue;
      const l = edges.get(lo.id);
      if (l) l.push(hi.id);
      else edges.set(lo.id, [hi.id]);
    }
  }
  return edges;
}

/** For each event, the carries (bits by their index in `g`) that must precede it, through citations and `edges`. */
function carriesBelow(g: readonly PEvent[], events: ReadonlyMap<Hex, PEvent>, edges: ReadonlyMap<Hex, Hex[]>): Map<Hex, bigint> {
  const own = new Map(g.map((e, i) => [e.id, 1n << BigInt(i)]));
  const below = new Map<Hex, bigint>();
  for (const e of causalOrder(events.values(), edges).order) {
    let m = 0n;
    for (const p of [...e.parents, ...(edges.get(e.id) ?? [])]) m |= (below.get(p) ?? 0n) | (own.get(p) ?? 0n);
    below.set(e.id, m);
  }
  return below;
}
