// Who is who: a member's own link to a Matrix id, members vouching for each
// other's keys after comparing fingerprints, and the pursuance's public
// profile. All are signed events in the log, so every member sees the same
// links, vouches and profile (as Keybase's signed tracking statements), and
// the state hash covers them.
import { reject, requireCap, requireMember, type ApplyContext, type PEvent } from "./apply-common.js";
import type { Body } from "./events.js";
import { fingerprint, normaliseFingerprint } from "./fingerprint.js";
import type { PursuanceState } from "./state.js";

export function applyIdentityLink(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "identity.link" }>): void {
  requireMember(s, e.author);
  if (b.matrix === "") s.links.delete(e.author);
  else s.links.set(e.author, b.matrix);
}

export function applyMemberVerify(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "member.verify" }>, ctx: ApplyContext): void {
  requireMember(s, e.author);
  if (b.member === e.author) reject("a member cannot vouch for their own key");
  if (!s.members.has(b.member)) reject("no such member to verify");
  // The digits are a function of the key: a vouch for other digits is a vouch for another key.
  if (normaliseFingerprint(b.fingerprint) !== normaliseFingerprint(fingerprint(ctx.crypto, b.member))) reject("the fingerprint does not match that member's key");
  let by = s.verifications.get(b.member);
  if (!by) s.verifications.set(b.member, (by = new Set()));
  by.add(e.author);
}

/** The profile speaks for the pursuance in public, as an announcement does: the same capability. */
export function applyProfileSet(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "profile.set" }>): void {
  requireMember(s, e.author);
  requireCap(s, e.author, "announce");
  s.profile = { mission: b.mission, join: b.join, rooms: [...b.rooms], by: e.author, event: e.id };
}
