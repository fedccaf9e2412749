// Asking to join: how someone outside a pursuance, who holds only its public
// request address, asks to be let in, and how members answer.
//
//   seed (32 bytes, in `requests.set`, so members only)
//     ──H("…/rv")──► rendezvous secret ─► relay tag + frame key   (in the address)
//   answer key: a fresh key pair per opening, NOT derived from the seed; its
//     secret seed is sealed in `requests.set` to each holder of member.invite
//     only (public key in the address). A member who never held member.invite
//     never holds it; when a holder loses member.invite the address retires
//     (the fold stops taking its requests) and a holder reopens with a new key.
//
// 1. The requester signs {name, message, ts} bound to the pursuance id and the
//    opening (the address's answer key) with a
//    key made for this one request (so two requests by one person do not link
//    by key), stamps the signature with `work` bits of proof-of-work (bound to
//    the pursuance, the key and the signature), and posts `{k:"request", …}`
//    under the address's tag.
// 2. Members' clients listen there while requests are open, and one carries a
//    valid request into the log as `request.pending` (the fold checks the
//    signature and the stamp, dedupes, caps and refuses while requests are off).
// 3. An entitled member admits (a keyless invite) or refuses (a reason) with a
//    `request.answer` in the log, and posts `{k:"answer", to, box, sig}`: the
//    invite token or the reason sealed to the requester's key, signed with the
//    answer key. Anyone may read the address and post on its tag, but only a
//    holder of the answer key can sign an answer.
import { concat, fromB64, fromHex, toB64, toHex, utf8 } from "../cwtch/bytes.js";
import type { Crypto, SignKeyPair } from "../cwtch/crypto.js";
import { openFrame, sealFrame } from "../cwtch/envelope.js";
import { mintStamp } from "../cwtch/pow.js";
import { leadingZeroBits } from "../cwtch/relay-protocol.js";
import { MAX_REQUEST_WORK } from "./events.js";
import { nameProblem } from "./names.js";
import { rendezvousKeys } from "./rendezvous.js";
import { decodeTokenText, encodeTokenText, isRelayList } from "./token-text.js";
import type { EpochKeys } from "../cwtch/envelope.js";

const RV = utf8.encode("pursuance/requests/rv/v1");
const STAMP = utf8.encode("pursuance/requests/stamp/v1");
const SIGNED = "pursuance/requests/request/v2";
const PREFIX = "pursuance:request/";

export class RequestAddressError extends Error {
  constructor(
    message: string,
    readonly value: unknown,
  ) {
    super(message);
    this.name = "RequestAddressError";
  }
}

export interface RequestAddress {
  v: 1;
  name: string;
  pursuanceId: string;
  /** The group id (where a host keeps the requester's identity, and what its invite will name). */
  groupId: string;
  relays: string[];
  /** Rendezvous secret, base64url. */
  rv: string;
  /** The answer key (Ed25519 public, hex): answers not signed by it are ignored. */
  answerKey: string;
  /** Proof-of-work bits a request must carry. */
  work: number;
}

export interface RequestChannel {
  keys: EpochKeys;
  /** The answer key: only a holder of member.invite when the door was opened has it. */
  answer: SignKeyPair;
}

export function requestChannelKeys(crypto: Crypto, seed: Uint8Array): EpochKeys {
  return rendezvousKeys(crypto, crypto.hash(RV, 32, seed));
}

export function requestChannel(crypto: Crypto, seed: Uint8Array, answer: SignKeyPair): RequestChannel {
  return { keys: requestChannelKeys(crypto, seed), answer };
}

export function requestAddress(crypto: Crypto, seed: Uint8Array, answerKey: string, work: number, name: string, pursuanceId: string, groupId: string, relays: string[]): RequestAddress {
  return { v: 1, name, pursuanceId, groupId, relays: [...relays], rv: toB64(crypto.hash(RV, 32, seed)), answerKey, work };
}

/** The answer key's secret seed, sealed to one holder (its identity key). */
export function sealAnswerKey(crypto: Crypto, answerSeed: Uint8Array, holder: string): string {
  return toB64(crypto.sealTo(answerSeed, fromHex(holder)));
}

