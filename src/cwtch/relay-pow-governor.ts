// Adaptive proof-of-work for the relay, in the spirit of Tor's onion-service
// PoW defence: nobody pays while the relay is calm; when posts arrive faster
// than an honest crowd would send them, or the cache turns over fast enough
// to flush a group's history, the required difficulty climbs each tick, and
// it decays one bit at a time once calm returns. Clients learn the current
// difficulty from `hello` and from the `pow-required`/`pow-invalid` error,
// which names it, and retry with a stamp.
//
// Pure bookkeeping driven by the relay's clock: no timers, evaluated lazily
// whenever a post arrives or a client asks, so a frozen test clock freezes it.

export interface PowPolicy {
  /** Floor: the operator's fixed difficulty (0 = free when calm). */
  baseBits: number;
  /** false: the difficulty stays at baseBits whatever the load. */
  adaptive: boolean;
  /** Ceiling of the adaptive difficulty. */
  maxBits: number;
  /** First raise from the floor jumps here at once (a few bits cost a flooder nothing). */
  startBits: number;
  /** Each further pressured tick adds this many bits. */
  stepBits: number;
  /** Post attempts (accepted or not) per second above which the relay is under pressure. */
  pressurePostsPerSecond: number;
  /** Frames evicted by the size bounds per second above which the relay is under pressure. */
  pressureChurnPerSecond: number;
  /** Length of one measuring tick. */
  tickMs: number;
  /** Calm time that takes one bit off. */
  decayMs: number;
}

export const POW_POLICY_DEFAULTS: Omit<PowPolicy, "baseBits"> = {
  adaptive: true,
  maxBits: 18,
  startBits: 10,
  stepBits: 2,
  pressurePostsPerSecond: 2000,
  pressureChurnPerSecond: 1000,
  tickMs: 1000,
  decayMs: 2000,
};

export interface PowState {
  bits: number;
  /** Highest difficulty reached so far. */
  peakBits: number;
  /** Ticks that ended under pressure. */
  pressuredTicks: number;
  /** Rates measured in the last completed tick. */
  lastPostsPerSecond: number;
  lastChurnPerSecond: number;
}

export class PowGovernor {
  private bits: number;
  private peak: number;
  private tickStart: number;
  private posts = 0;
  private churn = 0;
  private calmMs = 0;
  private pressured = 0;
  private lastPosts = 0;
  private lastChurn = 0;

  constructor(private readonly p: PowPolicy, now: number) {
    this.bits = p.baseBits;
    this.peak = p.baseBits;
    this.tickStart = now;
  }

  /** The difficulty a post arriving now must meet. */
  required(now: number): number {
    this.roll(now);
    return this.bits;
  }

  /** Count a post attempt (stamped or not, accepted or rejected). */
  notePost(now: number): void {
    this.roll(now);
    this.posts++;
  }

  /** Count frames evicted by the count/byte bounds (age eviction is not churn). */
  noteEvicted(now: number, n: number): void {
    this.roll(now);
    this.churn += n;
  }

  state(now: number): PowState {
    this.roll(now);
    return { bits: this.bits, peakBits: this.peak, pressuredTicks: this.pressured, lastPostsPerSecond: this.lastPosts, lastChurnPerSecond: this.lastChurn };
  }

  /** Close every tick that ended by `now`; ticks with no traffic at all are calm. */
  private roll(now: number): void {
    const p = this.p;
    if (!p.adaptive) return;
    while (now - this.tickStart >= p.tickMs) {
      const perSec = 1000 / p.tickMs;
      this.lastPosts = this.posts * perSec;
      this.lastChurn = this.churn * perSec;
      const pressure = this.lastPosts > p.pressurePostsPerSecond || this.lastChurn > p.pressureChurnPerSecond;
      if (pressure) {
        this.pressured++;
        this.calmMs = 0;
        const next = this.bits < p.startBits ? p.startBits : this.bits + p.stepBits;
        this.bits = Math.min(p.maxBits, Math.max(p.baseBits, next));
        this.peak = Math.max(this.peak, this.bits);
      } else {
        // An idle stretch is many empty ticks: take them in one step.
        const ticks = this.posts === 0 && this.churn === 0 ? Math.floor((now - this.tickStart) / p.tickMs) : 1;
        this.calmMs += ticks * p.tickMs;
        while (this.calmMs >= p.decayMs && this.bits > p.baseBits) {
          this.calmMs -= p.decayMs;
          this.bits--;
        }
        if (this.bits === p.baseBits) this.calmMs = 0;
        this.tickStart += (ticks - 1) * p.tickMs;
      }
      this.posts = 0;
      this.churn = 0;
      this.tickStart += p.tickMs;
    }
  }
}
