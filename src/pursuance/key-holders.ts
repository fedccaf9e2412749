// Who holds, and who should hold, each scope's key: the recipients of a new
// key, and the bookkeeping after membership or rules change that marks a
// scope for rotation when someone who holds its key is no longer entitled.
import type { Hex } from "./events.js";
import { roleDef } from "./rules.js";
import { entitled, entitledMembers, NO_KEY, type PursuanceState } from "./state.js";

/** Non-members who may read a scope: a role's delegates; for the group key, every delegate. */
export function delegatesOf(s: PursuanceState, scope: string): Hex[] {
  const out = new Set<Hex>();
  for (const [role, ds] of s.delegates) if (scope === "group" || scope === role) for (const d of ds.keys()) out.add(d);
  return [...out].sort();
}

/** Everyone a new key of `scope` is sealed to: entitled members and delegates. */
export function keyRecipients(s: PursuanceState, scope: string): Hex[] {
  return [...new Set([...entitledMembers(s, scope), ...delegatesOf(s, scope)])].sort();
}

/** Whether a new key of `scope` would be sealed to `who`: keyRecipients, asked of one id. */
export function isRecipient(s: PursuanceState, scope: string, who: Hex): boolean {
  if (s.members.has(who) && (scope === "group" || entitled(s, who).includes(scope))) return true;
  if (scope !== "group") return s.delegates.get(scope)?.has(who) ?? false;
  for (const ds of s.delegates.values()) if (ds.has(who)) return true;
  return false;
}

/**
 * Key-holding bookkeeping after membership or rules change: who lost a key forces a rotation.
 *
 * `touched` names the only ids whose entitlement the event changed (a joiner, a grantee, a
 * removed member, an undelegated reader); without it (a rules change) every holder is checked.
 * Checking only those is exact because of an invariant every reducer keeps: a key is only ever
 * sealed to a current recipient, and recipients are lost only by events that reconcile, so
 * before this event every holder was a recipient or the scope was already marked. The mark is
 * sticky until the next rotation, so a marked scope needs no look at all. This is what keeps a
 * fold linear in members: a join used to recompute every scope's recipients over everyone.
 */
export function reconcileKeys(s: PursuanceState, touched?: Iterable<Hex>): void {
  const suspects = touched === undefined ? null : new Set(touched);
  // A delegation lapses when its delegator can no longer read the role (removed, revoked, or
  // the role is gone); its delegate is then a suspect too.
  const lapsed: Hex[] = [];
  for (const [role, ds] of s.delegates) {
    for (const [d, by] of ds) {
      const gone = !roleDef(s.rules, role) || ((suspects === null || suspects.has(by)) && !entitled(s, by).includes(role));
      if (gone) {
        ds.delete(d);
        lapsed.push(d);
      }
    }
    if (ds.size === 0) s.delegates.delete(role);
  }
  for (const name of Object.keys(s.rules.roles)) {
    if (roleDef(s.rules, name)!.reads === "role" && !s.keys.has(name)) {
      s.keys.set(name, { keyId: NO_KEY, holders: new Set(), needsRotation: true, since: s.clock, history: [], rotatedBy: null, rotationSeals: new Set() });
    }
  }
  for (const [scope, k] of s.keys) {
    if (scope !== "group" && roleDef(s.rules, scope)?.reads !== "role") {
      s.keys.delete(scope);
      continue;
    }
    if (k.needsRotation) continue;
    const check: Iterable<Hex> = suspects === null ? k.holders : [...suspects, ...lapsed];
    for (const h of check) {
      if (k.holders.has(h) && !isRecipient(s, scope, h)) {
        k.needsRotation = true;
        break;
      }
    }
  }
  checkEscrowHolders(s);
}

/**
 * An escrow share holder out of the succession role (removed, left, demoted, or the succession
 * moved to another role) still holds its share: the escrowed key now current must rotate (the
 * leader then re-escrows), so nothing new is written under it. Called by reconcileKeys and by a
 * rules.policy (applyPolicy), the only events that change who the successors are.
 */
export function checkEscrowHolders(s: PursuanceState): void {
  const esc = s.escrow;
  const top = esc ? s.keys.get(esc.scope) : undefined;
  if (esc && top && !top.needsRotation && esc.keyIds.includes(top.keyId) && esc.holders.some((h) => !s.members.get(h)?.roles.has(s.rules.succession.role))) top.needsRotation = true;
}

/** Who still needs a key share for a scope (entitled, but no key of the current epoch sealed to them). */
export function missingHolders(s: PursuanceState, scope: string): Hex[] {
  const k = s.keys.get(scope);
  if (!k || k.keyId === NO_KEY) return [];
  return entitledMembers(s, scope).filter((m) => !k.holders.has(m));
}

