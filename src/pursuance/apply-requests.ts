// Asking to join, as the fold sees it: who may open requests, which carried
// requests stand, and who may answer them. The transport is in
// join-request.ts; here only signed events, so every client gives the same
// verdicts.
import { reject, requireCap, requireMember, short, type ApplyContext, type PEvent } from "./apply-common.js";
import type { Body } from "./events.js";
import type { Hex } from "./events.js";
import { checkRequestStamp, verifyRequest } from "./join-request.js";
import { hasCap, type PursuanceState } from "./state.js";

/**
 * Opening the door is the inviter's call: the same capability as an invite.
 * The answer key goes only to holders of member.invite (the author among
 * them), so a member who never held it never can answer in the pursuance's name.
 */
export function applyRequestsSet(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "requests.set" }>): void {
  requireMember(s, e.author);
  requireCap(s, e.author, "member.invite");
  if (!b.open) {
    const p = s.requestPolicy;
    s.requestPolicy = { open: false, seed: p?.seed ?? null, limit: b.limit, work: p?.work ?? 0, answerKey: p?.answerKey ?? null, holders: p?.holders ?? {}, by: e.author, event: e.id };
    return;
  }
  const holders = b.holders ?? {};
  if (!(e.author in holders)) reject("the answer key must be sealed to its opener");
  for (const h of Object.keys(holders)) if (!s.members.has(h) || !hasCap(s, h, "member.invite")) reject(`the answer key is sealed to ${short(h)}, who does not hold member.invite`);
  s.requestPolicy = { open: true, seed: b.seed ?? null, limit: b.limit, work: b.work ?? 0, answerKey: b.answerKey ?? null, holders, by: e.author, event: e.id };
}

/** A holder of the answer key who no longer holds member.invite (removed or demoted): its address is retired. */
export function retiredBy(s: PursuanceState): Hex | null {
  const p = s.requestPolicy;
  if (!p?.open) return null;
  for (const h of Object.keys(p.holders).sort()) if (!s.members.has(h) || !hasCap(s, h, "member.invite")) return h;
  return null;
}

export function applyRequestPending(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "request.pending" }>, ctx: ApplyContext): void {
  requireMember(s, e.author);
  const p = s.requestPolicy;
  if (!p?.open) reject("requests to join are off");
  const gone = retiredBy(s);
  if (gone) reject(`the request address is retired: ${short(gone)} holds its answer key and no longer holds member.invite; reopen requests for a new address`);
  if (s.members.has(b.requester) || s.former.has(b.requester)) reject(`${short(b.requester)} is or was a member`);
  // One request per key, ever: a replay (or a second try after a refusal) is refused by the log itself.
  const prior = s.joinRequests.get(b.requester);
  if (prior) reject(`${short(b.requester)} already asked (${prior.status})`);
  // The stamp is one hash to check and ~2^work to make: a flood costs the flooder, not the group.
  if (!checkRequestStamp(ctx.crypto, s.id ?? "", b.requester, b.sig, b.stamp, p.work)) reject(`the request's proof-of-work stamp has fewer than ${p.work} bits`);
  // Bound to this opening's answer key: a request made on an old address does not verify after a reopen.
  if (!verifyRequest(ctx.crypto, b.requester, s.id ?? "", { name: b.name, message: b.message, ts: b.ts }, b.sig, p.answerKey ?? "")) reject("the request's signature does not verify for this pursuance and this opening (made on another opening's address, forged, or for another pursuance)");
  if (pendingCount(s) >= p.limit) reject(`too many pending requests (limit ${p.limit}): a member may clear them ('requests clear')`);
  s.joinRequests.set(b.requester, { requester: b.requester, name: b.name, message: b.message, ts: b.ts, sig: b.sig, carriedBy: e.author, event: e.id, status: "pending" });
}

export function applyRequestAnswer(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "request.answer" }>): void {
  requireMember(s, e.author);
  requireCap(s, e.author, "member.invite");
  const r = s.joinRequests.get(b.requester);
  if (!r) reject(`no request from ${short(b.requester)}`);
  if (r.status !== "pending") reject(`the request from ${short(b.requester)} was already ${r.status}`);
  if (b.admit) {
    // The invite carries the role check (the answerer must be able to invite to it); it must be theirs and unused.
    const inv = s.invites.get(b.invite!);
    if (!inv || inv.by !== e.author) reject("the admission names no invite of its author's");
    if (inv.role !== b.role) reject(`the admission's role ${b.role} is not its invite's (${inv.role})`);
    // The requester's join cites only the invite, so it may fold before the answer: that use is fine.
    if ((inv.usedBy !== null && inv.usedBy !== b.requester) || inv.revokedBy) reject("the admission's invite is already used by someone else, or revoked");
    s.joinRequests.set(b.requester, { ...r, status: "admitted", role: b.role!, invite: b.invite!, answeredBy: e.author });
  } else {
    s.joinRequests.set(b.requester, { ...r, status: "refused", reason: b.reason, answeredBy: e.author });
  }
}

export function pendingCount(s: PursuanceState): number {
  let n = 0;
  for (const r of s.joinRequests.values()) if (r.status === "pending") n++;
  return n;
}

/**
 * Clearing a flood, or expiring stale requests: an explicit event, so every
 * client drops the same ones (no clock). Requests no longer pending (answered
 * concurrently) are skipped; a drop that drops nothing is refused.
 */
export function applyRequestDrop(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "request.drop" }>): void {
  requireMember(s, e.author);
  requireCap(s, e.author, "member.invite");
  const drop = b.requesters.filter((r) => s.joinRequests.get(r)?.status === "pending");
  if (drop.length === 0) reject("none of the named requests is pending");
  for (const r of drop) s.joinRequests.set(r, { ...s.joinRequests.get(r)!, status: "dropped", droppedBy: e.author });
}
