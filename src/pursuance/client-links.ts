// The client's half of links (protocol in link.ts): offering and taking a
// link, sending a task over one and answering one that came in; and the
// duties that move them: every member listens on its links' channels on its
// own relays and carries what the other side's speaker attested into the log;
// our speaker attests what our fold applied and posts it to the other side's
// relays.
import { fromB64, toB64, toHex } from "../cwtch/bytes.js";
import { decodeAndVerify } from "../cwtch/message.js";
import type { RelayFrame } from "../cwtch/relay-client.js";
import { ActionError } from "./actions.js";
import type { PursuanceClient } from "./client.js";
import { designated, schedule } from "./duty-schedule.js";
import type { LinkStatus } from "./events.js";
import { decodeLinkToken, encodeLinkToken, linkChannel, linkId, openLinkMessage, sealLinkMessage, signAttest, type LinkMessage } from "./link.js";
import type { CrossTask, PeerLink } from "./state.js";

// Per client: what our speaker already forwarded in this process (the other side drops repeats anyway).
const forwarded = new WeakMap<PursuanceClient, Set<string>>();

function tagsOf(c: PursuanceClient): Map<string, PeerLink> {
  const m = new Map<string, PeerLink>();
  for (const l of c.state.peers.values()) m.set(linkChannel(c.crypto, l.seed).tag, l);
  return m;
}

/** Offer a link: returns the token to hand to the other pursuance (out of band: it holds the channel seed). */
export async function offerLink(c: PursuanceClient, roles: string[]): Promise<string> {
  const seed = c.crypto.randomBytes(32);
  const link = linkId(c.crypto, seed);
  await c.publish({ t: "link.offer", link, seed: toB64(seed), roles });
  watchLinks(c);
  return encodeLinkToken({ v: 1, link, seed: toB64(seed), pursuanceId: c.id, name: c.state.name, relays: c.relays, speaker: c.me, roles });
}

/** Take another pursuance's link token; our speaker (us) introduces this side on their relays. */
export async function acceptLink(c: PursuanceClient, token: string): Promise<PeerLink> {
  const t = decodeLinkToken(c.crypto, token);
  await c.publish({ t: "link.accept", link: t.link, seed: t.seed, peer: t.pursuanceId, name: t.name, relays: t.relays, speaker: t.speaker, roles: t.roles });
  watchLinks(c);
  await postToPeer(c, c.state.peers.get(t.link)!, { k: "hello", pursuanceId: c.id, name: c.state.name, relays: c.relays, speaker: c.me });
  return c.state.peers.get(t.link)!;
}

/** A link by id prefix or by the other side's name. */
export function findLink(c: PursuanceClient, ref: string): PeerLink {
  const hits = [...c.state.peers.values()].filter((l) => (ref.length >= 6 && l.link.startsWith(ref.toLowerCase())) || (l.peerName !== "" && l.peerName === ref));
  if (hits.length !== 1) throw new ActionError(hits.length === 0 ? `no link matches ${JSON.stringify(ref)} (see 'link list')` : `${JSON.stringify(ref)} matches ${hits.length} links: use the link id`, ref);
  return hits[0]!;
}

export async function sendTask(c: PursuanceClient, l: PeerLink, title: string, body: string): Promise<string> {
  const { id } = await c.publish({ t: "task.send", link: l.link, title, body });
  forwardDuties(c);
  return id;
}

export function findReceived(c: PursuanceClient, ref: string): [string, CrossTask] {
  const hits = [...c.state.received.entries()].filter(([id]) => ref.length >= 6 && id.startsWith(ref.toLowerCase()));
  if (hits.length !== 1) throw new ActionError(hits.length === 0 ? `no task received matches ${JSON.stringify(ref)} (see 'link inbox')` : `${JSON.stringify(ref)} matches ${hits.length} tasks: give more of the id`, ref);
  return hits[0]!;
}

export async function answerTask(c: PursuanceClient, send: string, t: CrossTask, status: LinkStatus, note: string): Promise<void> {
  await c.publish({ t: "link.status", link: t.link, send, status, note });
  forwardDuties(c);
}

/** Every member: listen on our links' channels on our own relays. */
export function watchLinks(c: PursuanceClient): void {
  if (!c.state.members.has(c.me) || c.state.peers.size === 0) return;
  c.group.watchSide([...tagsOf(c).keys()]).catch((e: Error) => c.ports.log?.(`links: ${e.message}`));
}

