// Asking to join, as the fold sees it: who may open requests, which carried
// requests stand, and who may answer them. The transport is in
// join-request.ts; here only signed events, so every client gives the same
// verdicts.
import { reject, requireCap, requireMember, short, type ApplyContext, type PEvent } from "./apply-common.js";
import type { Body } from "./events.js";
import { verifyRequest } from "./join-request.js";
import type { PursuanceState } from "./state.js";

/** Opening the door is the inviter's call: the same capability as an invite. */
export function applyRequestsSet(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "requests.set" }>): void {
  requireMember(s, e.author);
  requireCap(s, e.author, "member.invite");
  const seed = b.open ? (b.seed ?? null) : (s.requestPolicy?.seed ?? null);
  s.requestPolicy = { open: b.open, seed, limit: b.limit, by: e.author, event: e.id };
}

export function applyRequestPending(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "request.pending" }>, ctx: ApplyContext): void {
  requireMember(s, e.author);
  const p = s.requestPolicy;
  if (!p?.open) reject("requests to join are off");
  if (s.members.has(b.requester) || s.former.has(b.requester)) reject(`${short(b.requester)} is or was a member`);
  // One request per key, ever: a replay (or a second try after a refusal) is refused by the log itself.
  const prior = s.joinRequests.get(b.requester);
  if (prior) reject(`${short(b.requester)} already asked (${prior.status})`);
  let pending = 0;
  for (const r of s.joinRequests.values()) if (r.status === "pending") pending++;
  if (pending >= p.limit) reject(`too many pending requests (limit ${p.limit})`);
  if (!verifyRequest(ctx.crypto, b.requester, s.id ?? "", { name: b.name, message: b.message, ts: b.ts }, b.sig)) reject("the request's signature does not verify for this pursuance");
  s.joinRequests.set(b.requester, { requester: b.requester, name: b.name, message: b.message, ts: b.ts, carriedBy: e.author, event: e.id, status: "pending" });
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
