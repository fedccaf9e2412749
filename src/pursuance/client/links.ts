// The client's half of links (protocol in link.ts): offering and taking a
// link, sending a task over one and answering one that came in; and the
// duties that move them: every member listens on its links' channels on its
// own relays and carries what the other side's speaker attested into the log;
// our speaker attests what our fold applied and posts it to the other side's
// relays.
import { toB64, toHex } from "../../cwtch/bytes.js";
import type { EpochKeys } from "../../cwtch/envelope.js";
import { ActionError } from "../actions.js";
import type { ClientCore } from "./core.js";
import { schedule } from "./duty-schedule.js";
import type { LinkStatus } from "../events.js";
import { acceptKeyPair, decodeLinkToken, encodeLinkToken, linkChannel, linkId, sealLinkMessage, signAttest, signHandover, signHelloProof, signHelloWith, type LinkMessage } from "../link.js";
import type { CrossTask, PeerLink } from "../state.js";

// Per client: what our speaker already forwarded in this process (the other side drops repeats anyway).
const forwarded = new WeakMap<ClientCore, Set<string>>();

// Per client: each link's channel keys, derived once (side frames and fold batches ask often).
const channels = new WeakMap<ClientCore, Map<string, EpochKeys>>();

export function channelOf(c: ClientCore, l: PeerLink): EpochKeys {
  let m = channels.get(c);
  if (!m) channels.set(c, (m = new Map()));
  let k = m.get(l.link);
  if (!k) m.set(l.link, (k = linkChannel(c.crypto, l.seed)));
  return k;
}

export function tagsOf(c: ClientCore): Map<string, PeerLink> {
  const m = new Map<string, PeerLink>();
  for (const l of c.state.peers.values()) m.set(channelOf(c, l).tag, l);
  return m;
}

/**
 * Offer a link: returns the token to hand to the other pursuance (out of band:
 * it holds the channel seed, and the accept key's seed, which goes nowhere
 * else: not into our log, not into our store).
 */
export async function offerLink(c: ClientCore, roles: string[]): Promise<string> {
  const seed = c.crypto.randomBytes(32);
  const key = c.crypto.randomBytes(32);
  const link = linkId(c.crypto, seed);
  await c.publish({ t: "link.offer", link, seed: toB64(seed), roles, acceptKey: toHex(acceptKeyPair(c.crypto, key).publicKey) });
  watchLinks(c);
  return encodeLinkToken({ v: 1, link, seed: toB64(seed), key: toB64(key), pursuanceId: c.id, name: c.state.name, relays: c.relays, speaker: c.me, roles });
}

/** Take another pursuance's link token; our speaker (us) introduces this side on their relays (a duty: again on each start until it goes through). */
export async function acceptLink(c: ClientCore, token: string): Promise<PeerLink> {
  const t = decodeLinkToken(c.crypto, token);
  // Only the proof enters our log: it names us as the speaker, so a member of ours who reads it can only repeat our hello.
  const proof = signHelloProof(c.crypto, t.link, c.id, c.me, t.key);
  await c.publish({ t: "link.accept", link: t.link, seed: t.seed, peer: t.pursuanceId, name: t.name, relays: t.relays, speaker: t.speaker, roles: t.roles, proof });
  watchLinks(c);
  forwardDuties(c);
  return c.state.peers.get(t.link)!;
}

export async function sendTask(c: ClientCore, l: PeerLink, title: string, body: string): Promise<string> {
  const { id } = await c.publish({ t: "task.send", link: l.link, title, body });
  forwardDuties(c);
  return id;
}

export async function answerTask(c: ClientCore, send: string, t: CrossTask, status: LinkStatus, note: string): Promise<void> {
  await c.publish({ t: "link.status", link: t.link, send, status, note });
  forwardDuties(c);
}

/**
 * A member of ours with rules.change names the other side's speaker, having
 * confirmed it with them out of band (their previous speaker was removed and
 * will not hand over): from then on only the new one's attestations count.
 */
export async function confirmPeerSpeaker(c: ClientCore, l: PeerLink, speaker: string): Promise<void> {
  await c.publish({ t: "link.speaker", link: l.link, speaker, seq: l.peerSpeakerSeq + 1 });
  forwardDuties(c);
}

/** Every member: listen on our links' channels on our own relays. */
export function watchLinks(c: ClientCore): void {
  if (!c.state.members.has(c.me) || c.state.peers.size === 0) return;
  c.group.watchSide([...tagsOf(c).keys()]).catch((e: Error) => c.ports.log?.(`links: ${e.message}`));
}