/** A frame on a link's channel: the peer's hello (our speaker records it) or an attested event (carried in; our speaker first). */
export function onLinkFrame(c: PursuanceClient, f: RelayFrame): void {
  if (!c.state.members.has(c.me)) return;
  const l = tagsOf(c).get(f.tag);
  if (!l) return;
  const m = openLinkMessage(c.crypto, linkChannel(c.crypto, l.seed), f.blob);
  if (!m) return;
  if (m.k === "hello") {
    if (l.side !== "offered" || l.peer !== null || l.speaker !== c.me) return;
    schedule(c, `link.peer:${l.link}`, true, () => c.state.peers.get(l.link)?.peer === null, async () => {
      await c.publish({ t: "link.peer", link: l.link, peer: m.pursuanceId, name: m.name, relays: m.relays, speaker: m.speaker });
      forwardDuties(c);
    });
    return;
  }
  const id = evId(c, m.ev);
  if (id === null || c.state.crossSeen.has(id)) return;
  const first = c.state.members.has(l.speaker) ? l.speaker === c.me : designated(c.state, [...c.state.members.keys()]) === c.me;
  schedule(c, `link.receive:${id}`, first, () => !c.state.crossSeen.has(id), () => c.publish({ t: "link.receive", link: l.link, ev: m.ev, role: m.role, attest: m.attest }));
}

/** The id of a carried signed event, or null if it is not one (the fold checks signature and attestation). */
function evId(c: PursuanceClient, b64: string): string | null {
  try {
    const m = decodeAndVerify(c.crypto, fromB64(b64), false);
    return m?.kind === "event" ? toHex(m.id) : null;
  } catch {
    return null;
  }
}

/** Our speaker: attest what our fold applied (tasks we sent, our answers) and post it to the other side's relays. */
export function forwardDuties(c: PursuanceClient): void {
  const s = c.state;
  let done = forwarded.get(c);
  if (!done) forwarded.set(c, (done = new Set()));
  const out: Array<{ l: PeerLink; id: string; role: string }> = [];
  for (const [id, t] of s.sent) {
    const l = s.peers.get(t.link);
    if (l?.speaker === c.me && l.peer !== null && t.status === "sent") out.push({ l, id, role: t.role });
  }
  for (const t of s.received.values()) {
    const l = s.peers.get(t.link);
    if (t.statusEvent && l?.speaker === c.me) out.push({ l, id: t.statusEvent, role: "" });
  }
  // Where we live now, to every link we speak for (the other side posts to our relays).
  const moved = latestRelaysSet(c);
  if (moved) for (const l of s.peers.values()) if (l.speaker === c.me && l.peer !== null) out.push({ l, id: moved, role: "" });
  for (const { l, id, role } of out) {
    const ev = c.session.log.get(id);
    const key = `${l.link}:${id}`;
    if (!ev || done.has(key)) continue;
    done.add(key);
    // A duty, so a command waits for it (settle) before it exits.
    schedule(c, `link.forward:${key}`, true, () => true, () =>
      postToPeer(c, l, { k: "msg", ev: toB64(ev.bytes), role, attest: signAttest(c.crypto, c.identity, l.link, id, role) }).catch((e: Error) => {
        done.delete(key);
        throw new Error(`link ${l.link.slice(0, 12)}: could not reach ${l.peerName || "the other side"}: ${e.message}`);
      }),
    );
  }
}

// The last applied relays.set, found again only when the state's relay list changes (a move).
const lastMove = new WeakMap<PursuanceClient, { relays: readonly string[] | null; id: string | null }>();

function latestRelaysSet(c: PursuanceClient): string | null {
  const relays = c.state.relays;
  const have = lastMove.get(c);
  if (have && have.relays === relays) return have.id;
  let id: string | null = null;
  if (relays !== null) {
    const applied = c.fold.applied;
    for (let i = applied.length - 1; i >= 0; i--) {
      const a = applied[i]!;
      if (a.rejected === null && a.event.body?.t === "relays.set") {
        id = a.event.id;
        break;
      }
    }
  }
  lastMove.set(c, { relays, id });
  return id;
}

/** Post one message on the link's channel at the other side's relays; resolves once one relay holds it. */
async function postToPeer(c: PursuanceClient, l: PeerLink, m: LinkMessage): Promise<void> {
  if (l.peerRelays.length === 0) throw new ActionError("the other side's relays are not known yet", l.link);
  const f = sealLinkMessage(c.crypto, linkChannel(c.crypto, l.seed), m);
  const relays = l.peerRelays.map((u) => c.ports.connect(u).start());
  try {
    await Promise.any(relays.map((x) => x.post(f.tag, f.blob)));
  } catch (e) {
    throw new ActionError(`no relay of ${l.peerName || "the other side"} took the message (${(e as AggregateError).errors?.map((x: Error) => x.message).join("; ") ?? String(e)})`, l.peerRelays);
  } finally {
    // Promise.any settles on the first relay: give the others a moment to take it too.
    void c.sleep(2000).then(() => relays.forEach((x) => x.close()));
  }
}
