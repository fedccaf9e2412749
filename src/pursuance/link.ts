// Links between pursuances: the token one side hands the other, the channel
// they talk on, and the attestations that carry a sender's role across.
//
// Each side of a link names one *speaker*: the member who offered it (A) or
// accepted it (B). A speaker attests events of its own side that its fold
// applied (a task sent, an answer given), and the other side's fold accepts a
// cross-link event only with its speaker's attestation. The attestation is
// what a bare chain of A's events cannot give: that the sender still held the
// role when A's whole log was folded (see docs/protocol.md). Messages travel
// on a side channel derived from the link's seed, posted to the receiving
// side's relays, so each side listens only where it already lives.
import { fromB64, fromHex, toHex, utf8 } from "../cwtch/bytes.js";
import type { Crypto, SignKeyPair } from "../cwtch/crypto.js";
import { openFrame, sealFrame, type EpochKeys } from "../cwtch/envelope.js";
import { rendezvousKeys } from "./rendezvous.js";
import { ROLE_NAME } from "./rules.js";
import { decodeTokenText, encodeTokenText, isRelayList } from "./token-text.js";

const ID = utf8.encode("pursuance/link/id/v1");
const RV = utf8.encode("pursuance/link/rv/v1");
const ATTEST = "pursuance/link/attest/v2";
const HELLO = "pursuance/link/hello/v1";
const HANDOVER = "pursuance/link/handover/v1";
const ACCEPT_KEY = utf8.encode("pursuance/link/accept-key/v1");
/** A link frame larger than this (base64 characters) is refused unread: more than a default relay takes (96 KiB). */
export const MAX_LINK_FRAME = 140_000;
export const LINK_PREFIX = "pursuance:link/";
const PREFIX = LINK_PREFIX;
const HEX64 = /^[0-9a-f]{64}$/;

export class LinkTokenError extends Error {
  constructor(
    message: string,
    readonly value: unknown,
  ) {
    super(message);
    this.name = "LinkTokenError";
  }
}

export const linkId = (crypto: Crypto, seed: Uint8Array): string => toHex(crypto.hash(ID, 32, seed));
export const linkChannel = (crypto: Crypto, seed: Uint8Array | string): EpochKeys =>
  rendezvousKeys(crypto, crypto.hash(RV, 32, typeof seed === "string" ? fromB64(seed) : seed));

export interface LinkToken {
  v: 1;
  link: string;
  /** base64url, 32 bytes: whoever holds it may post on the channel (it is in both logs). */
  seed: string;
  /**
   * base64url, 32 bytes, never in the offerer's log: the accept key's seed.
   * Only the token's holder can sign the hello that names the peer, so no
   * member of the offering side can name a false one.
   */
  key: string;
  pursuanceId: string;
  name: string;
  relays: string[];
  /** The offering side's speaker (its attestations are the ones to trust). */
  speaker: string;
  /** The offering side's roles allowed to send tasks over the link. */
  roles: string[];
}

export function encodeLinkToken(t: LinkToken): string {
  return encodeTokenText(PREFIX, t);
}

export function decodeLinkToken(crypto: Crypto, text: string): LinkToken {
  const o = decodeTokenText(PREFIX, text, "link token", (m, v) => new LinkTokenError(m, v));
  const ok =
    o.v === 1 &&
    typeof o.seed === "string" &&
    typeof o.key === "string" &&
    typeof o.link === "string" &&
    typeof o.pursuanceId === "string" &&
    HEX64.test(o.pursuanceId) &&
    typeof o.name === "string" &&
    isRelayList(o.relays) &&
    typeof o.speaker === "string" &&
    HEX64.test(o.speaker) &&
    Array.isArray(o.roles) &&
    o.roles.every((r) => typeof r === "string" && ROLE_NAME.test(r));
  if (!ok) throw new LinkTokenError("a link token with missing or malformed fields", o);
  let seed: Uint8Array;
  try {
    seed = fromB64(o.seed as string);
  } catch {
    throw new LinkTokenError("a link token whose seed is not base64url", o.seed);
  }
  if (seed.length !== 32 || linkId(crypto, seed) !== o.link) throw new LinkTokenError("a link token whose id does not match its seed", o.link);
  let key: Uint8Array | null = null;
  try {
    key = fromB64(o.key as string);
  } catch {
    key = null;
  }
  if (key?.length !== 32) throw new LinkTokenError("a link token whose key is not 32 bytes of base64url", o.key);
  return o as unknown as LinkToken;
}

