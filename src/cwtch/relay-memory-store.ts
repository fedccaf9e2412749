// Default relay store: a bounded in-memory cache. Frames arrive in seq order,
// so one array (with a moving head instead of shift(), which is O(n)) is the
// sorted index for binary search by seq. Evicted frames inside the array are
// tombstoned and compacted away later.
//
// Size eviction is fair between owners (who posted: an address, or one
// connection where every client arrives over loopback, as through Tor): it
// takes the oldest frame of whoever holds the most, so a flooder evicts its
// own frames long before an honest group's: owners are ranked by all they
// hold, by bytes or by frames as the broken bound says. Owners are cheap to
// multiply over loopback, so only *settled* frames may go, those with at least
// half the store (bytes or frames) posted after them: a fresh frame is never
// taken, however many connections hold the rest, and no frame goes before half
// the store has been posted after it (the relay takes no frame larger than
// half the store, so something is always settled when a bound breaks). Age
// eviction stays oldest-first. A per-tag index serves fetches of a few tags
// without walking the store.
import { randomBytes } from "node:crypto";
import { OwnerHeap, type HeapOwner } from "./relay-owner-heap.js";
import { copyAndDigest, frameBytes, RelayStoreError, type EvictBounds, type RelayStats, type RelayStore, type StoredFrame } from "./relay-store.js";

/** What one frame costs its owner beyond its bytes: many tiny frames are not free. */
const FRAME_OVERHEAD = 1024;
/** Tags whose evictions are remembered one by one; beyond, they fold into one floor. */
const MAX_TAG_MEMORY = 100_000;

interface Owner extends HeapOwner {
  /** Its held frames, oldest first (evicted ones skipped lazily). */
  queue: Held[];
  qhead: number;
  /** Its measures changed since the heaps last heard of it (it is in `changed`). */
  dirty: boolean;
}

interface Held extends StoredFrame {
  key: string;
  size: number;
  owner: Owner;
  /** Bytes and frames posted to the store up to and including this one. */
  postedBytes: number;
  postedFrames: number;
  gone: boolean;
}

/** One tag's frames in seq order, so a fetch of a few tags never walks the whole store. */
interface TagFrames {
  /** The tag, the store's own copy (see ownCopy): every frame of the tag holds this one. */
  tag: string;
  list: Held[];
  live: number;
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
  /** Owners by bytes held (the byte bound) and by frames held (the count bound). */
  private readonly byCost = new OwnerHeap<Owner>((o) => o.cost);
  private readonly byCount = new OwnerHeap<Owner>((o) => o.count);
  /**
   * Owners whose measures changed since the heaps were last told: they hear
   * of it only when eviction asks them who holds most, so an owner posting a
   * thousand frames between evictions costs them one entry, not a thousand.
   */
  private readonly changed: Owner[] = [];
  private readonly byTag = new Map<string, TagFrames>();
  /** Everything ever appended (not duplicates): how far later posts have pushed each frame. */
  private postedBytes = 0;
  private postedFrames = 0;
  /** Frames up to this seq are settled: fairness may take them. */
  private settledThrough = 0;
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

  async append(tag: string, blob: Uint8Array, now: number, owner = "", digest?: string): Promise<{ seq: number; duplicate: boolean }> {
    return this.appendNow(tag, blob, now, owner, digest);
  }

  appendNow(tag: string, blob: Uint8Array, now: number, owner = "", digest?: string): { seq: number; duplicate: boolean } {
    this.check();
    let copy = blob;
    let key = digest;
    if (key === undefined) {
      const c = copyAndDigest(tag, blob);
      copy = c.copy;
      key = c.digest.toString("base64");
    }
    const existing = this.byDigest.get(key);
    if (existing !== undefined) return { seq: existing, duplicate: true };
    const seq = this.nextSeq++;
    const size = frameBytes(tag, blob);
    this.postedBytes += size;
    this.postedFrames++;
    let o = this.owners.get(owner);
    if (!o) this.owners.set(owner, (o = { id: owner, queue: [], qhead: 0, count: 0, cost: 0, dirty: false }));
    let t = this.byTag.get(tag);
    if (!t) {
      const own = ownCopy(tag);
      this.byTag.set(own, (t = { tag: own, list: [], live: 0 }));
    }
    const h: Held = { seq, tag: t.tag, blob: copy, at: now, key, size, owner: o, postedBytes: this.postedBytes, postedFrames: this.postedFrames, gone: false };
    this.frames.push(h);
    o.queue.push(h);
    o.count++;
    o.cost += size + FRAME_OVERHEAD;
    this.changedOwner(o);
    t.list.push(h);
    t.live++;
    this.byDigest.set(key, seq);
    this.bytes += size;
    this.live++;
    return { seq, duplicate: false };
  }

