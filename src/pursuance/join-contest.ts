// Two joins redeeming one invite, neither citing the other: a used token that
// leaked (or a recruiter's kept seed) lets a second holder sign a join citing
// only the invite, and any member can post it. Fold order alone would let the
// lower id win and turn the first member's join into "already used". Instead
// the joins the pursuance confirmed win. See docs/protocol.md, "Invites carry
// no keys".
//
// Why confirmation by body and standing in a base fold, after four rounds of
// attacks on witnesses by descent (rank and count of the members who built on
// each join, judged in folds without the rivals): every client cites every
// author's latest event, refused ones too, so descent shows nothing once both
// joins are known; and a fold that leaves the rivals out judges other contests
// by id, so a second leaked token made its stranger an admin there, puppets
// won on count, removals vanished with the join they followed, and re-judging
// round by round did not settle. A confirmation names the joiner (the
// inviter's welcome key share, a grant), which a client writes only for a
// member its own fold holds; and whether its author could have made the
// invite is read in one base fold where EVERY contested join is refused, so no
// stranger admitted by a leaked token stands there, and a removal concurrent
// with the confirmation comes first.
import type { PEvent } from "./apply-common.js";
import type { Hex } from "./events.js";

/** The base fold's answer: could the author of `event` have made `invite`, just before `event`, with every contested join refused? */
export type Standing = (event: Hex, invite: Hex) => boolean;

/** The contest's outcome: ordering edges, and the joins admitted although their invite was used first by another. */
export interface Contest {
  edges: Map<Hex, Hex[]>;
  vouched: Set<Hex>;
}

/** The member an event's body names as one its author holds to be a member (a key share or a grant to it). */
export function namedMember(e: PEvent): Hex | null {
  const b = e.body;
  if (b?.t === "keys.share") return b.to;
  if (b?.t === "role.grant") return b.member;
  return null;
}

/** The contested invites: each with its candidate joins (two or more, none descending from another). */
export function contested(events: ReadonlyMap<Hex, PEvent>, joinsOf: ReadonlyMap<Hex, readonly PEvent[]>): Map<Hex, { joins: PEvent[]; below: Map<Hex, Set<Hex>> }> {
  const out = new Map<Hex, { joins: PEvent[]; below: Map<Hex, Set<Hex>> }>();
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
    seen.delete(id);
    return seen;
  };
  for (const invite of [...joinsOf.keys()].sort()) {
    const joins = joinsOf.get(invite)!;
    if (joins.length < 2) continue;
    const below = new Map(joins.map((j) => [j.id, descendants(j.id)]));
    // A join descending from another join of the same invite already follows it: not a rival.
    const candidates = joins.filter((j) => !joins.some((o) => o.id !== j.id && below.get(o.id)!.has(j.id)));
    if (candidates.length >= 2) out.set(invite, { joins: candidates, below });
  }
  return out;
}

/**
 * Every candidate confirmed is admitted (the invite counts as used once for
 * each); the others fold after them, as reuses. A confirmation of join J: an
 * event descending from J, by another author, whose body names J's joiner,
 * and whose author could have made the invite as the base fold has it. An
 * inviter who confirms a rival it signed with its kept seed gains nothing a
 * fresh invite would not give it; the member it admitted first stays. With no
 * candidate confirmed, the ordinary order stands (two strangers racing one
 * token before any member welcomed either).
 */
export function judgeContests(events: ReadonlyMap<Hex, PEvent>, contests: ReturnType<typeof contested>, standing: Standing): Contest {
  const out = new Map<Hex, Hex[]>();
  const vouched = new Set<Hex>();
  for (const [invite, { joins, below }] of contests) {
    const confirmed = joins.filter((j) =>
      [...below.get(j.id)!].some((id) => {
        const e = events.get(id)!;
        return e.author !== j.author && namedMember(e) === j.author && standing(id, invite);
      }),
    );
    if (confirmed.length === 0) continue;
    for (const j of confirmed) vouched.add(j.id);
    for (const o of joins) if (!vouched.has(o.id)) for (const j of confirmed) push(out, o.id, j.id);
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
