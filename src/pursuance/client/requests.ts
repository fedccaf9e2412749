// The client's half of asking to join (the protocol is in join-request.ts):
// members listen on the request channel while requests are open, carry valid
// requests into the log, and answer them; a requester posts its request and
// waits for an answer signed with the pursuance's answer key.
import { fromB64, toB64, toHex } from "../../cwtch/bytes.js";
import type { SignKeyPair } from "../../cwtch/crypto.js";
import type { RelayClient, RelayFrame } from "../../cwtch/relay-client.js";
import { ActionError } from "../actions.js";
import { pendingCount, retiredBy } from "../apply-requests.js";
import type { ClientCore } from "./core.js";
import { actsFirst, schedule } from "./duty-schedule.js";
import { encodeInvite } from "../invite.js";
import {
  addressChannel,
  checkRequestStamp,
  encodeRequestAddress,
  makeAnswer,
  mintRequestStamp,
  openAnswer,
  openAnswerKey,
  openRequestMessage,
  requestAddress,
  requestChannelKeys,
  sealAnswerKey,
  sealRequestMessage,
  signRequest,
  verifyRequest,
  type RequestAddress,
  type Verdict,
} from "../join-request.js";
import type { EpochKeys } from "../../cwtch/envelope.js";
import type { ClientPorts } from "../ports.js";
import { hasCap, type JoinRequest } from "../state.js";

/** Pending requests at once, unless the opener says otherwise. */
export const DEFAULT_REQUEST_LIMIT = 20;
/** Proof-of-work bits per request, unless the opener says otherwise: ~1M hashes, a second or so of a requester's CPU. */
export const DEFAULT_REQUEST_WORK = 20;

// Per client: the channel of the policy's seed, derived once per seed.
const channels = new WeakMap<ClientCore, { seed: string; keys: EpochKeys }>();

/** The channel of the last seed opened: closing keeps it, so requests still pending can be answered. */
function channelOf(c: ClientCore): { seed: string; keys: EpochKeys } | null {
  const seed = c.state.requestPolicy?.seed;
  if (!seed) return null;
  let w = channels.get(c);
  if (w?.seed !== seed) channels.set(c, (w = { seed, keys: requestChannelKeys(c.crypto, fromB64(seed)) }));
  return w;
}

/** The channel members listen on: only while requests are open. */
function current(c: ClientCore): { seed: string; keys: EpochKeys } | null {
  return c.state.requestPolicy?.open ? channelOf(c) : null;
}

/** A request frame this client refused, and why (shown by `status --json`; the newest last). */
export interface RefusedRequestFrame {
  reason: string;
  requester?: string;
}
const refused = new WeakMap<ClientCore, RefusedRequestFrame[]>();
const MAX_REFUSED = 100;

export function refusedRequestFrames(c: ClientCore): RefusedRequestFrame[] {
  return refused.get(c) ?? [];
}

function refuse(c: ClientCore, reason: string, requester?: string): void {
  let list = refused.get(c);
  if (!list) refused.set(c, (list = []));
  list.push({ reason, ...(requester ? { requester } : {}) });
  if (list.length > MAX_REFUSED) list.splice(0, list.length - MAX_REFUSED);
}

/** Member: listen on the request channel while requests are open (a new seed, a new tag); reopen a retired address. */
export function watchRequests(c: ClientCore): void {
  if (!c.state.members.has(c.me)) return;
  const w = current(c);
  if (w) c.group.watchSide([w.keys.tag]).catch((e: Error) => c.ports.log?.(`join requests: ${e.message}`));
  rotateRetired(c);
}

/**
 * A holder of the answer key lost member.invite (removed or demoted): it still
 * holds the key, so the address is retired (the fold takes no more requests
 * on it) and a holder reopens with a new seed and a new answer key sealed
 * only to the holders now. The opener acts first, else the designated holder.
 */
function rotateRetired(c: ClientCore): void {
  const s = c.state;
  const p = s.requestPolicy;
  if (!p?.open || !retiredBy(s) || !hasCap(s, c.me, "member.invite")) return;
  const holders = [...s.members.keys()].filter((m) => hasCap(s, m, "member.invite"));
  const event = p.event;
  schedule(c, `requests.rotate:${event}`, actsFirst(c, p.by, holders), () => c.state.requestPolicy?.event === event && retiredBy(c.state) !== null, () => openRequests(c, p.limit, p.work));
}

