// A join in a role chain needs a witness: proof that the pursuance took THAT
// join. A join is signed by the joiner with the invite's secret, so anyone who
// holds a used invite token (a chat log, a screenshot) can sign a second join
// for a key of its own; the fold refuses it as a reuse, but a copy never shows
// the first join, so the bare [invite, join] pair proves nothing. A witness is
// an event by someone already a member before the join, who could have made
// that invite (its inviter, or a member ranked at or above the invited role),
// that descends from the join: that member saw it and went on. The events
// linking the join to the witness travel in the chain as links (any kind,
// never applied: only their citations count).
//
// Why "before the join" and that rank: a witness admitted later could be one of
// the attacker's own forged joins (two strangers witnessing each other), and a
// seedling the attacker controls could witness an admin's join if any member
// would do. Neither can happen when every witness was a member before the join
// it witnesses, joined (and was witnessed) in turn by the same rule, back to the
// founder.
import type { PEvent } from "./apply-common.js";
import type { AppliedEvent } from "./fold.js";
import { roleDef } from "./rules.js";
import { rankOf, type PursuanceState } from "./state.js";

/** Who may witness one join, fixed when the replay applies it. */
export interface JoinWitnesses {
  index: number;
  join: PEvent;
  may: Set<string>;
}

/** The members who may witness `join` (just before it is applied), by the rule above. */
export function witnessesFor(s: PursuanceState, join: PEvent, inviter: string, role: string, index: number): JoinWitnesses {
  const rank = roleDef(s.rules, role)?.rank ?? Infinity;
  const may = new Set<string>([inviter]);
  for (const m of s.members.keys()) if (rankOf(s, m) >= rank) may.add(m);
  may.delete(join.author);
  return { index, join, may };
}

/**
 * Which chain events descend from chain event `from` (its index), by the
 * citations among chain events (a chain event cites only earlier ones).
 */
export function descendants(events: readonly PEvent[], from: number): Set<number> {
  const ids = new Map<string, number>();
  const out = new Set<number>([from]);
  for (const [i, e] of events.entries()) {
    ids.set(e.id, i);
    if (i > from && e.parents.some((p) => out.has(ids.get(p) ?? -1))) out.add(i);
  }
  out.delete(from);
  return out;
}

/** The reason the first join without a witness has none, or null when each has one. */
export function missingWitness(events: readonly PEvent[], joins: readonly JoinWitnesses[]): string | null {
  for (const j of joins) {
    const after = descendants(events, j.index);
    if (![...after].some((k) => j.may.has(events[k]!.author))) {
      return `chain event ${j.index + 1} (the join of ${j.join.author.slice(0, 12)}) has no witness: no event by its inviter or a member ranked at or above its role, already a member, descends from it in the chain, so nothing shows the pursuance took that join rather than an earlier one with the same invite`;
    }
  }
  return null;
}

/** Chain events that are links, not givers, must each descend from a join in the chain (else they show nothing). */
export function strayLink(events: readonly PEvent[], isLink: (e: PEvent) => boolean, joins: readonly JoinWitnesses[]): number | null {
  const reached = new Set<number>();
  for (const j of joins) for (const k of descendants(events, j.index)) reached.add(k);
  const i = events.findIndex((e, k) => isLink(e) && !reached.has(k));
  return i < 0 ? null : i;
}

/** Most links one witness path may take (a chain holds at most MAX_CHAIN events in all). */
const MAX_PATH = 32;

/**
 * For the builder: the shortest run of accepted events from `joinId` to an
 * event by `witness`, avoiding the announcement and whatever cites it, in fold
 * order (the join excluded); null when none within MAX_PATH. The run passes
 * only through events the replay does not apply (a join on it would need a
 * witness of its own, a grant its granter's chain), and invites by the joiner
 * or the witness, which the replay applies (both are members by then) and
 * which change no member.
 */
export function witnessPath(applied: readonly AppliedEvent[], joinId: string, witness: string, target: string | undefined, gives: ReadonlySet<string>, joiner: string): string[] | null {
  const children = new Map<string, string[]>();
  const author = new Map<string, string>();
  const order = new Map<string, number>();
  for (const [i, a] of applied.entries()) {
    if (a.rejected !== null) continue;
    const e = a.event;
    if (e.id === target || (target !== undefined && e.parents.includes(target))) continue;
    const t = e.body?.t ?? "malformed";
    if (gives.has(t) && !(t === "invite" && (e.author === witness || e.author === joiner))) continue;
    author.set(e.id, e.author);
    order.set(e.id, i);
    for (const p of e.parents) (children.get(p) ?? children.set(p, []).get(p)!).push(e.id);
  }
  const prev = new Map<string, string>();
  let layer = [joinId];
  for (let depth = 0; depth < MAX_PATH && layer.length > 0; depth++) {
    const next: string[] = [];
    for (const id of layer) {
      for (const c of children.get(id) ?? []) {
        if (prev.has(c) || c === joinId || !author.has(c)) continue;
        prev.set(c, id);
        if (author.get(c) === witness) {
          const path: string[] = [];
          for (let at: string = c; at !== joinId; at = prev.get(at)!) path.push(at);
          return path.sort((x, y) => order.get(x)! - order.get(y)!);
        }
        next.push(c);
      }
    }
    layer = next;
  }
  return null;
}