/** A holder's answer key from its box, if it opens and matches the policy's public key. */
export function openAnswerKey(crypto: Crypto, box: string, me: SignKeyPair, answerKey: string): SignKeyPair | null {
  let seed: Uint8Array | null;
  try {
    seed = crypto.openSealed(fromB64(box), me.publicKey, me.secretKey);
  } catch {
    return null;
  }
  if (!seed || seed.length !== 32) return null;
  const kp = crypto.signKeyPair(seed);
  return toHex(kp.publicKey) === answerKey ? kp : null;
}

/** What a request's stamp hashes: bound to the pursuance, the requester's key and its signature (so to its content). */
function stampInput(pursuanceId: string, requester: string, sig: string): Uint8Array {
  return concat(STAMP, utf8.encode(`${pursuanceId}:${requester}:${sig}:`));
}

/** True when `stamp` (base64url nonce) gives the request at least `bits` leading zero bits. */
export function checkRequestStamp(crypto: Crypto, pursuanceId: string, requester: string, sig: string, stamp: string, bits: number): boolean {
  let nonce: Uint8Array;
  try {
    nonce = fromB64(stamp);
  } catch {
    return false;
  }
  if (nonce.length === 0 || nonce.length > 16) return false;
  return leadingZeroBits(crypto.hash(concat(stampInput(pursuanceId, requester, sig), nonce), 32)) >= bits;
}

/** Mint a stamp of `bits` for a signed request: ~2^bits hashes, the cost a flooder pays per request. */
export function mintRequestStamp(crypto: Crypto, pursuanceId: string, requester: string, sig: string, bits: number): string {
  return mintStamp(crypto, stampInput(pursuanceId, requester, sig), bits, "request stamp");
}

export function encodeRequestAddress(a: RequestAddress): string {
  return encodeTokenText(PREFIX, a);
}

const HEX64 = /^[0-9a-f]{64}$/;

export function decodeRequestAddress(text: string): RequestAddress {
  const o = decodeTokenText(PREFIX, text, "request address", (m, v) => new RequestAddressError(m, v));
  const ok =
    o.v === 1 &&
    typeof o.name === "string" &&
    typeof o.pursuanceId === "string" &&
    HEX64.test(o.pursuanceId) &&
    typeof o.groupId === "string" &&
    HEX64.test(o.groupId) &&
    isRelayList(o.relays) &&
    typeof o.rv === "string" &&
    typeof o.answerKey === "string" &&
    HEX64.test(o.answerKey) &&
    Number.isSafeInteger(o.work) &&
    (o.work as number) >= 0 &&
    (o.work as number) <= MAX_REQUEST_WORK;
  if (!ok) throw new RequestAddressError("a request address with missing or malformed fields", o);
  try {
    if (fromB64(o.rv as string).length !== 32) throw new Error();
  } catch {
    throw new RequestAddressError("a request address whose rendezvous secret is not 32 bytes", o.rv);
  }
  return o as unknown as RequestAddress;
}

export function addressChannel(crypto: Crypto, a: RequestAddress): EpochKeys {
  return rendezvousKeys(crypto, a.rv);
}

export interface RequestContent {
  name: string;
  message: string;
  ts: number;
}

/**
 * What the requester signs: bound to one pursuance (no replay into another)
 * and to one opening, through the answer key its address carries, so a
 * request made on an old address is refused after a reopen whoever carries it.
 */
function signedBytes(pursuanceId: string, answerKey: string, r: RequestContent): Uint8Array {
  return utf8.encode(JSON.stringify([SIGNED, pursuanceId, answerKey, r.name, r.message, r.ts]));
}

export function signRequest(crypto: Crypto, identity: SignKeyPair, pursuanceId: string, r: RequestContent, answerKey: string): string {
  return toHex(crypto.sign(signedBytes(pursuanceId, answerKey, r), identity.secretKey));
}

export function verifyRequest(crypto: Crypto, requester: string, pursuanceId: string, r: RequestContent, sig: string, answerKey: string): boolean {
  if (!HEX64.test(requester) || !/^[0-9a-f]{128}$/.test(sig)) return false;
  return crypto.verify(fromHex(sig), signedBytes(pursuanceId, answerKey, r), fromHex(requester));
}

/** The requester's decision, sealed to it: an invite token, or the reason. */
export type Verdict = { admit: true; role: string; invite: string; by: string } | { admit: false; reason: string; by: string };

