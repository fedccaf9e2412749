// Equivocation: two different events with one author and one seq. The
// equivocator is cut off from the fork on, except for what other members built
// on without having seen the fork: every variant someone built on that way is
// kept, so nothing the equivocator publishes later can cut off an honest
// member's work (no choice between variants for puppets to win on rank or
// count). Once two variants of a seq are kept, the equivocator's reductions
// from there on are rejected (fold.ts): a variant witnessed only by a puppet
// must not date a removal back. See docs/protocol.md, "Equivocation cuts the equivocator off, not
// the others".
import type { PEvent } from "./apply-common.js";
import type { Hex } from "./events.js";

/**
 * Which of the equivocators' events (at or past their fork) may still be
 * folded. `applied` holds the events applied in the previous round (the fold
 * passes its author-rank map; only membership is read). Without it (the first
 * round) every variant is folded, so that the members who built on them are
 * applied and can witness in the next.
 */
export function forkAllowed(
  events: ReadonlyMap<Hex, PEvent>,
  byAuthor: ReadonlyMap<Hex, readonly PEvent[]>,
  forks: ReadonlyMap<Hex, number>,
  applied: { has(id: Hex): boolean } | null,
): Set<Hex> {
  const allowed = new Set<Hex>();
  if (forks.size === 0) return allowed;
  if (applied === null) {
    for (const [a, fork] of forks) for (const e of byAuthor.get(a) ?? []) if (e.seq >= fork) allowed.add(e.id);
    return allowed;
  }
  const children = new Map<Hex, Hex[]>();
  for (const e of events.values()) for (const p of e.parents) {
    const c = children.get(p);
    if (c) c.push(e.id);
    else children.set(p, [e.id]);
  }
  const closure = (from: Iterable<Hex>, next: (id: Hex) => Iterable<Hex>): Set<Hex> => {
    const seen = new Set<Hex>();
    const stack = [...from];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      for (const n of next(id)) stack.push(n);
    }
    return seen;
  };

  for (const [a, fork] of forks) {
    const mine = (byAuthor.get(a) ?? []).filter((e) => e.seq >= fork);
    const bySeq = new Map<number, PEvent[]>();
    for (const e of mine) bySeq.set(e.seq, [...(bySeq.get(e.seq) ?? []), e]);
    // An event that descends from two variants of one seq was written after the fork was visible:
    // it vouches for neither (honest clients cite every head, the equivocator's junk included).
    const sawFork = new Set<Hex>();
    for (const variants of bySeq.values()) {
      if (variants.length < 2) continue;
      const reached = new Set<Hex>();
      for (const v of variants) {
        for (const d of closure([v.id], (x) => children.get(x) ?? [])) {
          if (reached.has(d)) sawFork.add(d);
          else reached.add(d);
        }
      }
    }
    // A witness: another author's applied event that saw at most one variant of each forked seq.
    // Every variant (and continuation) some witness built on stays, whoever the witness is, so that
    // no later variant, however highly or widely witnessed, can cut off what others built on.
    const witnesses = [...events.values()].filter((w) => w.author !== a && applied.has(w.id) && !sawFork.has(w.id));
    const vouched = closure(
      witnesses.flatMap((w) => w.parents),
      (id) => events.get(id)?.parents ?? [],
    );
    for (const e of mine) if (vouched.has(e.id)) allowed.add(e.id);
  }
  return allowed;
}
