// Default relay store: a bounded in-memory cache. Frames arrive in seq order,
// so one array (with a moving head instead of shift(), which is O(n)) is the
// sorted index for binary search by seq. Evicted frames inside the array are
// tombstoned and compacted away later.
//
// Size eviction is fair between owners (who posted: an address, or one
// connection where every client arrives over loopback, as through Tor): it
// takes the oldest frame of whoever holds the most, so a flooder evicts its
// own frames long before an honest group's. Owners are cheap to multiply, so
// fairness acts only on *settled* frames, those with at least half the store
// (bytes or frames) posted after them: a fresh frame is never taken by
// fairness, whatever many connections hold, and no frame goes before half the
// store has been posted after it. Age eviction stays oldest-first.
import { randomBytes } from "node:crypto";
import { copyAndDigest, frameBytes, RelayStoreError, type EvictBounds, type RelayStats, type RelayStore, type StoredFrame } from "./relay-store.js";

/** What one frame costs its owner beyond its bytes: many tiny frames are not free. */
const FRAME_OVERHEAD = 1024;
/** Tags whose evictions are remembered one by one; beyond, they fold into one floor. */
const MAX_TAG_MEMORY = 100_000;

interface Owner {
  id: string;
  queue: Held[];
  qhead: number;
  count: number;
  cost: number;
}

interface Held extends StoredFrame {
  key: string;
  size: number;
  ownerId: string;
  /** Set once the frame is settled: only settled frames count for their owner. */
  owner: Owner | null;
  /** Bytes and frames posted to the store up to and including this one. */
  postedBytes: number;
  postedFrames: number;
  gone: boolean;
}

interface HeapEntry {
  owner: Owner;
  cost: number;
}

const EMPTY = new Uint8Array(0);

export class MemoryRelayStore implements RelayStore {
  private frames: Held[] = [];
  private head = 0;
  private live = 0;
  private bytes = 0;
  private nextSeq: number;
  private evictedThrough = 0;
  private readonly byDigest = new Map<string, number>();
  private readonly owners = new Map<string, Owner>();
  /** Everything ever appended (not duplicates): how far later posts have pushed each frame. */
  private postedBytes = 0;
  private postedFrames = 0;
  /** Frames up to this seq are settled (given to their owners). */
  private settledThrough = 0;
  /** Max-heap by owner cost; stale entries (cost changed) are skipped when popped. */
  private heap: HeapEntry[] = [];
  /** tag -> highest evicted seq, in update order (re-inserted on update). */
  private readonly tagEvicted = new Map<string, number>();
  /** Highest seq of tag entries forgotten to keep tagEvicted bounded. */
  private tagFloor = 0;
  private closed = false;
  readonly instance = randomBytes(12).toString("hex");

  /** `startSeq` lets a caller continue numbering from elsewhere (seqs are never reused). */
  constructor(startSeq = 0) {
    this.nextSeq = startSeq + 1;
  }

  async append(tag: string, blob: Uint8Array, now: number, owner = ""): Promise<{ seq: number; duplicate: boolean }> {
    this.check();
    const { copy, digest } = copyAndDigest(tag, blob);
    const key = digest.toString("base64");
    const existing = this.byDigest.get(key);
    if (existing !== undefined) return { seq: existing, duplicate: true };
    const seq = this.nextSeq++;
    const size = frameBytes(tag, blob);
    this.postedBytes += size;
    this.postedFrames++;
    const h: Held = { seq, tag, blob: copy, at: now, key, size, ownerId: owner, owner: null, postedBytes: this.postedBytes, postedFrames: this.postedFrames, gone: false };
    this.frames.push(h);
    this.byDigest.set(key, seq);
    this.bytes += size;
    this.live++;
    return { seq, duplicate: false };
  }

  async range(since: number, tags: ReadonlySet<string> | null, limit: number): Promise<StoredFrame[]> {
    this.check();
    const out: StoredFrame[] = [];
    const f = this.frames;
    for (let i = this.firstAfter(since); i < f.length && out.length < limit; i++) {
      const h = f[i]!;
      if (!h.gone && (tags === null || tags.has(h.tag))) out.push({ seq: h.seq, tag: h.tag, blob: h.blob, at: h.at });
    }
    return out;
  }

  needsEviction(b: EvictBounds): boolean {
    const h = this.oldestLive();
    return h !== undefined && (this.live > b.maxMessages || this.bytes > b.maxBytes || h.at < b.olderThan);
  }

  async evict(b: EvictBounds): Promise<number> {
    this.check();
    let n = 0;
    for (let h = this.oldestLive(); h && h.at < b.olderThan; h = this.oldestLive()) this.remove(h), n++;
    this.settle(b);
    while (this.live > 0 && (this.live > b.maxMessages || this.bytes > b.maxBytes)) {
      const o = this.largestOwner();
      // Nothing settled: the unsettled half alone breaks a bound (one frame
      // near the store's size), and only then does the oldest go regardless.
      if (!o) {
        this.remove(this.oldestLive()!);
      } else {
        while (o.queue[o.qhead]!.gone) o.qhead++;
        this.remove(o.queue[o.qhead]!);
      }
      n++;
    }
    this.compact();
    return n;
  }

