// Default relay store: a bounded in-memory cache. Frames arrive in seq order,
// so one array (with a moving head instead of shift(), which is O(n)) is both
// the eviction queue and a sorted index for binary search by seq.
import { randomBytes } from "node:crypto";
import { frameBytes, frameDigest, RelayStoreError, type EvictBounds, type RelayStats, type RelayStore, type StoredFrame } from "./relay-store.js";

interface Held extends StoredFrame {
  key: string;
  size: number;
}

export class MemoryRelayStore implements RelayStore {
  private frames: Held[] = [];
  private head = 0;
  private bytes = 0;
  private nextSeq: number;
  private evictedThrough = 0;
  private readonly byDigest = new Map<string, number>();
  private closed = false;
  readonly instance = randomBytes(12).toString("hex");

  /** `startSeq` lets a caller continue numbering from elsewhere (seqs are never reused). */
  constructor(startSeq = 0) {
    this.nextSeq = startSeq + 1;
  }

  async append(tag: string, blob: Uint8Array, now: number): Promise<{ seq: number; duplicate: boolean }> {
    this.check();
    const key = frameDigest(tag, blob).toString("base64");
    const existing = this.byDigest.get(key);
    if (existing !== undefined) return { seq: existing, duplicate: true };
    const seq = this.nextSeq++;
    // Copy: the caller's buffer may be a view into a reused network buffer.
    const size = frameBytes(tag, blob);
    this.frames.push({ seq, tag, blob: Uint8Array.from(blob), at: now, key, size });
    this.byDigest.set(key, seq);
    this.bytes += size;
    return { seq, duplicate: false };
  }

  async range(since: number, tags: ReadonlySet<string> | null, limit: number): Promise<StoredFrame[]> {
    this.check();
    const out: StoredFrame[] = [];
    const f = this.frames;
    for (let i = this.firstAfter(since); i < f.length && out.length < limit; i++) {
      const h = f[i]!;
      if (tags === null || tags.has(h.tag)) out.push({ seq: h.seq, tag: h.tag, blob: h.blob, at: h.at });
    }
    return out;
  }

  needsEviction(b: EvictBounds): boolean {
    const h = this.frames[this.head];
    return h !== undefined && (this.frames.length - this.head > b.maxMessages || this.bytes > b.maxBytes || h.at < b.olderThan);
  }

  async evict(b: EvictBounds): Promise<number> {
    this.check();
    let n = 0;
    const f = this.frames;
    while (this.head < f.length) {
      const h = f[this.head]!;
      const count = f.length - this.head;
      if (count <= b.maxMessages && this.bytes <= b.maxBytes && h.at >= b.olderThan) break;
      this.byDigest.delete(h.key);
      this.bytes -= h.size;
      this.evictedThrough = h.seq;
      f[this.head++] = undefined as unknown as Held; // release the blob now
      n++;
    }
    if (this.head > 1024 && this.head * 2 > f.length) {
      this.frames = f.slice(this.head);
      this.head = 0;
    }
    return n;
  }

  async stats(): Promise<RelayStats> {
    this.check();
    const count = this.frames.length - this.head;
    return {
      count,
      bytes: this.bytes,
      oldest: count > 0 ? this.frames[this.head]!.seq : 0,
      latest: this.nextSeq - 1,
      evictedThrough: this.evictedThrough,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.frames = [];
    this.head = 0;
    this.byDigest.clear();
  }

  /** Index of the first held frame with seq > since. */
  private firstAfter(since: number): number {
    let lo = this.head;
    let hi = this.frames.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.frames[mid]!.seq <= since) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private check(): void {
    if (this.closed) throw new RelayStoreError("memory relay store is closed");
  }
}
