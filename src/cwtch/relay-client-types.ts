// What a relay client is given and what it answers with: its options, the
// frames it delivers, its errors and events (relay-client.ts is the client).
import type { Crypto } from "./crypto.js";
import type { ServerFrame } from "./relay-protocol.js";

export interface RelayFrame {
  relay: string;
  seq: number;
  tag: string;
  blob: string;
}

export type Hello = Extract<ServerFrame, { op: "hello" }>;

export interface RelayClientOptions {
  url: string;
  crypto: Crypto;
  /** e.g. socks5h://127.0.0.1:9050 — required for ws://….onion. */
  socksProxy?: string;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  requestTimeoutMs?: number;
  /** First re-send of an unanswered post after this long, doubling up to maxResendMs. */
  minResendMs?: number;
  maxResendMs?: number;
  /** Reconnect when the relay has not greeted this long after the socket opened (the hello was lost). */
  helloTimeoutMs?: number;
  /**
   * The most proof-of-work bits this client mints for one post (default POW_CLIENT_MAX_BITS): a relay
   * (hostile or misconfigured) that demands more is refused at once; within it, minting yields and
   * stops at the post's deadline.
   */
  maxPowBits?: number;
}

/** 24 bits is ~16M hashes, seconds of work; the relay's adaptive difficulty tops out at 18 by default. */
export const POW_CLIENT_MAX_BITS = 24;

/** Re-stamps after a raised difficulty per post before giving up (the relay may keep raising it). */
export const MAX_RESTAMPS = 6;

export interface FetchResult {
  latest: number;
  /** Set when frames after `since` were evicted: the oldest seq the relay still holds. */
  prunedOldest?: number;
  frames: number;
}

export class RelayError extends Error {
  constructor(
    readonly relay: string,
    readonly code: string,
    message: string,
    /** On pow-required/pow-invalid: the difficulty the relay requires now. */
    readonly powBits?: number,
  ) {
    super(`${relay}: ${code}: ${message}`);
    this.name = "RelayError";
  }
}

export interface RelayClientEvents {
  frame: [RelayFrame];
  connected: [Hello];
  disconnected: [string];
  protocolError: [Error];
}