/**
 * Our speaker: introduce this side to a link we accepted, and attest what our
 * fold applied (tasks we sent, our answers, our moves) to the other side's
 * relays. Each goes once per process, and again after a failure or a restart:
 * the other side takes each only once.
 */
export function forwardDuties(c: ClientCore): void {
  const s = c.state;
  let done = forwarded.get(c);
  if (!done) forwarded.set(c, (done = new Set()));
  const out: Array<{ key: string; l: PeerLink; message(): LinkMessage | null }> = [];
  const attested = (l: PeerLink, id: string, role: string, seq = 0) => ({
    key: `${l.link}:${l.speakerSeq}:${id}`,
    l,
    message: (): LinkMessage | null => {
      const ev = c.session.log.get(id);
      return ev ? { k: "msg", ev: toB64(ev.bytes), role, attest: signAttest(c.crypto, c.identity, l.link, id, role, seq), seq } : null;
    },
  });
  const moved = latestRelaysSet(c);
  for (const l of s.peers.values()) {
    // A speaker our fold replaced hands over to the next one (a removed one may not: the other side's entitled member then confirms).
    if (l.prevSpeaker === c.me && l.speaker !== c.me && l.peer !== null) {
      out.push({ key: `${l.link}:handover:${l.speakerSeq}`, l, message: () => ({ k: "speaker", seq: l.speakerSeq, speaker: l.speaker, handover: signHandover(c.crypto, c.identity, l.link, l.speakerSeq, l.speaker) }) });
    }
    if (l.speaker !== c.me) continue;
    // Only the accepter says hello: the proof names it, so a successor's hello would be refused.
    if (l.side === "accepted" && l.helloProof && l.speakerSeq === 0) {
      const proof = l.helloProof;
      out.push({ key: `${l.link}:hello`, l, message: () => ({ k: "hello", ...signHelloWith(c.crypto, l.link, { pursuanceId: c.id, name: s.name, relays: c.relays, speaker: c.me, proof }, c.identity) }) });
    }
    // A speaker named by our fold says so; the other side takes it on the previous one's handover or its own member's confirmation.
    if (l.speakerSeq > 0 && l.peer !== null) out.push({ key: `${l.link}:speaker:${l.speakerSeq}`, l, message: () => ({ k: "speaker", seq: l.speakerSeq, speaker: c.me, handover: null }) });
    // Where we live now (the other side posts to our relays), numbered by our fold's count of moves.
    if (moved && l.peer !== null) out.push(attested(l, moved.id, "", moved.seq));
  }
  for (const [id, t] of s.sent) {
    const l = s.peers.get(t.link);
    if (l?.speaker === c.me && l.peer !== null && t.status === "sent") out.push(attested(l, id, t.role));
  }
  for (const t of s.received.values()) {
    const l = s.peers.get(t.link);
    if (t.statusEvent && l?.speaker === c.me) out.push(attested(l, t.statusEvent, ""));
  }
  for (const { key, l, message } of out) {
    if (done.has(key)) continue;
    const m = message();
    if (!m) continue;
    done.add(key);
    // A duty, so a command waits for it (settle) before it exits.
    schedule(c, `link.forward:${key}`, true, () => true, () =>
      postToPeer(c, l, m).catch((e: Error) => {
        done.delete(key);
        throw new Error(`link ${l.link.slice(0, 12)}: could not reach ${l.peerName || "the other side"}: ${e.message}`);
      }),
    );
  }
}

// The last applied relays.set and how many were applied up to it, found again only when the state's relay list changes (a move).
const lastMove = new WeakMap<ClientCore, { relays: readonly string[] | null; move: { id: string; seq: number } | null }>();

/**
 * Our latest move, numbered by the count of relays.set our fold applied up to
 * it: causal order puts a later move after an earlier one whatever their
 * claimed times, so the count grows with each move and nobody picks it.
 */
function latestRelaysSet(c: ClientCore): { id: string; seq: number } | null {
  const relays = c.state.relays;
  const have = lastMove.get(c);
  if (have && have.relays === relays) return have.move;
  let move: { id: string; seq: number } | null = null;
  let n = 0;
  if (relays !== null) {
    for (const a of c.fold.applied) if (a.rejected === null && a.event.body?.t === "relays.set") move = { id: a.event.id, seq: ++n };
  }
  lastMove.set(c, { relays, move });
  return move;
}

/** Post one message on the link's channel at the other side's relays; resolves once one relay holds it. */
async function postToPeer(c: ClientCore, l: PeerLink, m: LinkMessage): Promise<void> {
  if (l.peerRelays.length === 0) throw new ActionError("the other side's relays are not known yet", l.link);
  const f = sealLinkMessage(c.crypto, channelOf(c, l), m);
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
