// The client's half of asking to join (the protocol is in join-request.ts):
// members listen on the request channel while requests are open, carry valid
// requests into the log, and answer them; a requester posts its request and
// waits for an answer signed with the pursuance's answer key.
import { fromB64, toB64, toHex } from "../cwtch/bytes.js";
import type { SignKeyPair } from "../cwtch/crypto.js";
import type { RelayClient, RelayFrame } from "../cwtch/relay-client.js";
import { ActionError } from "./actions.js";
import type { PursuanceClient } from "./client.js";
import { actsFirst, schedule } from "./duty-schedule.js";
import { encodeInvite } from "./invite.js";
import {
  addressChannel,
  encodeRequestAddress,
  makeAnswer,
  openAnswer,
  openRequestMessage,
  requestAddress,
  requestChannel,
  sealRequestMessage,
  signRequest,
  verifyRequest,
  type RequestAddress,
  type RequestChannel,
  type Verdict,
} from "./join-request.js";
import type { ClientPorts } from "./ports.js";
import { hasCap, type JoinRequest } from "./state.js";

/** Pending requests at once, unless the opener says otherwise. */
export const DEFAULT_REQUEST_LIMIT = 20;

// Per client: the channel of the policy's seed, derived once per seed.
const channels = new WeakMap<PursuanceClient, { seed: string; ch: RequestChannel }>();

/** The channel of the last seed opened: closing keeps it, so requests still pending can be answered. */
function channelOf(c: PursuanceClient): { seed: string; ch: RequestChannel } | null {
  const seed = c.state.requestPolicy?.seed;
  if (!seed) return null;
  let w = channels.get(c);
  if (w?.seed !== seed) channels.set(c, (w = { seed, ch: requestChannel(c.crypto, fromB64(seed)) }));
  return w;
}

/** The channel members listen on: only while requests are open. */
function current(c: PursuanceClient): { seed: string; ch: RequestChannel } | null {
  return c.state.requestPolicy?.open ? channelOf(c) : null;
}

/** Member: listen on the request channel while requests are open (a new seed, a new tag). */
export function watchRequests(c: PursuanceClient): void {
  if (!c.state.members.has(c.me)) return;
  const w = current(c);
  if (w) c.group.watchSide([w.ch.keys.tag]).catch((e: Error) => c.ports.log?.(`join requests: ${e.message}`));
}

/** Member: a frame on a side tag; a valid, new request is carried into the log (the designated member first). */
export function onRequestFrame(c: PursuanceClient, f: RelayFrame): void {
  const w = current(c);
  if (!w || f.tag !== w.ch.keys.tag || !c.state.members.has(c.me)) return;
  const m = openRequestMessage(c.crypto, w.ch.keys, f.blob);
  if (m?.k !== "request") return;
  const s = c.state;
  const r = m.requester;
  if (s.joinRequests.has(r) || s.members.has(r) || s.former.has(r)) return;
  const content = { name: m.name, message: m.message, ts: m.ts };
  if (!verifyRequest(c.crypto, r, c.id, content, m.sig)) return;
  const opener = s.requestPolicy!.by;
  const first = actsFirst(c, opener, [...s.members.keys()]);
  schedule(c, `request:${r}`, first, () => !c.state.joinRequests.has(r) && (c.state.requestPolicy?.open ?? false), () =>
    c.publish({ t: "request.pending", requester: r, ...content, sig: m.sig }),
  );
}

/** Member: open requests with a fresh address (closing and reopening changes it); returns the address. */
export async function openRequests(c: PursuanceClient, limit = DEFAULT_REQUEST_LIMIT): Promise<string> {
  const seed = c.crypto.randomBytes(32);
  await c.publish({ t: "requests.set", open: true, seed: toB64(seed), limit });
  watchRequests(c);
  return encodeRequestAddress(requestAddress(c.crypto, seed, c.state.name, c.id, c.config.groupId, c.relays));
}

export async function closeRequests(c: PursuanceClient): Promise<void> {
  await c.publish({ t: "requests.set", open: false, limit: c.state.requestPolicy?.limit ?? DEFAULT_REQUEST_LIMIT });
}

/** The current address, or null while requests are off. */
export function currentAddress(c: PursuanceClient): string | null {
  const p = c.state.requestPolicy;
  if (!p?.open || !p.seed) return null;
  return encodeRequestAddress(requestAddress(c.crypto, fromB64(p.seed), c.state.name, c.id, c.config.groupId, c.relays));
}

async function answer(c: PursuanceClient, r: JoinRequest, verdict: Verdict): Promise<void> {
  const w = channelOf(c);
  if (!w) throw new ActionError("no request channel: requests were never opened in this pursuance", r.requester);
  const f = sealRequestMessage(c.crypto, w.ch.keys, makeAnswer(c.crypto, w.ch, r.requester, verdict));
  await c.group.postSide(f.tag, f.blob);
}

function requirePending(c: PursuanceClient, r: JoinRequest): void {
  if (r.status !== "pending") throw new ActionError(`the request from ${r.name} was already ${r.status}`, r.requester);
  if (!hasCap(c.state, c.me, "member.invite")) throw new ActionError("answering requests needs the member.invite capability", c.me);
}

/** Member: admit with a keyless invite for `role`, recorded in the log and sealed to the requester. */
export async function admitRequest(c: PursuanceClient, r: JoinRequest, role: string): Promise<void> {
  requirePending(c, r);
  const invite = await c.createInvite(role);
  const key = toHex(c.crypto.signKeyPair(invite.inviteSeed).publicKey);
  await c.publish({ t: "request.answer", requester: r.requester, admit: true, role, invite: key, reason: "" });
  await answer(c, r, { admit: true, role, invite: encodeInvite(invite), by: c.state.members.get(c.me)?.name ?? c.me });
}

export async function refuseRequest(c: PursuanceClient, r: JoinRequest, reason: string): Promise<void> {
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
  const sig = signRequest(ports.crypto, identity, addr.pursuanceId, content);
  const relays: RelayClient[] = addr.relays.map((u) => ports.connect(u));
  let verdict: Verdict | null = null;
  let wake: () => void = () => {};
  const onFrame = (f: RelayFrame) => {
    if (f.tag !== keys.tag || verdict) return;
    const m = openRequestMessage(ports.crypto, keys, f.blob);
    if (m?.k !== "answer") return;
    const v = openAnswer(ports.crypto, addr, identity, m);
    if (v) (verdict = v), wake();
  };
  const post = async () => {
    const f = sealRequestMessage(ports.crypto, keys, { k: "request", requester: toHex(identity.publicKey), sig, ...content });
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
        if (ports.setTimer) ports.setTimer(res, ms);
        else setTimeout(res, ms);
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