/** The accept key: its public half goes into the offer (the log), its seed only into the token. */
export function acceptKeyPair(crypto: Crypto, secret: Uint8Array | string): SignKeyPair {
  return crypto.signKeyPair(crypto.hash(ACCEPT_KEY, 32, typeof secret === "string" ? fromB64(secret) : secret));
}

export interface HelloFields {
  pursuanceId: string;
  name: string;
  relays: string[];
  speaker: string;
  /** By the accept key over (link, pursuanceId, speaker): only the token's holder can make it. */
  proof: string;
  /** By the speaker over everything: nobody can change the name or relays a proof came with. */
  sig: string;
}

const proofBytes = (link: string, pursuanceId: string, speaker: string) => utf8.encode(JSON.stringify([HELLO, "proof", link, pursuanceId, speaker]));
const helloBytes = (link: string, h: Omit<HelloFields, "sig">) => utf8.encode(JSON.stringify([HELLO, "sig", link, h.pursuanceId, h.name, h.relays, h.speaker, h.proof]));

/** The accepter's proof alone (kept in the accepter's log, so its speaker can say hello again after a restart). */
export function signHelloProof(crypto: Crypto, link: string, pursuanceId: string, speaker: string, secret: Uint8Array | string): string {
  return toHex(crypto.sign(proofBytes(link, pursuanceId, speaker), acceptKeyPair(crypto, secret).secretKey));
}

/** The hello's signature by its speaker, over a proof made at accept time. */
export function signHelloWith(crypto: Crypto, link: string, h: Omit<HelloFields, "sig">, speaker: SignKeyPair): HelloFields {
  return { ...h, sig: toHex(crypto.sign(helloBytes(link, h), speaker.secretKey)) };
}

/** A whole hello (tests, and the accepter's first one). */
export function signHello(crypto: Crypto, h: { link: string; pursuanceId: string; name: string; relays: string[]; speaker: SignKeyPair }, secret: Uint8Array | string): HelloFields {
  const speaker = toHex(h.speaker.publicKey);
  const proof = signHelloProof(crypto, h.link, h.pursuanceId, speaker, secret);
  return signHelloWith(crypto, h.link, { pursuanceId: h.pursuanceId, name: h.name, relays: h.relays, speaker, proof }, h.speaker);
}

/** The link.peer event that carries a hello into the offering side's log. */
export const linkPeerBody = (link: string, h: HelloFields) =>
  ({ t: "link.peer", link, peer: h.pursuanceId, name: h.name, relays: h.relays, speaker: h.speaker, proof: h.proof, sig: h.sig }) as const;

/** Why a hello does not name this link's peer, or null: the fold's check and the client's, the same. */
export function helloRefusal(crypto: Crypto, link: string, acceptKey: string | null, h: HelloFields): string | null {
  if (!acceptKey) return "the offer has no accept key (made before hellos were proven): make a new link";
  if (!sigOk(crypto, acceptKey, proofBytes(link, h.pursuanceId, h.speaker), h.proof)) return "the hello is not signed with the link's accept key (only the token's holder has it)";
  if (!sigOk(crypto, h.speaker, helloBytes(link, h), h.sig)) return "the hello is not signed by the speaker it names";
  return null;
}

const handoverBytes = (link: string, seq: number, speaker: string) => utf8.encode(JSON.stringify([HANDOVER, link, seq, speaker]));

/** A speaker hands its side's voice to the next one (number `seq` of the link's speakers). */
export function signHandover(crypto: Crypto, from: SignKeyPair, link: string, seq: number, speaker: string): string {
  return toHex(crypto.sign(handoverBytes(link, seq, speaker), from.secretKey));
}

export function verifyHandover(crypto: Crypto, from: string, link: string, seq: number, speaker: string, sig: string): boolean {
  return sigOk(crypto, from, handoverBytes(link, seq, speaker), sig);
}

function sigOk(crypto: Crypto, key: string, bytes: Uint8Array, sig: string): boolean {
  if (!HEX64.test(key) || !/^[0-9a-f]{128}$/.test(sig)) return false;
  return crypto.verify(fromHex(sig), bytes, fromHex(key));
}

