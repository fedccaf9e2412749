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
// that role: a `keys.share` to the announcer whose highest-ranked role key is
// a role with `announce` (a leader shares a role's key only to members ranked
// at or above it), or a `role.grant` of such a role to the announcer. And that
// role's definition must be the leader's (the genesis rules, or rules events
// the leader signed): a removed admin's amend adding `announce` to a role the
// leader shares is not the leader's word. See docs/protocol.md, "The leader's
// acknowledgement".
import type { PEvent } from "./apply-common.js";
import type { Body } from "./events.js";
import type { Rules } from "./rules.js";
import { roleDef } from "./rules.js";

/** The role an event acknowledges `who` in, if it is an acknowledgement at all (its author is not checked here). */
export function acknowledgedRole(rules: Rules, e: PEvent, who: string): string | null {
  const b = e.body;
  if (b?.t === "role.grant") return b.member === who ? b.role : null;
  if (b?.t === "keys.share" && b.to === who) return topScope(rules, b);
  return null;
}

/** The highest-ranked role among a share's keys (the group key names no role). */
function topScope(rules: Rules, b: Extract<Body, { t: "keys.share" }>): string | null {
  let best: string | null = null;
  for (const k of b.keys) {
    const r = roleDef(rules, k.scope);
    if (!r || r.reads !== "role") continue;
    if (best === null || r.rank > roleDef(rules, best)!.rank) best = k.scope;
  }
  return best;
}

/** Whether `e` is an acknowledgement kind a chain may carry beside what gives roles. */
export function isAckKind(e: PEvent, who: string): boolean {
  return e.body?.t === "keys.share" && e.body.to === who;
}

/**
 * Tracks, while a chain is replayed, who leads at each step and which roles
 * only the leader (or the genesis) defined.
 */
export class LeaderWord {
  private readonly notLeaders = new Set<string>();
  private ack: { id: string; leader: string; role: string } | null = null;

  /** Note `e`, replayed (or read) while `leader` led. Call before applying it. */
  note(e: PEvent, leader: string | null, rules: Rules, who: string, cap: string): void {
    const b = e.body;
    if ((b?.t === "role.create" || b?.t === "role.amend" || b?.t === "role.delete") && e.author !== leader) this.notLeaders.add(b.role);
    if (leader === null || e.author !== leader) return;
    const role = acknowledgedRole(rules, e, who);
    if (role !== null && (roleDef(rules, role)?.caps as readonly string[] | undefined)?.includes(cap)) this.ack = { id: e.id, leader, role };
  }

  /** The acknowledgement the chain carries, judged against the final rules; null with the reason when none holds. */
  verdict(rules: Rules, cap: string): { ok: true; id: string; leader: string; role: string } | { ok: false; reason: string } {
    const a = this.ack;
    if (a === null) return { ok: false, reason: "no event by the leader acknowledges it (a key share to it whose highest role key, or a grant to it, is of a role that may " + cap + ")" };
    if (!(roleDef(rules, a.role)?.caps as readonly string[] | undefined)?.includes(cap)) return { ok: false, reason: `the leader acknowledged it in "${a.role}", which may not ${cap} as the chain leaves the rules` };
    if (this.notLeaders.has(a.role)) return { ok: false, reason: `"${a.role}" was defined or changed in the chain by someone other than the leader` };
    return { ok: true, ...a };
  }
}
