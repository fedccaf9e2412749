// Two joins redeeming one invite, neither citing the other: a used token that
// leaked (or a recruiter's kept seed) lets a second holder sign a join citing
// only the invite, and any member can post it. Fold order alone would let the
// lower id win and turn the first member's join into "already used". Instead
// the join the pursuance accepted wins: the one other members built on. See
// docs/protocol.md, "Invites carry no keys".
import type { PEvent } from "./apply-common.js";
import type { Hex } from "./events.js";

/** How well a join was accepted, judged in a fold where it has no rival. */
export interface Acceptance {
  /** Whether a witness's author could have made the invite itself as it acted (its inviter, or a member who may invite that role). */
  vouched: boolean;
  /** Highest rank among the authors of applied witnesses as they acted (before or after the event); -Infinity when none. */
  rank: number;
  /** Distinct authors of applied witnesses. */
  authors: number;
}

/**
 * Fold the event set without the given events (and so without what descends
 * from them) and tell, for each event, whether it applied and its author's
 * rank when it did. The fold passes a fold that does not judge contests itself.
 */
export type FoldWithout = (
  excluded: ReadonlySet<Hex>,
  invite: Hex,
) => { rankIfApplied(id: Hex): number | null; vouches(id: Hex): boolean };

/** The contest's outcome: ordering edges, and the joins admitted although their invite was used first by another. */
export interface Contest {
  edges: Map<Hex, Hex[]>;
  vouched: Set<Hex>;
}

/**
 * Extra edges (event → events it must follow) putting the accepted join of
 * each contested invite before its rivals, which then fold as reuses.
 *
 * A witness of join J: an event by another author that descends from J and
 * from no rival join. Each witnessed candidate is folded with its rivals left
 * out; its witnesses that apply there are the members who accepted it (a
 * member who joined through J counts: its membership is J's).
 *
 * A candidate one of whose witnesses could have made the invite itself (its
 * inviter, or a member who may invite that role, as it acted) is vouched for:
 * every vouched candidate is admitted, the invite counting as used once for
 * each. The inviter holds the invite's seed and can sign a rival whenever it
 * likes; had the contest a single winner, an inviter who re-signed its own
 * history to build on that rival (with puppets to outnumber) would un-member
 * the person it admitted, and all their work with them. Admitting the rival
 * too gives the voucher nothing it could not do with a fresh invite. A vouch
 * counts only from a witness the whole fold applied in its previous pass (the
 * fold judges again each round until nothing moves): in a judging fold,
 * contests are not judged, so a second leaked token's rival join could make
 * its stranger an admin there and vouch for the first stranger, and a removal
 * can land after the witness of the member it removes (round 3 of the attacks).
 *
 * When no candidate is vouched for, one wins. The candidate
 * whose witnesses include the highest-ranked author wins, then the one with
 * more distinct witnessing authors: a seedling puppet posting the rival's
 * bytes cannot outweigh the members who built on the first join for weeks,
 * and every honest event since descends from that join, so it witnesses no
 * rival. Only a tie on both falls back to the lower id. When no candidate is
 * witnessed the ordinary order stands (two strangers racing one token before
 * any member carried either).
 */
export function judgeContests(
  events: ReadonlyMap<Hex, PEvent>,
  joinsOf: ReadonlyMap<Hex, readonly PEvent[]>,
  foldWithout: FoldWithout,
  applied: ((id: Hex) => boolean) | null,
): Contest {
  const out = new Map<Hex, Hex[]>();
  const vouched = new Set<Hex>();
  let children: Map<Hex, Hex[]> | null = null;
  const descendants = (id: Hex): Set<Hex> => {
    if (!children) {
      children = new Map();
      for (const e of events.values()) for (const p of e.parents) push(children, p, e.id);
    }
    const seen = new Set<Hex>();
    const stack = [id];
    while (stack.length > 0) {
      const x = stack.pop()!;
      if (seen.has(x)) continue;
      seen.add(x);
      for (const c of children.get(x) ?? []) stack.push(c);
    }
    return seen;
  };
  for (const invite of [...joinsOf.keys()].sort()) {
    const joins = joinsOf.get(invite)!;
    if (joins.length < 2) continue;
    const below = new Map(joins.map((j) => [j.id, descendants(j.id)]));
    // A join descending from another join of the same invite already follows it: not a rival.
    const candidates = joins.filter((j) => !joins.some((o) => o.id !== j.id && below.get(o.id)!.has(j.id)));
    if (candidates.length < 2) continue;
    const scored: { j: PEvent; a: Acceptance }[] = [];
    for (const j of candidates) {
      const rivals = candidates.filter((o) => o.id !== j.id);
      const witnesses = [...below.get(j.id)!].filter((id) => {
        const w = events.get(id)!;
        return w.author !== j.author && !rivals.some((o) => below.get(o.id)!.has(id));
      });
      if (witnesses.length === 0) continue;
      const f = foldWithout(new Set(rivals.map((o) => o.id)), invite);
      const a: Acceptance = { vouched: false, rank: -Infinity, authors: 0 };
      const authors = new Set<Hex>();
      for (const id of witnesses) {
        const r = f.rankIfApplied(id);
        if (r === null) continue;
        authors.add(events.get(id)!.author);
        a.rank = Math.max(a.rank, r);
        if (f.vouches(id) && applied?.(id) === true) a.vouched = true;
      }
      a.authors = authors.size;
      if (a.authors > 0) scored.push({ j, a });
    }
    if (scored.length === 0) continue;
    const admitted = scored.filter((x) => x.a.vouched).map((x) => x.j.id);
    if (admitted.length > 0) {
      for (const id of admitted) vouched.add(id);
      // The rest fold after every admitted join, as reuses.
      for (const o of candidates) if (!admitted.includes(o.id)) for (const id of admitted) push(out, o.id, id);
      continue;
    }
    scored.sort((x, y) => y.a.rank - x.a.rank || y.a.authors - x.a.authors || (x.j.id < y.j.id ? -1 : 1));
    const winner = scored[0]!.j;
    for (const o of candidates) if (o.id !== winner.id) push(out, o.id, winner.id);
  }
  return { edges: out, vouched };
}

/** Edges from both maps, without duplicates. */
export function mergeEdges(a: ReadonlyMap<Hex, readonly Hex[]>, b: ReadonlyMap<Hex, readonly Hex[]>): Map<Hex, Hex[]> {
  const out = new Map<Hex, Hex[]>();
  for (const m of [a, b]) for (const [k, v] of m) for (const x of v) if (!out.get(k)?.includes(x)) push(out, k, x);
  return out;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}
