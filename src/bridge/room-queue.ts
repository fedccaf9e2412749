// Inbound work, one queue per room: a room's events are handled in order,
// rooms never wait on each other, and every step has a deadline, so a step
// that hangs (a dead relay, a silent homeserver) costs its room one timeout,
// not its future. A room whose steps keep failing for `stuckAfterMs` is
// reported stuck (the bridge's /ready turns false).
import { withTimeout } from "./deadline.js";

export interface RoomQueueOptions {
  /** Deadline of one step (one inbound event's handling). */
  stepTimeoutMs: number;
  /** A room with work queued and no step succeeding for this long is stuck. */
  stuckAfterMs: number;
  now?: () => number;
  onError(roomId: string, err: Error): void;
}

interface Lane {
  tail: Promise<void>;
  pending: number;
  /** When the lane last made progress (a step succeeded) or last became busy. */
  since: number;
}

export class RoomQueues {
  private readonly lanes = new Map<string, Lane>();
  private readonly now: () => number;
  /** Steps that hit their deadline, since start. */
  timeouts = 0;

  constructor(private readonly o: RoomQueueOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Run `fn` after everything queued before it in this room; `first` gates the very first step (e.g. load). */
  push(roomId: string, fn: () => Promise<void>, first: Promise<void> = Promise.resolve()): void {
    let lane = this.lanes.get(roomId);
    if (!lane) {
      lane = { tail: first, pending: 0, since: this.now() };
      this.lanes.set(roomId, lane);
    }
    const l = lane;
    l.pending++;
    l.tail = l.tail
      .then(() => withTimeout(fn(), this.o.stepTimeoutMs, `room ${roomId}`))
      .then(
        () => void (l.since = this.now()),
        (err: Error) => {
          if (err?.name === "TimeoutError") this.timeouts++;
          this.o.onError(roomId, err);
        },
      )
      .finally(() => {
        if (--l.pending === 0 && this.lanes.get(roomId) === l) this.lanes.delete(roomId);
      });
  }

  /** Rooms with work waiting and no successful step for longer than the threshold. */
  stuck(): string[] {
    const t = this.now();
    return [...this.lanes].filter(([, l]) => l.pending > 0 && t - l.since > this.o.stuckAfterMs).map(([r]) => r);
  }

  get size(): number {
    return this.lanes.size;
  }

  /** Resolves when every queued step has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.lanes.size > 0) await Promise.all([...this.lanes.values()].map((l) => l.tail));
  }
}
