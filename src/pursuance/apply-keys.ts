// Reducers for key material: rotations (a new epoch of a scope's key, sealed
// to exactly the members entitled to it) and shares (existing keys sealed to
// a member who is entitled but lacks them).
import type { Body } from "./events.js";
import { type PEvent, reject, requireActor, requireCap, requireMember, requireOutranksRole, requireRole, short } from "./apply-common.js";
import { nextSince, rotationDue } from "./rotation-clock.js";
import { NO_KEY, entitled, hasCap, type PursuanceState } from "./state.js";
import { keyRecipients, reconcileKeys } from "./key-holders.js";
import { roleDef } from "./rules.js";

type B<T extends Body["t"]> = Extract<Body, { t: T }>;

export function applyRotate(s: PursuanceState, e: PEvent, b: B<"keys.rotate">): void {
  requireActor(s, e);
  const k = s.keys.get(b.scope);
  if (!k) reject(`no key scope "${b.scope}"`);
  if (!entitled(s, e.author).includes(b.scope)) reject(`${short(e.author)} is not entitled to the "${b.scope}" key`);
  // Concurrent rotations of one epoch: the first in the fold order wins; the rest are stale.
  if (b.from !== k.keyId) reject(`stale rotation of "${b.scope}": from ${short(b.from)}, current ${short(k.keyId)}`);
  // New across every scope: a key id names one key of one scope, so clients file it under one label.
  if (b.keyId === NO_KEY || [...s.keys.values()].some((x) => x.history.includes(b.keyId))) reject(`key id ${short(b.keyId)} is not new`);
  if (!k.needsRotation && !hasCap(s, e.author, "keys.rotate") && !rotationDue(s, k, e.ts, e.author)) reject(`"${b.scope}" needs no rotation and ${short(e.author)} lacks keys.rotate`);
  const want = keyRecipients(s, b.scope);
  const got = Object.keys(b.sealed).sort();
  const wanted = new Set(want);
  const sealedTo = new Set(got);
  const extra = got.filter((m) => !wanted.has(m));
  const missing = want.filter((m) => !sealedTo.has(m));
  if (extra.length > 0) reject(`rotation seals "${b.scope}" to non-entitled ${extra.map(short).join(", ")}`);
  if (missing.length > 0) reject(`rotation of "${b.scope}" leaves out ${missing.map(short).join(", ")}`);
  // Before any change: the new age is judged against the key as it was.
  const since = nextSince(s, k, e.ts, e.author);
  k.keyId = b.keyId;
  k.holders = new Set(want);
  k.needsRotation = false;
  k.since = since;
  k.history.push(b.keyId);
  k.rotatedBy = e.author;
  k.rotationSeals = new Set(want);
  for (const m of want) s.sealedBy.set(`${b.scope} ${m}`, e.author);
}

/**
 * A holder's word that its seal of the current key did not open. No other
 * client can check it (a sealed box opens only with the recipient's secret),
 * so it may cost only the complainer: it stops counting as a holder, so a
 * holder re-shares to it. It flags no one and makes no rotation due: a lie
 * must not cost an honest rotator or the group anything. Who sealed it (a
 * rotation, share or grant) is remembered only to pass that member over when
 * re-sharing to the complainer (seal-complaints.ts).
 */
export function applyUnreadable(s: PursuanceState, e: PEvent, b: B<"keys.unreadable">): void {
  requireMember(s, e.author);
  const k = s.keys.get(b.scope);
  if (!k) reject(`no key scope "${b.scope}"`);
  if (b.keyId !== k.keyId) reject(`"${b.scope}" key ${short(b.keyId)} is not current (${short(k.keyId)})`);
  if (!k.holders.has(e.author)) reject(`${short(e.author)} is not listed as holding "${b.scope}" ${short(b.keyId)}`);
  k.holders.delete(e.author);
  const fromRotation = k.rotationSeals.delete(e.author);
  const rotator = fromRotation ? k.rotatedBy : null;
  s.badSeals.push({ scope: b.scope, keyId: b.keyId, reporter: e.author, rotator });
  const sealer = s.sealedBy.get(`${b.scope} ${e.author}`);
  if (sealer !== undefined && sealer !== e.author) {
    let d = s.doubted.get(e.author);
    if (!d) s.doubted.set(e.author, (d = new Set()));
    d.add(sealer);
  }
}