/** Member: a frame on a side tag; a valid, new request is carried into the log (the designated member first). */
export function onRequestFrame(c: ClientCore, f: RelayFrame): void {
  const w = current(c);
  if (!w || f.tag !== w.keys.tag || !c.state.members.has(c.me)) return;
  const o = openRequestMessage(c.crypto, w.keys, f.blob);
  if (!o.ok) return refuse(c, o.reason);
  const m = o.m;
  if (m.k !== "request") return;
  const s = c.state;
  const r = m.requester;
  const p = s.requestPolicy!;
  if (s.members.has(r) || s.former.has(r)) return refuse(c, "a request from a key that is or was a member", r);
  const prior = s.joinRequests.get(r);
  // The same request again (a requester reposts while it waits) is no news; anything else from that key is a replay.
  if (prior) return prior.sig === m.sig ? undefined : refuse(c, `a replayed or second request from a key that already asked (${prior.status})`, r);
  if (!checkRequestStamp(c.crypto, c.id, r, m.sig, m.stamp, p.work)) return refuse(c, `a request whose proof-of-work stamp has fewer than ${p.work} bits`, r);
  const content = { name: m.name, message: m.message, ts: m.ts };
  if (!verifyRequest(c.crypto, r, c.id, content, m.sig, p.answerKey ?? "")) return refuse(c, "a request whose signature does not verify for this pursuance and this opening (forged, made on an old address, or for another pursuance)", r);
  if (pendingCount(s) >= p.limit) return refuse(c, `a request over the limit of ${p.limit} pending`, r);
  const first = actsFirst(c, p.by, [...s.members.keys()]);
  schedule(c, `request:${r}`, first, () => !c.state.joinRequests.has(r) && (c.state.requestPolicy?.open ?? false), () =>
    c.publish({ t: "request.pending", requester: r, ...content, sig: m.sig, stamp: m.stamp }),
  );
}

/**
 * Member: open requests with a fresh address (closing and reopening changes
 * it): a new channel seed and a new answer key, its secret sealed to each
 * member holding member.invite now. Returns the address.
 */
export async function openRequests(c: ClientCore, limit = DEFAULT_REQUEST_LIMIT, work = DEFAULT_REQUEST_WORK): Promise<string> {
  const seed = c.crypto.randomBytes(32);
  const answerSeed = c.crypto.randomBytes(32);
  const answerKey = toHex(c.crypto.signKeyPair(answerSeed).publicKey);
  const holders: Record<string, string> = {};
  for (const m of c.state.members.keys()) if (hasCap(c.state, m, "member.invite")) holders[m] = sealAnswerKey(c.crypto, answerSeed, m);
  await c.publish({ t: "requests.set", open: true, seed: toB64(seed), limit, work, answerKey, holders });
  watchRequests(c);
  return encodeRequestAddress(requestAddress(c.crypto, seed, answerKey, work, c.state.name, c.id, c.config.groupId, c.relays));
}

export async function closeRequests(c: ClientCore): Promise<void> {
  await c.publish({ t: "requests.set", open: false, limit: c.state.requestPolicy?.limit ?? DEFAULT_REQUEST_LIMIT });
}

/** The current address, or null while requests are off or the address is retired. */
export function currentAddress(c: ClientCore): string | null {
  const p = c.state.requestPolicy;
  if (!p?.open || !p.seed || !p.answerKey || retiredBy(c.state)) return null;
  return encodeRequestAddress(requestAddress(c.crypto, fromB64(p.seed), p.answerKey, p.work, c.state.name, c.id, c.config.groupId, c.relays));
}

/** Member: drop pending requests (a flood, or stale ones) in one event; returns how many. */
export async function dropRequests(c: ClientCore, requesters: string[]): Promise<number> {
  if (!hasCap(c.state, c.me, "member.invite")) throw new ActionError("dropping requests needs the member.invite capability", c.me);
  const pending = requesters.filter((r) => c.state.joinRequests.get(r)?.status === "pending");
  if (pending.length === 0) return 0;
  await c.publish({ t: "request.drop", requesters: pending });
  return pending.length;
}

async function answer(c: ClientCore, r: JoinRequest, verdict: Verdict): Promise<void> {
  const w = channelOf(c);
  const p = c.state.requestPolicy;
  if (!w || !p?.answerKey) throw new ActionError("no request channel: requests were never opened in this pursuance", r.requester);
  const box = p.holders[c.me];
  const key = box ? openAnswerKey(c.crypto, box, c.identity, p.answerKey) : null;
  if (!key) throw new ActionError("this client does not hold the request address's answer key (it goes to holders of member.invite when requests open); reopen requests", c.me);
  const f = sealRequestMessage(c.crypto, w.keys, makeAnswer(c.crypto, { keys: w.keys, answer: key }, r.requester, verdict));
  await c.group.postSide(f.tag, f.blob);
}

