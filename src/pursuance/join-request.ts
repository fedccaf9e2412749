// Asking to join: how someone outside a pursuance, who holds only its public
// request address, asks to be let in, and how members answer.
//
//   seed (32 bytes, in `requests.set`, so members only)
//     ──H("…/rv")──────► rendezvous secret ─► relay tag + frame key   (in the address)
//     ──H("…/answer")──► answer signing key pair                      (public key in the address)
//
// 1. The requester signs {name, message, ts} bound to the pursuance id with its
//    own identity key and posts `{k:"request", …}` under the address's tag.
// 2. Members' clients listen there while requests are open, and one carries a
//    valid request into the log as `request.pending` (the fold dedupes, caps
//    and refuses while requests are off).
// 3. An entitled member admits (a keyless invite) or refuses (a reason) with a
//    `request.answer` in the log, and posts `{k:"answer", to, box, sig}`: the
//    invite token or the reason sealed to the requester's key, signed with the
//    answer key. Anyone may read the address and post on its tag, but only a
//    member can sign an answer, so a stranger can neither refuse nor admit in
//    the pursuance's name.
import { fromB64, fromHex, toB64, toHex, utf8 } from "../cwtch/bytes.js";
import type { Crypto, SignKeyPair } from "../cwtch/crypto.js";
import { openFrame, sealFrame } from "../cwtch/envelope.js";
import { rendezvousKeys } from "./rendezvous.js";
import { decodeTokenText, encodeTokenText, isRelayList } from "./token-text.js";
import type { EpochKeys } from "../cwtch/envelope.js";

const RV = utf8.encode("pursuance/requests/rv/v1");
const ANSWER = utf8.encode("pursuance/requests/answer/v1");
const SIGNED = "pursuance/requests/request/v1";
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
}

export interface RequestChannel {
  keys: EpochKeys;
  answer: SignKeyPair;
}

export function requestChannel(crypto: Crypto, seed: Uint8Array): RequestChannel {
  return { keys: rendezvousKeys(crypto, crypto.hash(RV, 32, seed)), answer: crypto.signKeyPair(crypto.hash(ANSWER, 32, seed)) };
}

export function requestAddress(crypto: Crypto, seed: Uint8Array, name: string, pursuanceId: string, groupId: string, relays: string[]): RequestAddress {
  return { v: 1, name, pursuanceId, groupId, relays: [...relays], rv: toB64(crypto.hash(RV, 32, seed)), answerKey: toHex(requestChannel(crypto, seed).answer.publicKey) };
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
    HEX64.test(o.answerKey);
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

/** What the requester signs: bound to one pursuance, so a request cannot be replayed into another. */
function signedBytes(pursuanceId: string, r: RequestContent): Uint8Array {
  return utf8.encode(JSON.stringify([SIGNED, pursuanceId, r.name, r.message, r.ts]));
}

export function signRequest(crypto: Crypto, identity: SignKeyPair, pursuanceId: string, r: RequestContent): string {
  return toHex(crypto.sign(signedBytes(pursuanceId, r), identity.secretKey));
}

export function verifyRequest(crypto: Crypto, requester: string, pursuanceId: string, r: RequestContent, sig: string): boolean {
  if (!HEX64.test(requester) || !/^[0-9a-f]{128}$/.test(sig)) return false;
  return crypto.verify(fromHex(sig), signedBytes(pursuanceId, r), fromHex(requester));
}

/** The requester's decision, sealed to it: an invite token, or the reason. */
export type Verdict = { admit: true; role: string; invite: string; by: string } | { admit: false; reason: string; by: string };

export type RequestMessage = ({ k: "request"; requester: string; sig: string } & RequestContent) | { k: "answer"; to: string; box: string; sig: string };

export function sealRequestMessage(crypto: Crypto, keys: EpochKeys, m: RequestMessage): { tag: string; blob: Uint8Array } {
  return { tag: keys.tag, blob: sealFrame(crypto, keys, utf8.encode(JSON.stringify(m))) };
}

/** Open and validate a frame on the request tag; null for anything that is not a well-formed message. */
export function openRequestMessage(crypto: Crypto, keys: EpochKeys, blob: string): RequestMessage | null {
  let plain: Uint8Array | null;
  try {
    plain = openFrame(crypto, keys, fromB64(blob));
  } catch {
    return null;
  }
  if (!plain) return null;
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain)) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (v.k === "request") {
    const ok = typeof v.requester === "string" && HEX64.test(v.requester) && typeof v.sig === "string" && typeof v.name === "string" && v.name.length <= 100 && typeof v.message === "string" && v.message.length <= 2000 && Number.isSafeInteger(v.ts);
    return ok ? { k: "request", requester: v.requester as string, sig: v.sig as string, name: v.name as string, message: v.message as string, ts: v.ts as number } : null;
  }
  if (v.k === "answer") {
    const ok = typeof v.to === "string" && HEX64.test(v.to) && typeof v.box === "string" && v.box.length <= 16_000 && typeof v.sig === "string";
    return ok ? { k: "answer", to: v.to as string, box: v.box as string, sig: v.sig as string } : null;
  }
  return null;
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