export function applyShare(s: PursuanceState, e: PEvent, b: B<"keys.share">): void {
  requireActor(s, e);
  requireMember(s, b.to);
  if (b.keys.length === 0) reject("key share carries no keys");
  // A share that names the recipient's roles says what the sharer's fold holds: a false claim is refused.
  if (b.roles !== undefined) {
    const held = s.members.get(b.to)!.roles;
    const missing = b.roles.find((r) => !held.has(r));
    if (missing !== undefined) reject(`${short(b.to)} does not hold "${missing}", which the share names`);
  }
  const mine = entitled(s, e.author);
  const theirs = entitled(s, b.to);
  for (const r of b.keys) {
    const k = s.keys.get(r.scope);
    if (!k) reject(`no key scope "${r.scope}"`);
    if (!mine.includes(r.scope)) reject(`${short(e.author)} is not entitled to share "${r.scope}"`);
    if (!theirs.includes(r.scope)) reject(`${short(b.to)} is not entitled to "${r.scope}"`);
    if (!k.history.includes(r.keyId)) reject(`unknown "${r.scope}" key id ${short(r.keyId)}`);
  }
  for (const r of b.keys) {
    const k = s.keys.get(r.scope)!;
    if (r.keyId !== k.keyId) continue;
    k.holders.add(b.to);
    s.sealedBy.set(`${r.scope} ${b.to}`, e.author);
  }
}

export function applyDelegate(s: PursuanceState, e: PEvent, b: B<"keys.delegate">): void {
  requireActor(s, e);
  requireRole(s, b.role);
  if (roleDef(s.rules, b.role)!.reads !== "role") reject(`role "${b.role}" has no key to delegate`);
  if (!entitled(s, e.author).includes(b.role)) reject(`${short(e.author)} does not hold the "${b.role}" key`);
  // A delegate reads the whole log (the group key) like a member: only who may let someone in may do this.
  requireCap(s, e.author, "member.invite");
  if (s.members.has(b.to)) reject(`${short(b.to)} is a member: grant a role instead of delegating`);
  if (s.delegates.get(b.role)?.has(b.to)) reject(`"${b.role}" is already delegated to ${short(b.to)}`);
  for (const scope of ["group", b.role]) {
    const k = s.keys.get(scope);
    if (!k || k.keyId === NO_KEY) reject(`"${scope}" has no key yet`);
    if (!b.keys.some((r) => r.scope === scope && r.keyId === k.keyId)) reject(`delegation must seal the current "${scope}" key to the delegate`);
  }
  let ds = s.delegates.get(b.role);
  if (!ds) s.delegates.set(b.role, (ds = new Map()));
  ds.set(b.to, e.author);
  s.keys.get("group")!.holders.add(b.to);
  s.keys.get(b.role)!.holders.add(b.to);
}

export function applyUndelegate(s: PursuanceState, e: PEvent, b: B<"keys.undelegate">): void {
  requireActor(s, e);
  const by = s.delegates.get(b.role)?.get(b.to);
  if (by === undefined) reject(`"${b.role}" is not delegated to ${short(b.to)}`);
  // The delegator takes it back; anyone who outranks the role may too (strict authority), so anyone who outranks the delegator.
  if (by !== e.author) requireOutranksRole(s, e.author, b.role);
  s.delegates.get(b.role)!.delete(b.to);
  if (s.delegates.get(b.role)!.size === 0) s.delegates.delete(b.role);
  reconcileKeys(s, [b.to]);
}
