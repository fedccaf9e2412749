// The causal log of one group: verified events only, delivered in causal order
// (an event is delivered once its author's previous event and all its deps
// are). Out-of-order events wait in `pending`; what they wait for is a gap.
// Two different events with one author and seq are an equivocation: both stay
// (they are validly signed; the proof is the pair) and the author is flagged.
import { equalBytes, toHex } from "./bytes.js";
import { MAX_DEPS, type SignedEvent } from "./message.js";

export interface Equivocation {
  author: string;
  seq: number;
  ids: string[];
}

export interface AuthorRange {
  author: string;
  /** First seq wanted (inclusive). */
  from: number;
  /** Last seq wanted (inclusive), or the open end of what we know exists. */
  to: number;
}

export type AddResult =
  | { status: "duplicate"; id: string }
  /** Well signed, but its `prev` is not its author's event at seq − 1: a hidden fork, never delivered. */
  | { status: "invalid"; id: string; reason: string }
  | { status: "pending"; id: string; missing: string[]; equivocation?: Equivocation }
  | { status: "delivered"; id: string; delivered: SignedEvent[]; equivocation?: Equivocation };

interface Waiting {
  id: string;
  ev: SignedEvent;
  missing: Set<string>;
  /** Hex of the author and of what the event cites (prev when seq > 1, then deps), spelt once at add. */
  author: string;
  cites: string[];
}

/** The ids of one author's seq: one, or more when the author equivocated (an array only then). */
type SeqIds = string | string[];
function idsOf(v: SeqIds | undefined): readonly string[] {
  return v === undefined ? [] : typeof v === "string" ? [v] : v;
}

export class EventLog {
  private readonly delivered = new Map<string, SignedEvent>();
  private readonly order: SignedEvent[] = [];
  private readonly pending = new Map<string, Waiting>();
  private readonly waiters = new Map<string, Set<string>>();
  /** author → seq → ids seen (delivered or pending). */
  private readonly chains = new Map<string, Map<number, SeqIds>>();
  /** author → highest delivered seq. */
  private readonly headSeq = new Map<string, { seq: number; id: string }>();
  private readonly tipSet = new Set<string>();
  readonly equivocations: Equivocation[] = [];
  readonly equivocators = new Set<string>();

  constructor(private readonly maxPending = 100_000) {}

  get size(): number {
    return this.delivered.size;
  }
  get pendingCount(): number {
    return this.pending.size;
  }
  has(id: string): boolean {
    return this.delivered.has(id) || this.pending.has(id);
  }
  get(id: string): SignedEvent | undefined {
    return this.delivered.get(id) ?? this.pending.get(id)?.ev;
  }
  /** Delivered events in delivery (causal) order. */
  events(): readonly SignedEvent[] {
    return this.order;
  }
  head(author: string): { seq: number; id: string } | undefined {
    return this.headSeq.get(author);
  }
  heads(): Map<string, { seq: number; id: string }> {
    return new Map(this.headSeq);
  }
  /** Events of `author` with seq in [from, to], delivered ones, ascending. */
  range(author: string, from: number, to: number): SignedEvent[] {
    const chain = this.chains.get(author);
    if (!chain) return [];
    const out: SignedEvent[] = [];
    for (let s = from; s <= to; s++) {
      for (const id of idsOf(chain.get(s))) {
        const ev = this.delivered.get(id);
        if (ev) out.push(ev);
      }
    }
    return out;
  }

  /** Latest events nobody cites yet: the deps of the next event we write. */
  tips(excludeAuthor?: string): Uint8Array[] {
    const out: SignedEvent[] = [];
    for (const id of this.tipSet) {
      const ev = this.delivered.get(id)!;
      if (excludeAuthor !== undefined && toHex(ev.author) === excludeAuthor) continue;
      out.push(ev);
    }
    // Newest first so the cap keeps the most informative deps.
    out.sort((a, b) => b.ts - a.ts || (toHex(a.id) < toHex(b.id) ? -1 : 1));
    return out.slice(0, MAX_DEPS).map((e) => e.id);
  }