function requirePending(c: ClientCore, r: JoinRequest): void {
  if (r.status !== "pending") throw new ActionError(`the request from ${r.name} was already ${r.status}`, r.requester);
  if (!hasCap(c.state, c.me, "member.invite")) throw new ActionError("answering requests needs the member.invite capability", c.me);
  const p = c.state.requestPolicy;
  if (!p?.answerKey || !p.holders[c.me]) throw new ActionError("this client does not hold the request address's answer key (it goes to holders of member.invite when requests open); reopen requests", c.me);
}

/** Member: admit with a keyless invite for `role`, recorded in the log and sealed to the requester. */
export async function admitRequest(c: ClientCore, r: JoinRequest, role: string): Promise<void> {
  requirePending(c, r);
  const invite = await c.createInvite(role);
  const key = toHex(c.crypto.signKeyPair(invite.inviteSeed).publicKey);
  await c.publish({ t: "request.answer", requester: r.requester, admit: true, role, invite: key, reason: "" });
  await answer(c, r, { admit: true, role, invite: encodeInvite(invite), by: c.state.members.get(c.me)?.name ?? c.me });
}

export async function refuseRequest(c: ClientCore, r: JoinRequest, reason: string): Promise<void> {
  requirePending(c, r);
  await c.publish({ t: "request.answer", requester: r.requester, admit: false, reason });
  await answer(c, r, { admit: false, reason, by: c.state.members.get(c.me)?.name ?? c.me });
}

export interface AskOptions {
  timeoutMs: number;
  /** Post the request again this often while no answer came (a member may come online later). */
  repostMs?: number;
  log?(message: string): void;
  onPosted?(): void;
  /** Stop waiting (null is returned), e.g. when the host shuts down. */
  signal?: AbortSignal;
}

/**
 * Requester: post a signed request on the address's channel and wait for an
 * answer addressed to us and signed with the address's answer key (answers
 * already on the relays count: a requester may come back later). null at the timeout.
 */
export async function askToJoin(ports: ClientPorts, identity: SignKeyPair, addr: RequestAddress, name: string, message: string, o: AskOptions): Promise<Verdict | null> {
  const keys = addressChannel(ports.crypto, addr);
  const ts = ports.now();
  const content = { name, message, ts };
  const sig = signRequest(ports.crypto, identity, addr.pursuanceId, content, addr.answerKey);
  const requester = toHex(identity.publicKey);
  // Minted once per wait: reposts carry the same request, so the cost is paid once.
  const stamp = mintRequestStamp(ports.crypto, addr.pursuanceId, requester, sig, addr.work);
  const relays: RelayClient[] = addr.relays.map((u) => ports.connect(u));
  let verdict: Verdict | null = null;
  let wake: () => void = () => {};
  const onFrame = (f: RelayFrame) => {
    if (f.tag !== keys.tag || verdict) return;
    const o = openRequestMessage(ports.crypto, keys, f.blob);
    if (!o.ok || o.m.k !== "answer") return;
    const v = openAnswer(ports.crypto, addr, identity, o.m);
    if (v) (verdict = v), wake();
  };
  const post = async () => {
    const f = sealRequestMessage(ports.crypto, keys, { k: "request", requester, sig, stamp, ...content });
    const results = await Promise.allSettled(relays.map((r) => r.post(f.tag, f.blob)));
    const ok = results.filter((x) => x.status === "fulfilled").length;
    if (ok === 0) o.log?.(`no relay took the request (${results.map((x) => (x.status === "rejected" ? (x.reason as Error).message : "")).join("; ")})`);
    return ok > 0;
  };
  try {
    for (const r of relays) {
      r.on("frame", onFrame);
      r.start();
      await r.subscribe([keys.tag]);
    }
    await Promise.allSettled(relays.map((r) => r.fetch([keys.tag], 0, onFrame)));
    if (verdict) return verdict;
    if (await post()) o.onPosted?.();
    const end = ports.now() + o.timeoutMs;
    let next = ports.now() + (o.repostMs ?? 20_000);
    o.signal?.addEventListener("abort", () => wake());
    while (!verdict && ports.now() < end && !o.signal?.aborted) {
      await new Promise<void>((res) => {
        wake = res;
        const ms = Math.min(500, Math.max(1, end - ports.now()));
        ports.setTimer(res, ms);
      });
      if (!verdict && ports.now() >= next) {
        next = ports.now() + (o.repostMs ?? 20_000);
        await post();
      }
    }
    return verdict;
  } finally {
    for (const r of relays) r.close();
  }
}
