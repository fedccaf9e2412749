// The relay's storage port. The relay server depends only on this interface so
// the default in-memory cache and the durable PostgreSQL store are swappable.
import * as nodeCrypto from "node:crypto";

export interface StoredFrame {
  seq: number;
  tag: string;
  blob: Uint8Array;
  /** Arrival time (ms, the relay's clock); drives age eviction. */
  at: number;
}

export interface RelayStats {
  /** Frames held now. */
  count: number;
  /** Bytes held now (tag + blob, see frameBytes). */
  bytes: number;
  /** Oldest seq still held, 0 when empty. */
  oldest: number;
  /** Highest seq ever assigned, 0 when none. */
  latest: number;
  /**
   * Highest seq ever evicted, 0 when none. A fetch `since` below this has lost
   * frames; comparing with `oldest` instead would misreport seq gaps as loss.
   */
  evictedThrough: number;
}

export interface EvictBounds {
  maxMessages: number;
  maxBytes: number;
  /** Frames with `at` strictly below this go. */
  olderThan: number;
}

export interface RelayStore {
  /**
   * Names this store's sequence numbering (random, fixed for the store's life).
   * A relay restarted on an empty store gets a new one, so a client knows its
   * old cursor means nothing there.
   */
  readonly instance: string;
  /**
   * Store a frame; an identical tag+blob already held returns its seq with duplicate=true.
   * `owner` names who posted it (an address, or a connection over loopback): a store
   * that honours it evicts from the largest owner first, so one flooder cannot flush
   * everyone else. `digest`, when the caller has it, is frameDigest(tag, blob) in base64,
   * and the caller hands `blob` over with it (its own buffer, never reused): the store may
   * keep it without the copy and the hash it would otherwise make (relay-post-bytes.ts).
   */
  append(tag: string, blob: Uint8Array, now: number, owner?: string, digest?: string): Promise<{ seq: number; duplicate: boolean }>;
  /**
   * Present on a store that answers without I/O (the memory store): append and evict,
   * answered at once. The relay then handles a post within its message event, with no
   * promise per post (a post's promises were a tenth of its cost, counting their GC).
   */
  appendNow?(tag: string, blob: Uint8Array, now: number, owner?: string, digest?: string): { seq: number; duplicate: boolean };
  evictNow?(bounds: EvictBounds): number;
  /** Up to `limit` held frames with seq > since, ascending; `tags` null = all tags. */
  range(since: number, tags: ReadonlySet<string> | null, limit: number): Promise<StoredFrame[]>;
  /** Drop frames (oldest first, or oldest of the largest owner first) until every bound holds; returns how many went. */
  evict(bounds: EvictBounds): Promise<number>;
  /**
   * Highest seq evicted among frames of these tags (a fetch of them `since` below it
   * has lost frames). Absent: the store only knows the global `evictedThrough`.
   */
  evictedThroughFor?(tags: ReadonlySet<string>): number;
  /**
   * Present when several relay processes share this store: every frame any of
   * them commits, in seq order, once each. The relay then pushes to its
   * subscribers from here (and not when a post is answered), and stats().latest
   * is how far this feed has gone.
   */
  follow?(listener: (frames: StoredFrame[]) => void): void;
  /**
   * Whether the frame with this seq is still held. Present on a store whose
   * eviction does not simply go oldest-first: the relay then refuses a post
   * whose frame eviction took instead of answering `posted` for it. A store
   * that evicts oldest-first never drops what was just appended and need not
   * have it.
   */
  holds?(seq: number): boolean;
  /** Whether evict() would drop anything, from counters the store keeps: a cheap check per post. */
  needsEviction(bounds: EvictBounds): boolean;
  stats(): Promise<RelayStats>;
  close(): Promise<void>;
}

export class RelayStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RelayStoreError";
  }
}

/** What a frame costs against maxBytes. */
export function frameBytes(tag: string, blob: Uint8Array): number {
  return tag.length + blob.length;
}

/**
 * Identity of a frame for duplicate detection. Tags are base64url, so the NUL
 * separator cannot occur in them and tag/blob boundaries stay unambiguous.
 */
export function frameDigest(tag: string, blob: Uint8Array): Buffer {
  return copyAndDigest(tag, blob).digest;
}

// One-shot crypto.hash (Node >= 20.12) is ~3x cheaper than a Hash object for a 1 KiB frame.
// Its output is hex text unless asked for "buffer".
const oneShot = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, out: "buffer") => Buffer }).hash;

/**
 * The store's own copy of `blob` (the caller's buffer may be a view into a
 * reused network buffer) and the frame's digest, in one allocation and one
 * hash call: this is the relay's per-post hot path. The copy is a view into
 * an unpooled buffer that holds just tag ‖ NUL ‖ blob, so it pins nothing else.
 */
export function copyAndDigest(tag: string, blob: Uint8Array): { copy: Uint8Array; digest: Buffer } {
  const n = Buffer.byteLength(tag, "utf8");
  const buf = Buffer.allocUnsafeSlow(n + 1 + blob.length);
  buf.write(tag, 0, "utf8");
  buf[n] = 0;
  buf.set(blob, n + 1);
  const digest = oneShot ? oneShot("sha256", buf, "buffer") : nodeCrypto.createHash("sha256").update(buf).digest();
  return { copy: buf.subarray(n + 1), digest };
}
