// What every connection of one relay shares (relay-server.ts makes it,
// relay-connection.ts obeys it): limits, store, clock, log, proof-of-work,
// memory accounting, metrics and the fan-out.
import type { WebSocket } from "ws";
import type { Crypto } from "./crypto.js";
import type { RelayCounters } from "./relay-metrics.js";
import type { PowGovernor } from "./relay-pow-governor.js";
import type { ErrorCode, ServerFrame } from "./relay-protocol.js";
import type { RelayStore } from "./relay-store.js";
import type { Subscriptions } from "./relay-subscriptions.js";

export interface RelayLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** The resolved options a connection obeys (see RELAY_DEFAULTS in relay-server.ts). */
export interface ConnectionLimits {
  powBits: number;
  maxBlobBytes: number;
  /** The whole store's byte bound: a frame that alone exceeds it would be acknowledged and evicted at once. */
  maxBytes: number;
  postsPerSecond: number;
  postBurst: number;
  requestsPerSecond: number;
  requestBurst: number;
  maxSubscriptionsPerConnection: number;
  maxPendingPerConnection: number;
  /** Unhandled requests plus unsent answers one connection may hold before it is shed. */
  maxBufferedBytes: number;
  /** The same over all connections; beyond it the largest holders are shed. */
  maxTotalBufferedBytes: number;
}

/** Bytes the relay holds on behalf of clients, as the relay itself accounts them. */
export interface MemoryAccount {
  /** Request bytes received and not yet handled, over all connections. */
  queued: number;
  /** Highest queued + unsent bytes seen on one connection. */
  peakConnection: number;
  /** Highest total seen by the periodic check. */
  peakTotal: number;
}

/** What every connection of one relay shares. */
export interface RelayContext {
  limits: ConnectionLimits;
  store: RelayStore;
  now: () => number;
  log: RelayLogger;
  /** Non-null exactly when proof-of-work may be required. */
  crypto: Crypto | null;
  pow: PowGovernor;
  mem: MemoryAccount;
  /** Shed the connections holding most until the total is under its bound. */
  enforceTotal(): void;
  metrics: RelayCounters;
  subs: Subscriptions;
  /** Evict to the cache bounds; returns frames evicted. */
  sweep(): Promise<number>;
  /** sweep() done at once: present when the store evicts without I/O (store.evictNow). */
  sweepNow?: () => number;
  /** Whether the store is over a cache bound now (sweep would evict). */
  needsSweep(): boolean;
  /** Longest accepted post.blob text (base64url of maxBlobBytes). */
  maxB64: number;
  /** Frames per store read in a fetch (one page is held in memory). */
  pageFrames: number;
  /** Live pushes come from the store's feed (store.follow), not from answering a post. */
  fed?: boolean;
}

/** A connection as its request handlers see it (relay-post-handler.ts, relay-fetch-handler.ts). */
export interface RequestOutlet {
  readonly ws: WebSocket;
  /** Closed for holding too much: nothing more is sent. */
  readonly shedding: boolean;
  /** Who owns what this connection posts, for fair eviction (relay-owner.ts). */
  readonly owner: string;
  /** An answer, unless the connection is closing. */
  send(f: ServerFrame): void;
  /** A post refused for its proof-of-work, naming the bits required now; counted. */
  rejectPow(code: Extract<ErrorCode, "pow-required" | "pow-invalid">, message: string, rid: number, powBits: number): void;
  /** Hold writes until the current tick's work is done (one socket write per batch). */
  coalesce(): void;
  /** One whole WebSocket frame (relay-wire.ts), coalesced; only once the connection is known open and not shedding. */
  sendWire(wire: Buffer): void;
  /** Shed the connection if it holds more than its bound. */
  checkHeld(): void;
}

export class TokenBucket {
  private tokens: number;
  constructor(private readonly rate: number, private readonly burst: number, private last: number) {
    this.tokens = burst;
  }
  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.last) * this.rate) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

