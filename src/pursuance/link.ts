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
const ATTEST = "pursuance/link/attest/v1";
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
  /** base64url, 32 bytes: whoever holds it may post on the channel. */
  seed: string;
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
  return o as unknown as LinkToken;
}

function attestBytes(link: string, ev: string, role: string): Uint8Array {
  return utf8.encode(JSON.stringify([ATTEST, link, ev, role]));
}

/** The speaker's word that event `ev` (by a holder of `role`) was applied on its side of `link`. */
export function signAttest(crypto: Crypto, speaker: SignKeyPair, link: string, ev: string, role: string): string {
  return toHex(crypto.sign(attestBytes(link, ev, role), speaker.secretKey));
}

export function verifyAttest(crypto: Crypto, speaker: string, link: string, ev: string, role: string, sig: string): boolean {
  if (!HEX64.test(speaker) || !/^[0-9a-f]{128}$/.test(sig)) return false;
  return crypto.verify(fromHex(sig), attestBytes(link, ev, role), fromHex(speaker));
}

export type LinkMessage =
  /** The accepting side introduces itself (its id, name, relays and speaker). */
  | { k: "hello"; pursuanceId: string; name: string; relays: string[]; speaker: string }
  /** A signed event of the sender's side with its speaker's attestation. */
  | { k: "msg"; ev: string; role: string; attest: string };

export function sealLinkMessage(crypto: Crypto, keys: EpochKeys, m: LinkMessage): { tag: string; blob: Uint8Array } {
  return { tag: keys.tag, blob: sealFrame(crypto, keys, utf8.encode(JSON.stringify(m))) };
}

export function openLinkMessage(crypto: Crypto, keys: EpochKeys, blob: string): LinkMessage | null {
  let v: Record<string, unknown>;
  try {
    const plain = openFrame(crypto, keys, fromB64(blob));
    if (!plain) return null;
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain)) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (v.k === "hello") {
    const ok = typeof v.pursuanceId === "string" && HEX64.test(v.pursuanceId) && typeof v.name === "string" && Array.isArray(v.relays) && v.relays.every((r) => typeof r === "string") && typeof v.speaker === "string" && HEX64.test(v.speaker);
    return ok ? { k: "hello", pursuanceId: v.pursuanceId as string, name: v.name as string, relays: v.relays as string[], speaker: v.speaker as string } : null;
  }
  if (v.k === "msg") {
    const ok = typeof v.ev === "string" && v.ev.length <= 100_000 && typeof v.role === "string" && typeof v.attest === "string";
    return ok ? { k: "msg", ev: v.ev as string, role: v.role as string, attest: v.attest as string } : null;
  }
  return null;
}
