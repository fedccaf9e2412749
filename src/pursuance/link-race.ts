// Concurrent events that decide a link (docs/protocol.md, "Links (built)"):
// which hello names the peer, which speaker change stands, and whether a
// carried event was attested by the speaker of the time. Left to the ids,
// whoever grinds the lowest id and cites old heads would go first (a token
// holder's second hello, a turned speaker's handover, a removed speaker's
// backdated attestation). So the order among them is fixed by what the
// carrier cannot choose: causality first, then, between concurrent ones,
// a confirmation before any handover, handovers by their number, the higher
// carrier rank first; and every carried event goes after each concurrent
// hello or speaker change of its link, so it is judged by the speaker that
// change names.
import type { PEvent } from "./apply-common.js";
import type { Hex } from "./events.js";
import { precedes } from "./rotation-race.js";

/** The link a deciding or carried event belongs to, or null. */
function linkEvent(e: PEvent): { link: Hex; decides: boolean } | null {
  const b = e.body;
  if (b?.t === "link.peer" || b?.t === "link.speaker") return { link: b.link, decides: true };
  if (b?.t === "link.receive") return { link: b.link, decides: false };
  return null;
}

/**
 * `edges` plus "after" edges among concurrent events of one link. `ranks`
 * holds each event's carrier rank as the last fold pass found it (the rank at
 * the time). An edge that would close a cycle with the citations and edges
 * already there is left out; edges are added in one fixed order, so every
 * client leaves out the same ones.
 */
export function withLinkEdges(edges: Map<Hex, Hex[]>, events: ReadonlyMap<Hex, PEvent>, ranks: ReadonlyMap<Hex, number>): Map<Hex, Hex[]> {
  const groups = new Map<Hex, { deciders: PEvent[]; carried: PEvent[] }>();
  for (const e of events.values()) {
    const k = linkEvent(e);
    if (!k) continue;
    let g = groups.get(k.link);
    if (!g) groups.set(k.link, (g = { deciders: [], carried: [] }));
    (k.decides ? g.deciders : g.carried).push(e);
  }
  const rank = (e: PEvent) => ranks.get(e.id) ?? -Infinity;
  const handover = (e: PEvent) => (e.body?.t === "link.speaker" && e.body.handover !== undefined ? 1 : 0);
  const seq = (e: PEvent) => (e.body?.t === "link.speaker" ? e.body.seq : 0);
  const after = (lo: PEvent, hi: PEvent) => {
    if (precedes(hi.id, lo.id, events, edges) || precedes(lo.id, hi.id, events, edges)) return;
    const l = edges.get(lo.id);
    if (l) l.push(hi.id);
    else edges.set(lo.id, [hi.id]);
  };
  for (const link of [...groups.keys()].sort()) {
    const g = groups.get(link)!;
    if (g.deciders.length === 0) continue;
    g.deciders.sort((a, b) => handover(a) - handover(b) || seq(a) - seq(b) || rank(b) - rank(a) || (a.id < b.id ? -1 : 1));
    for (let i = 0; i < g.deciders.length; i++) for (let j = i + 1; j < g.deciders.length; j++) after(g.deciders[j]!, g.deciders[i]!);
    g.carried.sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const d of g.deciders) for (const c of g.carried) after(c, d);
  }
  return edges;
}
