// Supersession: a valid event that reduces someone's authority is folded
// before every act of theirs it does not causally descend from, so those acts
// are checked against the reduced authority whatever id, ts or deps their
// author chose. See docs/protocol.md, "Authority under concurrency".
import type { PEvent } from "./apply-common.js";
import type { Hex } from "./events.js";
import type { ExtraEdges } from "./order.js";
import { mayRevokeInvite } from "./apply-membership.js";
import { rankOf, type PursuanceState } from "./state.js";
import { roleDef } from "./rules.js";

/** A reduction the fold found valid, and what it reduces. */
export interface Reduction {
  id: Hex;
  /** The author's rank when the reduction was first found valid: higher ranks are resolved first. */
  rank: number;
  /** Members whose power it reduces: their concurrent events, and joins through their invites, go after it. */
  targets: Hex[];
  /** Invite keys it voids directly (an invite revocation). */
  invites: Hex[];
  /**
   * A role.amend/role.delete: the role. Every grant of it, invite to it and
   * join through such an invite that the reduction does not descend from goes
   * after it, so who holds the role when it is folded never depends on ids.
   */
  role?: string;
  /**
   * It closes the request door (a close, a reopen that retires the old
   * address, a drop, or taking member.invite from a holder of the answer
   * key): every `request.pending` it does not descend from goes after it, so
   * a carry backdated past it is judged against the door it left.
   */
  requests?: boolean;
}

const REDUCING = new Set(["remove", "role.revoke", "role.delete", "role.amend", "leader.transfer", "invite.revoke", "requests.set", "request.drop"]);

/** Whether reducing `targets` may take member.invite from a holder of the open address's answer key (so retire it). */
function retires(s: PursuanceState, targets: Hex[]): boolean {
  const p = s.requestPolicy;
  return !!p?.open && targets.some((t) => t in p.holders);
}

/** What an event would reduce if it applies, judged on the state before it; null when it reduces nothing. */
export function reductionOf(s: PursuanceState, e: PEvent): Omit<Reduction, "id"> | null {
  const b = e.body;
  if (!b) return null;
  const t: string = b.t;
  if (!REDUCING.has(t)) return null;
  // Membership first: nothing about a non-member's standing is looked at (nor can it reduce anything).
  if (!s.members.has(e.author)) return null;
  const rank = rankOf(s, e.author);
  const holders = (role: string) => [...s.members].filter(([, m]) => m.roles.has(role)).map(([id]) => id);
  const r = (targets: Hex[], role?: string): Omit<Reduction, "id"> => ({ rank, targets, invites: [], ...(role !== undefined ? { role } : {}), ...(retires(s, targets) ? { requests: true } : {}) });
  switch (b.t) {
    case "remove":
    case "role.revoke":
      return r([b.member]);
    case "role.delete":
      return r(holders(b.role), b.role);
    case "role.amend": {
      const old = roleDef(s.rules, b.role);
      if (!old) return null;
      const lost = old.caps.some((c) => !b.def.caps.includes(c)) || b.def.rank < old.rank;
      return lost ? r(holders(b.role), b.role) : null;
    }
    case "leader.transfer":
      return r([e.author]);
    case "requests.set":
    case "request.drop":
      return { rank, targets: [], invites: [], requests: true };
  }
  // Bodies added alongside this rule (kept loose so either may land first).
  if (t === "invite.revoke") return { rank, targets: [], invites: [(b as unknown as { invite: Hex }).invite] };
  return null;
}

/**
 * A refused invite revocation that supersedes all the same: its author may
 * revoke that invite and it was refused only because a join redeeming the
 * invite was folded first. As a candidate it puts every join it does not
 * descend from after it, so the revoke wins in every order; a join its author
 * had seen (an ancestor) still stands. See docs/protocol.md.
 */
export function revokeStands(s: PursuanceState, e: PEvent): boolean {
  const b = e.body;
  if (b?.t !== "invite.revoke") return false;
  const inv = s.invites.get(b.invite);
  return inv !== undefined && inv.usedBy !== null && inv.revokedBy === undefined && mayRevokeInvite(s, e.author, inv);
}

