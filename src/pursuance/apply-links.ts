// Links between pursuances, as the fold sees them (link.ts has the token,
// channel and attestations). Making or taking a link is a rules matter; a
// task goes out only from a role the link allows; what comes in is taken only
// with the other side's speaker's attestation, for a role the link allows,
// and once.
import { fromB64, toHex } from "../cwtch/bytes.js";
import { decodeAndVerify } from "../cwtch/message.js";
import { reject, requireCap, requireMember, short, type ApplyContext, type PEvent } from "./apply-common.js";
import type { Body } from "./events.js";
import { verifyAttest } from "./link.js";
import { toPEvent } from "./pevent.js";
import type { PeerLink, PursuanceState } from "./state.js";
import { roleDef } from "./rules.js";

function linkOf(s: PursuanceState, link: string): PeerLink {
  const l = s.peers.get(link);
  if (!l) reject(`no link ${short(link)}`);
  return l;
}

export function applyLinkOffer(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "link.offer" }>): void {
  requireMember(s, e.author);
  requireCap(s, e.author, "rules.change");
  if (s.peers.has(b.link)) reject(`link ${short(b.link)} exists`);
  for (const r of b.roles) if (!roleDef(s.rules, r)) reject(`no role named "${r}"`);
  s.peers.set(b.link, { link: b.link, seed: b.seed, side: "offered", speaker: e.author, roles: [...b.roles], peer: null, peerName: "", peerRelays: [], peerRelaysAt: 0, peerSpeaker: null });
}

export function applyLinkAccept(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "link.accept" }>): void {
  requireMember(s, e.author);
  requireCap(s, e.author, "rules.change");
  if (s.peers.has(b.link)) reject(`link ${short(b.link)} exists`);
  if (b.peer === s.id) reject("a pursuance cannot link to itself");
  s.peers.set(b.link, { link: b.link, seed: b.seed, side: "accepted", speaker: e.author, roles: [...b.roles], peer: b.peer, peerName: b.name, peerRelays: [...b.relays], peerRelaysAt: 0, peerSpeaker: b.speaker });
}

/** Only our speaker says who took our token: the hello reaches whoever holds the seed, and the speaker is who we trust with it. */
export function applyLinkPeer(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "link.peer" }>): void {
  requireMember(s, e.author);
  const l = linkOf(s, b.link);
  if (l.side !== "offered") reject("only the offering side learns its peer this way");
  if (e.author !== l.speaker) reject(`only the link's speaker ${short(l.speaker)} names its peer`);
  if (l.peer !== null) reject(`link ${short(b.link)} already has its peer`);
  s.peers.set(b.link, { ...l, peer: b.peer, peerName: b.name, peerRelays: [...b.relays], peerSpeaker: b.speaker });
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

/** The other side's event, with its speaker's word that it was applied there. */
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
  if (s.crossSeen.has(id)) reject(`event ${short(id)} was already received`);
  if (!verifyAttest(ctx.crypto, l.peerSpeaker, b.link, id, b.role, b.attest)) reject("the attestation is not by the other side's speaker");
  const ib = inner.body;
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
    // The other side moved: post to where it lives now. An older move carried late changes nothing.
    if (inner.ts > l.peerRelaysAt) s.peers.set(b.link, { ...l, peerRelays: [...ib.relays], peerRelaysAt: inner.ts });
  } else reject("the carried event is neither a task sent, an answer over this link, nor a move");
  s.crossSeen.add(id);
}