  holds(seq: number): boolean {
    const i = this.firstAfter(seq - 1);
    const h = this.frames[i];
    return h !== undefined && h.seq === seq && !h.gone;
  }

  evictedThroughFor(tags: ReadonlySet<string>): number {
    let m = this.tagFloor;
    for (const t of tags) m = Math.max(m, this.tagEvicted.get(t) ?? 0);
    return Math.min(m, this.evictedThrough);
  }

  async stats(): Promise<RelayStats> {
    this.check();
    const h = this.oldestLive();
    return { count: this.live, bytes: this.bytes, oldest: h ? h.seq : 0, latest: this.nextSeq - 1, evictedThrough: this.evictedThrough };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.frames = [];
    this.head = 0;
    this.live = 0;
    this.heap = [];
    this.owners.clear();
    this.byDigest.clear();
    this.tagEvicted.clear();
  }

  /** Give each frame with half the store posted after it to its owner, in seq order. */
  private settle(b: EvictBounds): void {
    const byBytes = Math.floor(b.maxBytes / 2);
    const byFrames = Math.floor(b.maxMessages / 2);
    const f = this.frames;
    for (let i = this.firstAfter(this.settledThrough); i < f.length; i++) {
      const h = f[i]!;
      if (this.postedBytes - h.postedBytes < byBytes && this.postedFrames - h.postedFrames < byFrames) break;
      this.settledThrough = h.seq;
      if (h.gone) continue;
      let o = this.owners.get(h.ownerId);
      if (!o) this.owners.set(h.ownerId, (o = { id: h.ownerId, queue: [], qhead: 0, count: 0, cost: 0 }));
      h.owner = o;
      o.queue.push(h);
      o.count++;
      o.cost += h.size + FRAME_OVERHEAD;
      this.heapPush({ owner: o, cost: o.cost });
    }
    this.trimHeap();
  }

  private oldestLive(): Held | undefined {
    const f = this.frames;
    while (this.head < f.length && f[this.head]!.gone) f[this.head++] = undefined as unknown as Held;
    return f[this.head];
  }

  private remove(h: Held): void {
    h.gone = true;
    h.blob = EMPTY; // release the blob now
    this.byDigest.delete(h.key);
    this.bytes -= h.size;
    this.live--;
    this.evictedThrough = Math.max(this.evictedThrough, h.seq);
    const o = h.owner;
    if (o) this.disown(h, o);
    this.tagEvicted.delete(h.tag);
    this.tagEvicted.set(h.tag, h.seq);
    if (this.tagEvicted.size > MAX_TAG_MEMORY) {
      const [t, seq] = this.tagEvicted.entries().next().value as [string, number];
      this.tagEvicted.delete(t);
      this.tagFloor = Math.max(this.tagFloor, seq);
    }
  }

  private disown(h: Held, o: Owner): void {
    h.owner = null;
    o.count--;
    o.cost -= h.size + FRAME_OVERHEAD;
    if (o.count === 0) {
      this.owners.delete(o.id);
      o.queue = [];
      o.qhead = 0;
    } else {
      while (o.queue[o.qhead]?.gone) o.qhead++;
      if (o.qhead > 1024 && o.qhead * 2 > o.queue.length) (o.queue = o.queue.slice(o.qhead)), (o.qhead = 0);
      this.heapPush({ owner: o, cost: o.cost });
    }
  }

  /** Drop tombstones once they are half the index. */
  private compact(): void {
    const f = this.frames;
    if (f.length > 1024 && this.live * 2 < f.length - this.head) {
      this.frames = f.slice(this.head).filter((h) => !h.gone);
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > f.length) {
      this.frames = f.slice(this.head);
      this.head = 0;
    }
    this.trimHeap();
  }

  /** Every cost change pushes an entry; rebuild before stale ones pile up. */
  private trimHeap(): void {
    if (this.heap.length <= 4 * this.owners.size + 1024) return;
    this.heap = [];
    for (const o of this.owners.values()) this.heapPush({ owner: o, cost: o.cost });
  }

  private largestOwner(): Owner | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (top.owner.count > 0 && top.cost === top.owner.cost && this.owners.get(top.owner.id) === top.owner) return top.owner;
      this.heapPop();
    }
    return undefined;
  }

  private heapPush(e: HeapEntry): void {
    const a = this.heap;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.cost >= a[i]!.cost) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  private heapPop(): void {
    const a = this.heap;
    const last = a.pop()!;
    if (a.length === 0) return;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l]!.cost > a[m]!.cost) m = l;
      if (r < a.length && a[r]!.cost > a[m]!.cost) m = r;
      if (m === i) break;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
  }

  /** Index of the first indexed frame with seq > since. */
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