  add(ev: SignedEvent): AddResult {
    const id = toHex(ev.id);
    if (this.delivered.has(id) || this.pending.has(id)) return { status: "duplicate", id };
    const refused = this.invalidIds.get(id);
    if (refused !== undefined) return { status: "invalid", id, reason: refused };
    const author = toHex(ev.author);
    // Every id this event cites, spelt once: the checks below and delivery reuse them.
    const n = ev.deps.length;
    const cites: string[] = new Array<string>(ev.seq > 1 ? n + 1 : n);
    let k = 0;
    if (ev.seq > 1) cites[k++] = toHex(ev.prev);
    for (let i = 0; i < n; i++) cites[k++] = toHex(ev.deps[i]!);
    const bad = this.chainFault(ev, ev.seq > 1 ? cites[0]! : null);
    if (bad) return this.invalid(id, author, bad);
    const equivocation = this.track(author, ev.seq, id);
    let missing: Set<string> | null = null;
    for (let i = 0; i < cites.length; i++) {
      const c = cites[i]!;
      if (!this.delivered.has(c)) (missing ??= new Set()).add(c);
    }
    if (missing !== null) {
      this.park(id, { id, ev, missing, author, cites });
      const r: AddResult = { status: "pending", id, missing: [...missing] };
      if (equivocation) r.equivocation = equivocation;
      return r;
    }
    const delivered: SignedEvent[] = [];
    this.deliver(id, ev, author, cites, delivered);
    const r: AddResult = { status: "delivered", id, delivered };
    if (equivocation) r.equivocation = equivocation;
    return r;
  }

  /**
   * What we know we lack: ids cited by pending events, and seq ranges of
   * authors whose later events we hold but whose earlier ones we do not.
   */
  gaps(): { ids: string[]; ranges: AuthorRange[] } {
    const ids = [...this.waiters.keys()].filter((id) => !this.pending.has(id));
    const lowestPending = new Map<string, number>();
    for (const { ev, author: a } of this.pending.values()) {
      const s = lowestPending.get(a);
      if (s === undefined || ev.seq < s) lowestPending.set(a, ev.seq);
    }
    const ranges: AuthorRange[] = [];
    for (const [author, seq] of lowestPending) {
      const have = this.headSeq.get(author)?.seq ?? 0;
      if (seq > have + 1) ranges.push({ author, from: have + 1, to: seq - 1 });
    }
    return { ids, ranges };
  }

  readonly invalidEvents: Array<{ id: string; author: string; reason: string }> = [];
  private readonly invalidIds = new Map<string, string>();

  /** A delivered `prev` must be the same author's event exactly one seq earlier. */
  private chainFault(ev: SignedEvent, prevHex: string | null): string | null {
    if (ev.seq === 1 || prevHex === null) return null;
    const prev = this.delivered.get(prevHex);
    if (!prev) return null;
    if (!equalBytes(prev.author, ev.author)) return "prev is another author's event";
    if (prev.seq !== ev.seq - 1) return `prev has seq ${prev.seq}, expected ${ev.seq - 1}`;
    return null;
  }

  private invalid(id: string, author: string, reason: string): AddResult {
    // Refused once: another relay's copy of it is the same event, not another hidden fork.
    if (!this.invalidIds.has(id)) {
      this.invalidIds.set(id, reason);
      this.invalidEvents.push({ id, author, reason });
    }
    this.equivocators.add(author);
    return { status: "invalid", id, reason };
  }

  /**
   * An event parked at a seq and then found invalid never was a variant of
   * that seq: an equivocation recorded with it stands only if two variants
   * remain, so the record does not depend on whether it came before its prev
   * (refused at once) or after (parked, then refused).
   */
  private forgetVariant(author: string, seq: number, id: string): void {
    const i = this.equivocations.findIndex((e) => e.author === author && e.seq === seq && e.ids.includes(id));
    if (i < 0) return;
    const left = [...idsOf(this.chains.get(author)?.get(seq))].sort();
    if (left.length >= 2) this.equivocations[i]!.ids = left;
    else this.equivocations.splice(i, 1);
  }


