// A max-heap of the memory store's owners by one measure of what they hold.
// Entries go stale when an owner's measure changes: each change pushes a fresh
// entry, and stale ones are skipped when they reach the top (and dropped
// wholesale once they outnumber the owners).

export interface HeapOwner {
  readonly id: string;
  /** Frames held now. */
  count: number;
  /** Bytes held now, each frame charged FRAME_OVERHEAD more (many tiny frames are not free). */
  cost: number;
}

interface Entry<O> {
  owner: O;
  key: number;
}

export class OwnerHeap<O extends HeapOwner> {
  private a: Entry<O>[] = [];

  constructor(private readonly measure: (o: O) => number) {}

  /** After any change of `o`'s measure. */
  push(o: O): void {
    const a = this.a;
    a.push({ owner: o, key: this.measure(o) });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.key >= a[i]!.key) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  /** The owner holding the most by this measure, among those `live` says still exist. */
  top(live: (o: O) => boolean): O | undefined {
    while (this.a.length > 0) {
      const e = this.a[0]!;
      if (e.owner.count > 0 && e.key === this.measure(e.owner) && live(e.owner)) return e.owner;
      this.pop();
    }
    return undefined;
  }

  /** Rebuild from the owners when stale entries pile up. (The map itself: an iterator made per post to be dropped unread was garbage.) */
  trim(owners: ReadonlyMap<string, O>): void {
    if (this.a.length <= 4 * owners.size + 1024) return;
    this.a = [];
    for (const o of owners.values()) this.push(o);
  }

  clear(): void {
    this.a = [];
  }

  private pop(): void {
    const a = this.a;
    const last = a.pop()!;
    if (a.length === 0) return;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l]!.key > a[m]!.key) m = l;
      if (r < a.length && a[r]!.key > a[m]!.key) m = r;
      if (m === i) break;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
  }
}