/** Lookups over the whole event set that the edges need; kept up to date as events arrive. */
export class SupersedeIndex {
  readonly byAuthor = new Map<Hex, PEvent[]>();
  /** Invite key → the joins that redeem it. */
  readonly joinsOf = new Map<Hex, PEvent[]>();
  /** Author → invite keys they issued. */
  readonly invitesBy = new Map<Hex, Hex[]>();
  /** Every `request.pending`: what a reduction that closes the request door puts after it. */
  private readonly carries: PEvent[] = [];
  /** Role → the grants of it and invites to it. */
  private readonly conferring = new Map<string, PEvent[]>();
  /**
   * The relevant events among a reduction's causal ancestors, keyed by
   * everything they depend on: its id (its ancestors are all present once it
   * is placed, and never change), its role and its targets. Targets are judged
   * on the state at the reduction, which differs between rounds and between
   * event sets, so a set cached under the id alone would be another order's.
   */
  private readonly ancestry = new Map<string, Set<Hex>>();

  add(e: PEvent): void {
    push(this.byAuthor, e.author, e);
    const b = e.body;
    if (b?.t === "join") push(this.joinsOf, b.invite, e);
    if (b?.t === "invite") {
      push(this.invitesBy, e.author, b.invite);
      push(this.conferring, b.role, e);
    }
    if (b?.t === "role.grant") push(this.conferring, b.role, e);
    if (b?.t === "request.pending") this.carries.push(e);
  }

  /** Events a reduction supersedes unless they are its ancestors. */
  private affected(r: Reduction): PEvent[] {
    const out: PEvent[] = [];
    const invites = new Set(r.invites);
    for (const t of r.targets) {
      out.push(...(this.byAuthor.get(t) ?? []));
      for (const i of this.invitesBy.get(t) ?? []) invites.add(i);
    }
    if (r.role !== undefined) {
      for (const e of this.conferring.get(r.role) ?? []) {
        out.push(e);
        if (e.body?.t === "invite") invites.add(e.body.invite);
      }
    }
    for (const i of invites) out.push(...(this.joinsOf.get(i) ?? []));
    if (r.requests) out.push(...this.carries);
    return out;
  }

  /** Its ancestors that could ever be affected: the targets' events, every join, and what confers its role. */
  private ancestorsAmong(r: Reduction, events: ReadonlyMap<Hex, PEvent>): Set<Hex> {
    const key = `${r.id}|${r.role ?? ""}|${r.requests ? "q" : ""}|${[...r.targets].sort().join(",")}`;
    let anc = this.ancestry.get(key);
    if (anc) return anc;
    anc = new Set();
    const targets = new Set(r.targets);
    const seen = new Set<Hex>();
    const stack = [...(events.get(r.id)?.parents ?? [])];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const e = events.get(id);
      const t = e?.body?.t;
      if (e && (targets.has(e.author) || t === "join" || (r.requests && t === "request.pending") || ((t === "invite" || t === "role.grant") && e.body!.role === r.role))) anc.add(id);
      if (e) for (const p of e.parents) stack.push(p);
    }
    this.ancestry.set(key, anc);
    return anc;
  }

  /**
   * The extra edges for a set of reductions, highest rank first. Reductions
   * in `dropped` contribute none (the caller drops the lowest-ranked one whose
   * edges close a cycle).
   */
  edges(reductions: readonly Reduction[], events: ReadonlyMap<Hex, PEvent>, dropped: ReadonlySet<Hex>): Map<Hex, Hex[]> {
    const out = new Map<Hex, Hex[]>();
    for (const r of reductions) {
      if (dropped.has(r.id)) continue;
      const affected = this.affected(r).filter((e) => e.id !== r.id);
      if (affected.length === 0) continue;
      const anc = this.ancestorsAmong(r, events);
      for (const e of affected) if (!anc.has(e.id)) push(out, e.id, r.id);
    }
    return out;
  }
}

/** Highest rank first; then the order they were found in (itself a function of the event set). */
export function byPriority(rs: Iterable<Reduction>): Reduction[] {
  return [...rs].map((r, i) => ({ r, i })).sort((a, b) => b.r.rank - a.r.rank || a.i - b.i).map(({ r }) => r);
}

export function sameEdges(a: ExtraEdges, b: ExtraEdges): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w || w.length !== v.length || v.some((x, i) => x !== w[i])) return false;
  }
  return true;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}