  private track(author: string, seq: number, id: string): Equivocation | undefined {
    let chain = this.chains.get(author);
    if (!chain) this.chains.set(author, (chain = new Map()));
    const had = chain.get(seq);
    if (had === undefined) {
      chain.set(seq, id);
      return undefined;
    }
    let ids: string[];
    if (typeof had === "string") {
      if (had === id) return undefined;
      chain.set(seq, (ids = [had, id]));
    } else {
      if (had.includes(id)) return undefined;
      had.push(id);
      ids = had;
    }
    // One record per (author, seq), holding every variant seen: the list does not depend on their order.
    const sorted = [...ids].sort();
    let e = this.equivocations.find((x) => x.author === author && x.seq === seq);
    if (e) e.ids = sorted;
    else this.equivocations.push((e = { author, seq, ids: sorted }));
    this.equivocators.add(author);
    return e;
  }

  private park(id: string, w: Waiting) {
    if (this.pending.size >= this.maxPending) {
      // Bounded: a flood of events citing nothing real cannot exhaust memory.
      const oldest = this.pending.keys().next().value as string;
      this.unpark(oldest);
    }
    this.pending.set(id, w);
    for (const m of w.missing) {
      let w = this.waiters.get(m);
      if (!w) this.waiters.set(m, (w = new Set()));
      w.add(id);
    }
  }

  private unpark(id: string) {
    const w = this.pending.get(id);
    if (!w) return;
    this.pending.delete(id);
    for (const m of w.missing) {
      const set = this.waiters.get(m);
      set?.delete(id);
      if (set && set.size === 0) this.waiters.delete(m);
    }
    const chain = this.chains.get(w.author);
    const had = chain?.get(w.ev.seq);
    if (had === id) chain!.delete(w.ev.seq);
    else if (Array.isArray(had)) {
      const i = had.indexOf(id);
      if (i >= 0) had.splice(i, 1);
      if (had.length === 1) chain!.set(w.ev.seq, had[0]!);
    }
  }

  private deliver(id: string, ev: SignedEvent, author: string, cites: string[], out: SignedEvent[]) {
    // Iterative, so a long chain unblocked at once cannot overflow the stack.
    const stack: Waiting[] = [];
    let cid = id;
    let cev = ev;
    let cauthor = author;
    let ccites = cites;
    for (;;) {
      this.delivered.set(cid, cev);
      this.order.push(cev);
      out.push(cev);
      const h = this.headSeq.get(cauthor);
      if (!h || cev.seq > h.seq) this.headSeq.set(cauthor, { seq: cev.seq, id: cid });
      // A tip until some delivered event cites it. Nothing delivered can cite it yet (an event is
      // delivered only after all it cites), so it always starts as one.
      this.tipSet.add(cid);
      for (let i = 0; i < ccites.length; i++) this.tipSet.delete(ccites[i]!);
      const ws = this.waiters.get(cid);
      if (ws) {
        this.waiters.delete(cid);
        for (const wid of ws) {
          const w = this.pending.get(wid);
          if (!w) continue;
          w.missing.delete(cid);
          // Its prev is checked once that is delivered, as on arrival, not only once every dep is: a hidden
          // fork that also cites an id that never comes is refused here on every client, whatever the order.
          const prevArrived = w.ev.seq > 1 && w.cites[0] === cid;
          if (w.missing.size === 0 || prevArrived) {
            const bad = this.chainFault(w.ev, w.ev.seq > 1 ? w.cites[0]! : null);
            if (bad) {
              this.unpark(wid);
              this.forgetVariant(w.author, w.ev.seq, wid);
              this.invalid(wid, w.author, bad);
              continue;
            }
            if (w.missing.size > 0) continue;
            this.pending.delete(wid);
            stack.push(w);
          }
        }
      }
      const next = stack.pop();
      if (!next) return;
      cev = next.ev;
      cid = next.id;
      cauthor = next.author;
      ccites = next.cites;
    }
  }
}