  async range(since: number, tags: ReadonlySet<string> | null, limit: number): Promise<StoredFrame[]> {
    this.check();
    const out: StoredFrame[] = [];
    if (tags === null) {
      const f = this.frames;
      for (let i = firstAfter(f, this.head, since); i < f.length && out.length < limit; i++) {
        const h = f[i]!;
        if (!h.gone) out.push({ seq: h.seq, tag: h.tag, blob: h.blob, at: h.at });
      }
      return out;
    }
    // Merge the tags' lists by seq (a min-heap of their heads): one page costs
    // its own size times log(tags), however many tags are asked.
    const heads: Array<{ l: Held[]; i: number }> = [];
    for (const tag of tags) {
      const l = this.byTag.get(tag)?.list;
      if (l) {
        const i = firstAfter(l, 0, since);
        if (i < l.length) heads.push({ l, i });
      }
    }
    const seqOf = (x: { l: Held[]; i: number }) => x.l[x.i]!.seq;
    const down = (k: number) => {
      for (;;) {
        const a = 2 * k + 1;
        const b = a + 1;
        let m = k;
        if (a < heads.length && seqOf(heads[a]!) < seqOf(heads[m]!)) m = a;
        if (b < heads.length && seqOf(heads[b]!) < seqOf(heads[m]!)) m = b;
        if (m === k) return;
        [heads[m], heads[k]] = [heads[k]!, heads[m]!];
        k = m;
      }
    };
    for (let k = (heads.length >> 1) - 1; k >= 0; k--) down(k);
    while (heads.length > 0 && out.length < limit) {
      const top = heads[0]!;
      const h = top.l[top.i++]!;
      if (!h.gone) out.push({ seq: h.seq, tag: h.tag, blob: h.blob, at: h.at });
      if (top.i >= top.l.length) heads[0] = heads[heads.length - 1]!, heads.pop();
      if (heads.length > 0) down(0);
    }
    return out;
  }

  needsEviction(b: EvictBounds): boolean {
    const h = this.oldestLive();
    return h !== undefined && (this.live > b.maxMessages || this.bytes > b.maxBytes || h.at < b.olderThan);
  }

  async evict(b: EvictBounds): Promise<number> {
    return this.evictNow(b);
  }

  evictNow(b: EvictBounds): number {
    this.check();
    let n = 0;
    for (let h = this.oldestLive(); h && h.at < b.olderThan; h = this.oldestLive()) this.remove(h), n++;
    this.settle(b);
    while (this.live > 0 && (this.live > b.maxMessages || this.bytes > b.maxBytes)) {
      // Owners are ranked by all they hold, by the bound that is broken; only
      // a settled frame of theirs may go, unless they hold more than half the
      // store. Otherwise (the largest owner holds only fresh frames) the oldest
      // frame goes, which is settled whenever anything is.
      this.tellHeaps();
      const byCount = this.live > b.maxMessages;
      const o = (byCount ? this.byCount : this.byCost).top((x) => this.owners.get(x.id) === x);
      let h: Held | undefined;
      if (o) {
        while (o.queue[o.qhead]!.gone) o.qhead++;
        h = o.queue[o.qhead]!;
      }
      // A fresh frame of an owner holding more than half the store goes before anyone's settled one:
      // that owner posted more than half the store since its oldest frame, and no other owner can be
      // that large, however many connections one flooder opens (atk16: one connection posting tiny
      // frames, fresh by bytes, had an honest group's settled frames taken instead of its own).
      const holdsHalf = o !== undefined && (byCount ? 2 * o.count > this.live : 2 * o.cost > this.bytes + FRAME_OVERHEAD * this.live);
      if (!h || (h.seq > this.settledThrough && !holdsHalf)) h = this.oldestLive()!;
      this.remove(h);
      n++;
    }
    this.compact();
    return n;
  }

