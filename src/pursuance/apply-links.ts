// Links between pursuances, as the fold sees them (link.ts has the token,
// channel and attestations). Making or taking a link is a rules matter; the
// peer is named only by a hello proven with the token's key; a task goes out
// only from a role the link allows; what comes in is taken only with the
// other side's *current* speaker's attestation, for a role the link allows,
// and once; moves by the speaker's signed sequence, never their claimed time.
import { fromB64, toHex } from "../cwtch/bytes.js";
import { decodeAndVerify } from "../cwtch/message.js";
import { reject, requireCap, requireMember, short, type ApplyContext, type PEvent } from "./apply-common.js";
import type { Body } from "./events.js";
import { helloRefusal, verifyAttest, verifyHandover } from "./link.js";
import { toPEvent } from "./pevent.js";
import { crossKey, hasCap, type PeerLink, type PursuanceState } from "./state.js";
import { roleDef } from "./rules.js";

function linkOf(s: PursuanceState, link: string): PeerLink {
  const l = s.peers.get(link);
  if (!l) reject(`no link ${short(link)}`);
  return l;
}

const fresh = { speakerSeq: 0, prevSpeaker: null, peerRelaysSeq: 0, peerSpeakerSeq: 0, moveFloors: {} };

export function applyLinkOffer(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "link.offer" }>): void {
  requireMember(s, e.author);
  requireCap(s, e.author, "rules.change");
  if (s.peers.has(b.link)) reject(`link ${short(b.link)} exists`);
  for (const r of b.roles) if (!roleDef(s.rules, r)) reject(`no role named "${r}"`);
  s.peers.set(b.link, { link: b.link, seed: b.seed, side: "offered", speaker: e.author, ...fresh, acceptKey: b.acceptKey ?? null, helloProof: null, roles: [...b.roles], peer: null, peerName: "", peerRelays: [], peerHome: [], peerSpeaker: null });
}

export function applyLinkAccept(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "link.accept" }>): void {
  requireMember(s, e.author);
  requireCap(s, e.author, "rules.change");
  if (s.peers.has(b.link)) reject(`link ${short(b.link)} exists`);
  if (b.peer === s.id) reject("a pursuance cannot link to itself");
  s.peers.set(b.link, { link: b.link, seed: b.seed, side: "accepted", speaker: e.author, ...fresh, acceptKey: null, helloProof: b.proof ?? null, roles: [...b.roles], peer: b.peer, peerName: b.name, peerRelays: [...b.relays], peerHome: [...b.relays], peerSpeaker: b.speaker });
}

/**
 * The hello names our peer only if signed with the accept key (whose seed is
 * in the token, never in our log) and by the speaker it names: any member may
 * carry it in, and no member can name a false peer. The first proven one wins.
 */
export function applyLinkPeer(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "link.peer" }>, ctx: ApplyContext): void {
  requireMember(s, e.author);
  const l = linkOf(s, b.link);
  if (l.side !== "offered") reject("only the offering side learns its peer this way");
  if (l.peer !== null) reject(`link ${short(b.link)} already has its peer`);
  const why = helloRefusal(ctx.crypto, b.link, l.acceptKey, { pursuanceId: b.peer, name: b.name, relays: b.relays, speaker: b.speaker, proof: b.proof, sig: b.sig });
  if (why) reject(why);
  if (b.peer === s.id) reject("a pursuance cannot link to itself");
  s.peers.set(b.link, { ...l, peer: b.peer, peerName: b.name, peerRelays: [...b.relays], peerHome: [...b.relays], peerSpeaker: b.speaker });
}

/**
 * The other side's next speaker: with the current one's handover (any member
 * carries it), or on the word of a member of ours with rules.change, who
 * confirmed it out of band (a removed speaker will not hand over). Either way
 * the previous speaker's attestations are refused from here on.
 */
export function applyLinkSpeaker(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "link.speaker" }>, ctx: ApplyContext): void {
  requireMember(s, e.author);
  const l = linkOf(s, b.link);
  if (!l.peerSpeaker) reject("the link has no peer yet");
  if (b.handover !== undefined) {
    if (b.seq !== l.peerSpeakerSeq + 1) reject(`sequence ${b.seq} is not the next (${l.peerSpeakerSeq + 1})`);
    if (!verifyHandover(ctx.crypto, l.peerSpeaker, b.link, b.seq, b.speaker, b.handover)) reject(`the handover is not signed by the current speaker ${short(l.peerSpeaker)}`);
  } else {
    requireCap(s, e.author, "rules.change");
    if (b.seq <= l.peerSpeakerSeq) reject(`sequence ${b.seq} is not after ${l.peerSpeakerSeq}`);
  }
  if (b.speaker === l.peerSpeaker) reject(`${short(b.speaker)} is already their speaker`);
  // Moves the previous speaker numbered (perhaps absurdly high, if it turned) do not outlive it: back to where the
  // link began, and the new speaker re-forwards its side's latest move under its own count.
  s.peers.set(b.link, { ...l, peerSpeaker: b.speaker, peerSpeakerSeq: b.seq, peerRelays: [...l.peerHome], peerRelaysSeq: 0 });
}

