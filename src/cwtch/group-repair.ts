// Gap repair for a group (group.ts): ask the group for what we lack (`want`),
// tell it how far we have each author (`heads`, SSB-style), and answer other
// members' wants and heads by re-posting what we hold, freshly sealed, each
// event at most once per cooldown (want floods cost us nothing then).
import { toHex } from "./bytes.js";
import type { GroupSession, OutFrame } from "./group-session.js";
import type { SignedControl, SignedEvent } from "./message.js";
import { ControlPayloadError, decodeHeads, decodeWant, encodeHeads, encodeWant, MAX_CONTROL_ITEMS } from "./sync-controls.js";

/** What repair needs of its group. */
export interface RepairPorts {
  /** Post a frame to every relay of the group; resolves once one holds it, fails only when `mustLand`. */
  post(f: OutFrame, mustLand: boolean): Promise<void>;
  /** The group's own request for what it lacks (its requestRepair, which a host may wrap): what the timer calls. */
  ask(): Promise<number>;
}

export interface RepairTimings {
  /** While gaps remain, ask again this often. */
  repairIntervalMs: number;
  /** Do not re-post one event more often than this. */
  repostCooldownMs: number;
}

/** Controls remembered as answered; beyond, the oldest are forgotten (a replay of one that old costs one answer). */
const MAX_ANSWERED = 10_000;

export class GroupRepair {
  private readonly reposted = new Map<string, number>();
  /** Ranges asked for after a heads control, and when (wantRanges' cooldown). */
  private readonly wanted = new Map<string, number>();
  /** Signatures of the controls answered, oldest first (bounded): each is answered once. */
  private readonly answered = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly session: GroupSession,
    private readonly ports: RepairPorts,
    private readonly o: RepairTimings,
  ) {}

  /** Tell the group how far we have each author (SSB-style), so withheld tails come to light. */
  async announceHeads(): Promise<void> {
    const heads = [...this.session.log.heads()].map(([author, h]) => ({ author, seq: h.seq }));
    for (let i = 0; i < Math.max(1, heads.length); i += MAX_CONTROL_ITEMS) {
      await this.ports.post(this.session.control("heads", encodeHeads({ heads: heads.slice(i, i + MAX_CONTROL_ITEMS) })), false);
    }
  }

  /** Ask the group for what we lack. Returns how many items were asked for. */
  async request(): Promise<number> {
    const g = this.session.log.gaps();
    const n = g.ids.length + g.ranges.length;
    if (n > 0) await this.ports.post(this.session.control("want", encodeWant(g)), false);
    return n;
  }

  /** Ask after `delay`, and again every repairIntervalMs while gaps remain. */
  schedule(delay: number) {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(async () => {
      this.timer = null;
      const asked = await this.ports.ask().catch(() => 1);
      if (asked > 0) this.schedule(this.o.repairIntervalMs);
    }, delay);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Another member's `want` or `heads`. */
  onControl(c: SignedControl) {
    if (toHex(c.author) === this.session.me) return;
    // A control is answered once: the same signed control again (a relay replaying it, re-sealed, or
    // each relay's copy) is a replay, and answering it would re-post its events every cooldown (atk17).
    const sig = toHex(c.sig);
    if (this.answered.has(sig)) return;
    this.answered.add(sig);
    if (this.answered.size > MAX_ANSWERED) this.answered.delete(this.answered.values().next().value as string);
    try {
      if (c.ctype === "want") this.answerWant(decodeWant(c.payload));
      else this.compareHeads(decodeHeads(c.payload).heads);
    } catch (e) {
      if (!(e instanceof ControlPayloadError)) throw e;
      // A member sent a malformed control: it is signed, so it is theirs; ignore it.
    }
  }

  private answerWant(w: { ids: string[]; ranges: Array<{ author: string; from: number; to: number }> }) {
    const log = this.session.log;
    const out: SignedEvent[] = [];
    for (const id of w.ids) {
      const ev = log.get(id);
      if (ev) out.push(ev);
    }
    for (const r of w.ranges) out.push(...log.range(r.author, r.from, Math.min(r.to, r.from + MAX_CONTROL_ITEMS)));
    this.repost(out);
  }

  private compareHeads(theirs: Array<{ author: string; seq: number }>) {
    const log = this.session.log;
    const out: SignedEvent[] = [];
    const seen = new Set<string>();
    const wanted: Array<{ author: string; from: number; to: number }> = [];
    for (const h of theirs) {
      seen.add(h.author);
      const mine = log.head(h.author)?.seq ?? 0;
      if (mine > h.seq) out.push(...log.range(h.author, h.seq + 1, Math.min(mine, h.seq + MAX_CONTROL_ITEMS)));
      else if (h.seq > mine) wanted.push({ author: h.author, from: mine + 1, to: h.seq });
    }
    this.wantRanges(wanted);
    // Authors they have never heard of: push from the start.
    for (const [author, h] of log.heads()) if (!seen.has(author)) out.push(...log.range(author, 1, Math.min(h.seq, MAX_CONTROL_ITEMS)));
    this.repost(out);
  }

  /**
   * One want for all the ranges a heads control shows us lacking (not one per author), and none
   * asked again within the re-post cooldown: a heads control replayed, or one claiming hundreds
   * of authors far ahead, costs the group one frame, not one per author per replay.
   */
  private wantRanges(ranges: Array<{ author: string; from: number; to: number }>) {
    const now = Date.now();
    const fresh = ranges.filter((r) => {
      const key = `${r.author} ${r.from} ${r.to}`;
      if ((this.wanted.get(key) ?? -Infinity) + this.o.repostCooldownMs > now) return false;
      this.wanted.set(key, now);
      return true;
    });
    if (this.wanted.size > 4 * MAX_CONTROL_ITEMS) for (const [k, t] of this.wanted) if (t + this.o.repostCooldownMs <= now) this.wanted.delete(k);
    for (let i = 0; i < fresh.length; i += MAX_CONTROL_ITEMS) {
      const frame = this.session.control("want", encodeWant({ ids: [], ranges: fresh.slice(i, i + MAX_CONTROL_ITEMS) }));
      this.ports.post(frame, false).catch(() => {});
    }
  }

  private repost(events: SignedEvent[]) {
    const now = Date.now();
    for (const ev of events) {
      const id = toHex(ev.id);
      if ((this.reposted.get(id) ?? -Infinity) + this.o.repostCooldownMs > now) continue;
      this.reposted.set(id, now);
      this.ports.post(this.session.frameFor(ev), false).catch(() => {});
    }
  }
}