function attestBytes(link: string, ev: string, role: string, seq: number): Uint8Array {
  return utf8.encode(JSON.stringify([ATTEST, link, ev, role, seq]));
}

/**
 * The speaker's word that event `ev` (by a holder of `role`) was applied on
 * its side of `link`. `seq` orders moves (the count of moves its side's fold
 * applied, up to this one); 0 for anything else. Signed, so nobody can reorder.
 */
export function signAttest(crypto: Crypto, speaker: SignKeyPair, link: string, ev: string, role: string, seq: number): string {
  return toHex(crypto.sign(attestBytes(link, ev, role, seq), speaker.secretKey));
}

export function verifyAttest(crypto: Crypto, speaker: string, link: string, ev: string, role: string, seq: number, sig: string): boolean {
  return sigOk(crypto, speaker, attestBytes(link, ev, role, seq), sig);
}

export type LinkMessage =
  /** The accepting side introduces itself (its id, name, relays and speaker), proven with the token's key. */
  | ({ k: "hello" } & HelloFields)
  /** A signed event of the sender's side with its speaker's attestation (seq: see signAttest). */
  | { k: "msg"; ev: string; role: string; attest: string; seq: number }
  /** The sender's side has a new speaker: `handover` by the previous one, or none (the receiving side's entitled member must confirm). */
  | { k: "speaker"; seq: number; speaker: string; handover: string | null };

export function sealLinkMessage(crypto: Crypto, keys: EpochKeys, m: LinkMessage): { tag: string; blob: Uint8Array } {
  return { tag: keys.tag, blob: sealFrame(crypto, keys, utf8.encode(JSON.stringify(m))) };
}

/** A link frame that is not one: why, for the client's record of refused frames. */
export class LinkFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LinkFrameError";
  }
}

const SIG = /^[0-9a-f]{128}$/;

/** Open and check the shape of a frame on a link's channel; throws LinkFrameError naming what is wrong. */
export function openLinkMessage(crypto: Crypto, keys: EpochKeys, blob: string): LinkMessage {
  if (blob.length > MAX_LINK_FRAME) throw new LinkFrameError(`a frame of ${blob.length} characters (at most ${MAX_LINK_FRAME})`);
  let v: Record<string, unknown>;
  try {
    const plain = openFrame(crypto, keys, fromB64(blob));
    if (!plain) throw new LinkFrameError("a frame that does not open with the link's channel key");
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain)) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof LinkFrameError) throw e;
    throw new LinkFrameError("a frame that does not open with the link's channel key, or is not JSON");
  }
  if (v === null || typeof v !== "object") throw new LinkFrameError("a frame that is not a link message");
  if (v.k === "hello") {
    const ok = typeof v.pursuanceId === "string" && HEX64.test(v.pursuanceId) && typeof v.name === "string" && v.name.length <= 200 && isRelayList(v.relays) && typeof v.speaker === "string" && HEX64.test(v.speaker) && typeof v.proof === "string" && SIG.test(v.proof) && typeof v.sig === "string" && SIG.test(v.sig);
    if (!ok) throw new LinkFrameError("a hello with missing or malformed fields");
    return { k: "hello", pursuanceId: v.pursuanceId as string, name: v.name as string, relays: v.relays as string[], speaker: v.speaker as string, proof: v.proof as string, sig: v.sig as string };
  }
  if (v.k === "msg") {
    const ok = typeof v.ev === "string" && typeof v.role === "string" && v.role.length <= 40 && typeof v.attest === "string" && SIG.test(v.attest) && Number.isSafeInteger(v.seq) && (v.seq as number) >= 0;
    if (!ok) throw new LinkFrameError("an attested event with missing or malformed fields");
    return { k: "msg", ev: v.ev as string, role: v.role as string, attest: v.attest as string, seq: v.seq as number };
  }
  if (v.k === "speaker") {
    const ok = Number.isSafeInteger(v.seq) && (v.seq as number) > 0 && typeof v.speaker === "string" && HEX64.test(v.speaker) && (v.handover === null || (typeof v.handover === "string" && SIG.test(v.handover)));
    if (!ok) throw new LinkFrameError("a speaker change with missing or malformed fields");
    return { k: "speaker", seq: v.seq as number, speaker: v.speaker as string, handover: v.handover as string | null };
  }
  throw new LinkFrameError(`a frame of unknown kind ${JSON.stringify(String(v.k)).slice(0, 40)}`);
}