/**
 * After any event: a speaker of ours that is no longer a member with
 * rules.change is succeeded, the same way in every client: by that event's
 * author if entitled (who acted, so is about), else the entitled member with
 * the smallest key. With nobody entitled the link keeps its speaker (and is
 * mute: our forwarding needs a member).
 */
export function succeedSpeakers(s: PursuanceState, e: PEvent): void {
  for (const l of s.peers.values()) {
    if (s.members.has(l.speaker) && hasCap(s, l.speaker, "rules.change")) continue;
    const next = s.members.has(e.author) && hasCap(s, e.author, "rules.change") ? e.author : [...s.members.keys()].filter((m) => hasCap(s, m, "rules.change")).sort()[0];
    if (next !== undefined && next !== l.speaker) s.peers.set(l.link, { ...l, speaker: next, prevSpeaker: l.speaker, speakerSeq: l.speakerSeq + 1 });
  }
}

export function applyTaskSend(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "task.send" }>): void {
  requireMember(s, e.author);
  const l = linkOf(s, b.link);
  if (l.side !== "offered" || l.peer === null) reject(l.side !== "offered" ? "tasks go out over a link we offered" : "the link has no peer yet");
  const role = [...(s.members.get(e.author)?.roles ?? [])].sort().find((r) => l.roles.includes(r));
  if (!role) reject(`${short(e.author)} holds no role the link allows (${l.roles.join(", ")})`);
  s.sent.set(e.id, { link: b.link, from: e.author, role, title: b.title, body: b.body, status: "sent", note: "" });
}

export function applyLinkStatus(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "link.status" }>): void {
  requireMember(s, e.author);
  requireCap(s, e.author, "task.create");
  const t = s.received.get(b.send);
  if (!t || t.link !== b.link) reject(`no task ${short(b.send)} came over link ${short(b.link)}`);
  if (t.status === "declined" || t.status === "done") reject(`task ${short(b.send)} is already ${t.status}`);
  s.received.set(b.send, { ...t, status: b.status, note: b.note, statusEvent: e.id });
}

/** The other side's event, with its current speaker's word that it was applied there. */
export function applyLinkReceive(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "link.receive" }>, ctx: ApplyContext): void {
  requireMember(s, e.author);
  const l = linkOf(s, b.link);
  if (!l.peerSpeaker) reject("the link has no peer yet");
  let bytes: Uint8Array;
  try {
    bytes = fromB64(b.ev);
  } catch {
    reject("the carried event is not base64url");
  }
  const m = decodeAndVerify(ctx.crypto, bytes);
  if (m?.kind !== "event") reject("the carried event does not verify");
  const inner = toPEvent(m);
  const id = toHex(m.id);
  const seq = b.seq ?? 0;
  const ib = inner.body;
  // Moves are told apart by their count (below), so that a new speaker may re-forward the latest one.
  if (ib?.t !== "relays.set" && s.crossSeen.has(crossKey(b.link, id))) reject(`event ${short(id)} was already received over this link`);
  if (!verifyAttest(ctx.crypto, l.peerSpeaker, b.link, id, b.role, seq, b.attest)) reject("the attestation is not by the other side's speaker");
  if (ib?.t === "task.send" && ib.link === b.link) {
    if (l.side !== "accepted") reject("tasks come in over a link we accepted");
    if (!l.roles.includes(b.role)) reject(`role "${b.role}" may not send over this link (${l.roles.join(", ")})`);
    s.received.set(id, { link: b.link, from: inner.author, role: b.role, title: ib.title, body: ib.body, status: "sent", note: "" });
  } else if (ib?.t === "link.status" && ib.link === b.link) {
    const t = s.sent.get(ib.send);
    if (!t || t.link !== b.link) reject(`no task ${short(ib.send)} went out over this link`);
    if (t.status === "declined" || t.status === "done") reject(`task ${short(ib.send)} is already ${t.status} there`);
    s.sent.set(ib.send, { ...t, status: ib.status, note: ib.note });
  } else if (ib?.t === "relays.set") {
    // The other side moved: post to where it lives now. Ordered by the speaker's signed count of moves,
    // which nobody can choose freely (a claimed time can be any).
    if (seq <= l.peerRelaysSeq) reject(`move ${seq} is not newer than move ${l.peerRelaysSeq}`);
    // A speaker that comes back (S1, S2, S1) resumes its own count: its old attestations stay stale.
    const floor = l.moveFloors[l.peerSpeaker] ?? 0;
    if (seq < floor) reject(`move ${seq} is older than move ${floor} this speaker already attested`);
    s.peers.set(b.link, { ...l, peerRelays: [...ib.relays], peerRelaysSeq: seq, moveFloors: { ...l.moveFloors, [l.peerSpeaker]: seq } });
    return;
  } else reject("the carried event is neither a task sent, an answer over this link, nor a move");
  s.crossSeen.add(crossKey(b.link, id));
}