  holds(seq: number): boolean {
    // Asked of the frame just appended, on every post: the last one, no search.
    const last = this.frames[this.frames.length - 1];
    if (last !== undefined && last.seq === seq) return !last.gone;
    const i = firstAfter(this.frames, this.head, seq - 1);
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
    this.byCost.clear();
    this.byCount.clear();
    this.changed.length = 0;
    this.owners.clear();
    this.byTag.clear();
    this.byDigest.clear();
    this.tagEvicted.clear();
  }

  /**
   * Settled: half the store (its bytes, or its frames, at least one) posted
   * after a frame. Settling follows seq order, so the settled frames are the
   * oldest ones, up to settledThrough.
   */
  private settle(b: EvictBounds): void {
    const byBytes = Math.floor(b.maxBytes / 2);
    const byFrames = Math.max(1, Math.floor(b.maxMessages / 2));
    const f = this.frames;
    for (let i = firstAfter(f, this.head, this.settledThrough); i < f.length; i++) {
      const h = f[i]!;
      if (this.postedBytes - h.postedBytes < byBytes && this.postedFrames - h.postedFrames < byFrames) break;
      this.settledThrough = h.seq;
    }
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
    this.disown(h);
    const t = this.byTag.get(h.tag)!;
    if (--t.live === 0) this.byTag.delete(h.tag);
    else if (t.list.length > 64 && t.live * 2 < t.list.length) t.list = t.list.filter((x) => !x.gone);
    // Fairness evicts out of seq order: a tag's mark is the highest seq it lost, never lowered.
    const mark = Math.max(this.tagEvicted.get(h.tag) ?? 0, h.seq);
    this.tagEvicted.delete(h.tag);
    this.tagEvicted.set(h.tag, mark);
    if (this.tagEvicted.size > MAX_TAG_MEMORY) {
      const [oldTag, seq] = this.tagEvicted.entries().next().value as [string, number];
      this.tagEvicted.delete(oldTag);
      this.tagFloor = Math.max(this.tagFloor, seq);
    }
  }

  private disown(h: Held): void {
    const o = h.owner;
    o.count--;
    o.cost -= h.size + FRAME_OVERHEAD;
    if (o.count === 0) {
      this.owners.delete(o.id);
      o.queue = [];
      o.qhead = 0;
      return;
    }
    while (o.queue[o.qhead]?.gone) o.qhead++;
    if (o.qhead > 1024 && o.qhead * 2 > o.queue.length) (o.queue = o.queue.slice(o.qhead)), (o.qhead = 0);
    this.changedOwner(o);
  }

  private changedOwner(o: Owner): void {
    if (!o.dirty) (o.dirty = true), this.changed.push(o);
  }

  /** Push every changed owner still holding frames into both heaps, as each change once did. */
  private tellHeaps(): void {
    const c = this.changed;
    for (let i = 0; i < c.length; i++) {
      const o = c[i]!;
      o.dirty = false;
      if (o.count > 0 && this.owners.get(o.id) === o) this.byCost.push(o), this.byCount.push(o);
    }
    c.length = 0;
    this.byCost.trim(this.owners);
    this.byCount.trim(this.owners);
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
    // Also after evictions by age alone: owners come and go, and `changed` must not keep the gone.
    this.tellHeaps();
  }

  private check(): void {
    if (this.closed) throw new RelayStoreError("memory relay store is closed");
  }
}

/**
 * `tag` in a string of its own. A caller's tag is often a slice of the whole
 * message it came in (parsePostFast slices it out of the post's text, and V8
 * keeps a slice of 13 characters or more as a view of its parent): held with
 * a frame, it would keep that ~1.4 KB text (up to ~128 KiB for a large blob)
 * alive beside the decoded blob, memory the store's byte bound never sees.
 * UTF-16 bytes give back exactly the same string, whatever it holds.
 */
function ownCopy(tag: string): string {
  return Buffer.from(tag, "utf16le").toString("utf16le");
}

/** Index in `list` (from `lo`) of the first frame with seq > since; frames are in seq order. */
function firstAfter(list: readonly StoredFrame[], lo: number, since: number): number {
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.seq <= since) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