export type RequestMessage = ({ k: "request"; requester: string; sig: string; stamp: string } & RequestContent) | { k: "answer"; to: string; box: string; sig: string };

export function sealRequestMessage(crypto: Crypto, keys: EpochKeys, m: RequestMessage): { tag: string; blob: Uint8Array } {
  return { tag: keys.tag, blob: sealFrame(crypto, keys, utf8.encode(JSON.stringify(m))) };
}

/** A request frame larger than this (base64 text) is refused unopened: a request is a name, a message and keys. */
export const MAX_REQUEST_FRAME = 16_384;

export type OpenedRequest = { ok: true; m: RequestMessage } | { ok: false; reason: string };

/** Open and validate a frame on the request tag; a refusal says why (members keep it for `status --json`). */
export function openRequestMessage(crypto: Crypto, keys: EpochKeys, blob: string): OpenedRequest {
  const no = (reason: string): OpenedRequest => ({ ok: false, reason });
  if (blob.length > MAX_REQUEST_FRAME) return no(`oversized request frame (${blob.length} > ${MAX_REQUEST_FRAME} characters)`);
  let plain: Uint8Array | null;
  try {
    plain = openFrame(crypto, keys, fromB64(blob));
  } catch {
    plain = null;
  }
  if (!plain) return no("a frame that does not open with the request channel's key");
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain)) as Record<string, unknown>;
  } catch {
    return no("a request frame that is not JSON");
  }
  if (typeof v !== "object" || v === null) return no("a request frame that is not an object");
  if (v.k === "request") {
    const ok =
      typeof v.requester === "string" &&
      HEX64.test(v.requester) &&
      typeof v.sig === "string" &&
      typeof v.stamp === "string" &&
      v.stamp.length <= 24 &&
      typeof v.name === "string" &&
      v.name.length <= 100 &&
      typeof v.message === "string" &&
      v.message.length <= 2000 &&
      Number.isSafeInteger(v.ts);
    if (!ok) return no("a request with missing, malformed or oversized fields");
    const why = nameProblem(v.name as string);
    if (why) return no(`a request whose ${why}`);
    return { ok: true, m: { k: "request", requester: v.requester as string, sig: v.sig as string, stamp: v.stamp as string, name: v.name as string, message: v.message as string, ts: v.ts as number } };
  }
  if (v.k === "answer") {
    const ok = typeof v.to === "string" && HEX64.test(v.to) && typeof v.box === "string" && v.box.length <= 16_000 && typeof v.sig === "string";
    return ok ? { ok: true, m: { k: "answer", to: v.to as string, box: v.box as string, sig: v.sig as string } } : no("an answer with missing or malformed fields");
  }
  return no(`a request frame of unknown kind ${JSON.stringify(String(v.k)).slice(0, 40)}`);
}

export function makeAnswer(crypto: Crypto, ch: RequestChannel, to: string, verdict: Verdict): RequestMessage {
  const box = toB64(crypto.sealTo(utf8.encode(JSON.stringify(verdict)), fromHex(to)));
  return { k: "answer", to, box, sig: toHex(crypto.sign(utf8.encode(`${to}:${box}`), ch.answer.secretKey)) };
}

/** The requester's side: the verdict, if this answer is to us and signed by the pursuance's answer key. */
export function openAnswer(crypto: Crypto, a: RequestAddress, me: SignKeyPair, m: Extract<RequestMessage, { k: "answer" }>): Verdict | null {
  if (m.to !== toHex(me.publicKey) || !/^[0-9a-f]{128}$/.test(m.sig)) return null;
  if (!crypto.verify(fromHex(m.sig), utf8.encode(`${m.to}:${m.box}`), fromHex(a.answerKey))) return null;
  let plain: Uint8Array | null;
  try {
    plain = crypto.openSealed(fromB64(m.box), me.publicKey, me.secretKey);
  } catch {
    return null;
  }
  if (!plain) return null;
  try {
    const v = JSON.parse(new TextDecoder().decode(plain)) as Record<string, unknown>;
    if (v.admit === true && typeof v.role === "string" && typeof v.invite === "string" && typeof v.by === "string") return { admit: true, role: v.role, invite: v.invite, by: v.by };
    if (v.admit === false && typeof v.reason === "string" && typeof v.by === "string") return { admit: false, reason: v.reason, by: v.by };
  } catch {
    return null;
  }
  return null;
}
