// Frames heard on our links' channels (link.ts), checked before anything is
// carried into the log: the peer's proven hello, an attested event of theirs,
// a speaker change. Anyone holding the channel seed (every member of either
// side, and the token's holder) can post here, so every frame is untrusted:
// a refused one is recorded with its reason (status --json shows them),
// changes nothing, and the next frame is read as if it had not come.
import { fromB64, toHex } from "../../cwtch/bytes.js";
import { decodeAndVerify } from "../../cwtch/message.js";
import type { RelayFrame } from "../../cwtch/relay-client.js";
import type { ClientCore } from "./core.js";
import { channelOf, forwardDuties, tagsOf } from "./links.js";
import { actsFirst, schedule } from "./duty-schedule.js";
import type { Body } from "../events.js";
import { helloRefusal, LinkFrameError, linkPeerBody, openLinkMessage, type LinkMessage } from "../link.js";
import { crossKey, type PeerLink } from "../state.js";

export interface LinkRefusal {
  link: string;
  kind: string;
  reason: string;
}

/** The last refusals kept per client (a flood of forged frames must not grow memory). */
const KEEP = 50;
const refusals = new WeakMap<ClientCore, LinkRefusal[]>();

/** Link frames this client refused since it started, oldest first, each with why. */
export function linkRefusals(c: ClientCore): readonly LinkRefusal[] {
  return refusals.get(c) ?? [];
}

function refuse(c: ClientCore, l: PeerLink, kind: string, reason: string): void {
  let r = refusals.get(c);
  if (!r) refusals.set(c, (r = []));
  if (r.some((x) => x.link === l.link && x.kind === kind && x.reason === reason)) return;
  r.push({ link: l.link, kind, reason });
  if (r.length > KEEP) r.splice(0, r.length - KEEP);
  c.ports.log?.(`link ${l.link.slice(0, 12)}: refused a ${kind}: ${reason}`);
}

/** A frame on a link's channel: opened, checked as every client's fold would, then carried in (our speaker first). */
export function onLinkFrame(c: ClientCore, f: RelayFrame): void {
  if (!c.state.members.has(c.me)) return;
  const l = tagsOf(c).get(f.tag);
  if (!l) return;
  let m: LinkMessage;
  try {
    m = openLinkMessage(c.crypto, channelOf(c, l), f.blob);
  } catch (e) {
    if (e instanceof LinkFrameError) return refuse(c, l, "frame", e.message);
    throw e;
  }
  const first = actsFirst(c, l.speaker, [...c.state.members.keys()]);
  if (m.k === "hello") {
    // Our own speaker's hello to them also lands here when both sides share a relay; and a peer says hello on each start.
    if (l.side !== "offered" || (l.peer === m.pursuanceId && l.peerSpeaker === m.speaker)) return;
    const why = l.peer !== null ? `the link already has its peer ${l.peerName} (${l.peer.slice(0, 12)})` : helloRefusal(c.crypto, l.link, l.acceptKey, m);
    if (why) return refuse(c, l, "hello", why);
    return carry(c, l, `link.peer:${l.link}`, first, () => c.state.peers.get(l.link)?.peer === null, linkPeerBody(l.link, m), "hello");
  }
  if (m.k === "speaker") {
    if (m.speaker === l.peerSpeaker) return;
    if (m.handover === null) {
      return refuse(c, l, "speaker change", `their speaker number ${m.seq} is claimed to be ${m.speaker} without the previous speaker's handover: a member with rules.change confirms it out of band (pursuance client link speaker ${l.link.slice(0, 12)} ${m.speaker})`);
    }
    const body: Body = { t: "link.speaker", link: l.link, speaker: m.speaker, seq: m.seq, handover: m.handover };
    return carry(c, l, `link.speaker:${l.link}:${m.seq}`, first, () => c.state.peers.get(l.link)?.peerSpeakerSeq !== m.seq, body, "speaker change");
  }
  const id = evId(c, m.ev);
  if (id === null) return refuse(c, l, "event", "the carried event does not verify");
  // Moves (seq > 0) are not in crossSeen: the move already taken, posted again, is dropped by its count.
  const taken = () => (m.seq > 0 ? (c.state.peers.get(l.link)?.peerRelaysSeq ?? 0) >= m.seq : c.state.crossSeen.has(crossKey(l.link, id)));
  if (m.seq > 0 ? l.peerRelaysSeq === m.seq : taken()) return;
  const body: Body = { t: "link.receive", link: l.link, ev: m.ev, role: m.role, attest: m.attest, ...(m.seq ? { seq: m.seq } : {}) };
  carry(c, l, `link.receive:${l.link}:${id}`, first, () => !taken(), body, "event");
}

/** Carry a checked frame in as an event; one every client would reject is refused here instead, with the fold's reason. */
function carry(c: ClientCore, l: PeerLink, key: string, first: boolean, stillNeeded: () => boolean, body: Body, kind: string): void {
  const why = c.refusal(body);
  if (why) return refuse(c, l, kind, why);
  schedule(c, key, first, stillNeeded, async () => {
    await c.publish(body);
    forwardDuties(c);
  });
}

/** The id of a carried signed event, or null if it is not one (the fold checks signature and attestation). */
function evId(c: ClientCore, b64: string): string | null {
  try {
    const m = decodeAndVerify(c.crypto, fromB64(b64), false);
    return m?.kind === "event" ? toHex(m.id) : null;
  } catch {
    return null;
  }
}
