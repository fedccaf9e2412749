// Equivocation: two different events with one author and one seq. The
// equivocator is cut off from the fork on, except for what other members built
// on before the fork was visible; at each forked seq the variant that the
// highest-ranked other member built on is kept. See docs/protocol.md,
// "Authority under concurrency".
import type { PEvent } from "./apply-common.js";
import type { Hex } from "./events.js";

/**
 * Which of the equivocators' events (at or past their fork) may still be
 * folded. `rankAfter` is each applied event's author rank right after it, from
 * the previous round. Without it (the first round) every variant is folded, so
 * that the members who built on them have the ranks to witness in the next.
 */
export function forkAllowed(
  events: ReadonlyMap<Hex, PEvent>,
  byAuthor: ReadonlyMap<Hex, readonly PEvent[]>,
  forks: ReadonlyMap<Hex, number>,
  rankAfter: ReadonlyMap<Hex, number> | null,
): Set<Hex> {
  const allowed = new Set<Hex>();
  if (forks.size === 0) return allowed;
  if (rankAfter === null) {
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
  const descendants = (id: Hex) => closure([id], (x) => children.get(x) ?? []);

  for (const [a, fork] of [...forks].sort(([x], [y]) => (x < y ? -1 : 1))) {
    const mine = (byAuthor.get(a) ?? []).filter((e) => e.seq >= fork);
    const bySeq = new Map<number, PEvent[]>();
    for (const e of mine) bySeq.set(e.seq, [...(bySeq.get(e.seq) ?? []), e]);
    const banned = new Set<Hex>();
    let cut = Infinity;
    for (const seq of [...bySeq.keys()].sort((x, y) => x - y)) {
      const alive = bySeq.get(seq)!.filter((v) => !banned.has(v.id));
      if (alive.length <= 1) continue;
      const reach = alive.map((v) => descendants(v.id));
      // A witness built on one variant and on no other: it saw this one before the fork was visible.
      const scores = alive.map((v, i) => {
        let best = -Infinity;
        const atBest = new Set<Hex>();
        for (const w of reach[i]!) {
          const we = events.get(w);
          const r = rankAfter.get(w);
          if (!we || we.author === a || r === undefined || reach.some((o, j) => j !== i && o.has(w))) continue;
          if (r > best) {
            best = r;
            atBest.clear();
          }
          if (r === best) atBest.add(we.author);
        }
        return { v, best, count: atBest.size };
      });
      const ranked = scores.filter((x) => x.best > -Infinity).sort((x, y) => y.best - x.best || y.count - x.count || (x.v.id < y.v.id ? -1 : 1));
      const keep = ranked[0]?.v;
      if (!keep) {
        // Nobody built on any variant: everything from here on is cut off, and so is what descends from it.
        for (const v of alive) for (const d of descendants(v.id)) banned.add(d);
        cut = seq;
        break;
      }
      for (const v of alive) if (v !== keep) for (const d of descendants(v.id)) banned.add(d);
    }
    // What others built on before the fork was visible: ancestors of their applied events outside the banned zone.
    const witnesses = [...events.values()].filter((w) => w.author !== a && rankAfter.has(w.id) && !banned.has(w.id));
    const seen = closure(
      witnesses.flatMap((w) => w.parents),
      (id) => events.get(id)?.parents ?? [],
    );
    for (const e of mine) if (e.seq < cut && !banned.has(e.id) && seen.has(e.id)) allowed.add(e.id);
  }
  return allowed;
}
