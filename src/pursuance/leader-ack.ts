// The leader's word in a public copy. A role chain shows signed events that,
// replayed, give the announcer `announce`; it cannot show that they were ever
// in the log. A member removed long ago still holds its key and its old rank
// in any replay that leaves the removal out, so alone it can sign, off the
// log, a role with `announce`, an invite to it and the join's witness, and
// make a stranger VALID (round 2 of the trust-pass attacks). Descent proves
// nothing here: every client cites every author's latest event, the refused
// ones too.
//
// So a copy must carry the leader's acknowledgement of the announcer, an act
// an honest leader's client performs only for a member its own fold holds in
// that role: a `keys.share` from the leader to the announcer that names its
// roles (the fold refuses a share naming a role the recipient does not hold),
// or the leader's `role.grant` of the role. The acknowledged role must be one
// the announcer holds in the replay, may announce, and be the leader's: defined
// by the genesis or by rules events the leader signed, since a removed admin's
// `role.amend` adding `announce` to a role is not the leader's word. Keys are
// no evidence of a role: a role's key goes to every member ranked at or above
// it, and ranks are rules a removed admin could re-sign (round 3 of the
// attacks). See docs/protocol.md, "The leader's word".
import type { PEvent } from "./apply-common.js";
import type { Rules } from "./rules.js";
import { roleDef } from "./rules.js";
import type { PursuanceState } from "./state.js";

/** The roles an event acknowledges `who` in, if it is an acknowledgement at all (its author is not checked here). */
export function acknowledgedRoles(e: PEvent, who: string): readonly string[] {
  const b = e.body;
  if (b?.t === "role.grant") return b.member === who ? [b.role] : [];
  if (b?.t === "keys.share" && b.to === who) return b.roles ?? [];
  return [];
}

/** Whether `e` is an acknowledgement kind a chain may carry beside what gives roles. */
export function isAckKind(e: PEvent, who: string): boolean {
  return e.body?.t === "keys.share" && e.body.to === who;
}

const mayDo = (rules: Rules, role: string, cap: string) => (roleDef(rules, role)?.caps as readonly string[] | undefined)?.includes(cap) === true;

/**
 * Tracks, while a chain is replayed, which roles the leader acknowledged the
 * announcer in and which roles someone other than the leader defined.
 */
export class LeaderWord {
  private readonly notLeaders = new Set<string>();
  private readonly acked = new Map<string, { id: string; leader: string }>();

  /** Note `e`, replayed (or read) while `leader` led. Call before applying it. */
  note(e: PEvent, leader: string | null, who: string): void {
    const b = e.body;
    if ((b?.t === "role.create" || b?.t === "role.amend" || b?.t === "role.delete") && e.author !== leader) this.notLeaders.add(b.role);
    if (leader === null || e.author !== leader) return;
    for (const r of acknowledgedRoles(e, who)) this.acked.set(r, { id: e.id, leader });
  }

  /** A role the leader acknowledged `who` in that gives `cap` as the chain leaves the state; null with the reason when none. */
  verdict(s: PursuanceState, who: string, cap: string): { ok: true; id: string; leader: string; role: string } | { ok: false; reason: string } {
    const held = s.members.get(who)?.roles ?? new Set<string>();
    const mine = [...this.acked.keys()].filter((r) => held.has(r) && mayDo(s.rules, r, cap));
    const good = mine.filter((r) => !this.notLeaders.has(r)).sort();
    if (good.length > 0) return { ok: true, role: good[0]!, ...this.acked.get(good[0]!)! };
    if (mine.length > 0) return { ok: false, reason: `"${mine.sort()[0]}" was defined or changed in the chain by someone other than the leader` };
    return { ok: false, reason: `no event by the leader acknowledges it in a role that may ${cap} (a key share to it naming that role, or the leader's grant of it)` };
  }
}
