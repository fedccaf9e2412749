// Several relay processes on one PostgreSQL: each follows every commit made
// through any of them, in seq order, once. A commit NOTIFYs with its newest
// seq only; the feed then reads the rows after the last seq it passed on, so
// a notification that arrives late, twice or never (a dropped connection; the
// re-listen and a slow poll cover it) costs a read, never a frame. Appends
// commit in seq order across processes (relay-pg-store.ts takes APPEND_LOCK),
// so "after the last seq" never skips one that commits late.
import type postgres from "postgres";
import type { StoredFrame } from "../cwtch/relay-store.js";

export const NOTIFY_CHANNEL = "pursuance_relay_frames";

type Num = string | number | null;
const BATCH = 1000;
const POLL_MS = 2000;

export class PgFeed {
  /** Highest seq passed on to listeners. */
  fedThrough = 0;
  readonly listeners = new Set<(frames: StoredFrame[]) => void>();
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private unlisten: (() => Promise<void>) | null = null;
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly sql: postgres.Sql,
    private readonly onBatch: (frames: StoredFrame[], evictedThrough: number) => void,
  ) {}

  static async start(sql: postgres.Sql, onBatch: (frames: StoredFrame[], evictedThrough: number) => void): Promise<PgFeed> {
    const f = new PgFeed(sql, onBatch);
    // Listen first, then take the starting point: a commit in between is read, not lost.
    const l = await sql.listen(NOTIFY_CHANNEL, () => f.kick(), () => f.kick());
    f.unlisten = l.unlisten;
    const [m] = await sql<{ m: Num }[]>`select coalesce(max(seq), 0) as m from relay_frames`;
    f.fedThrough = Number(m?.m ?? 0);
    f.timer = setInterval(() => f.kick(), POLL_MS);
    f.timer.unref();
    f.kick();
    return f;
  }

  /** Something may have committed: read it (one reader at a time; a kick while reading reads again). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) return void (this.again = true);
    this.running = this.drain().finally(() => (this.running = null));
  }

  private async drain(): Promise<void> {
    try {
      do {
        this.again = false;
        for (;;) {
          const rows = await this.sql<{ seq: Num; tag: string; blob: Buffer; at: Num; ev: Num }[]>`
            select seq, tag, blob, at, (select evicted_through from relay_state where id = 1) as ev
            from relay_frames where seq > ${this.fedThrough} order by seq limit ${BATCH}`;
          if (rows.length === 0 || this.stopped) break;
          const frames = rows.map((r) => ({ seq: Number(r.seq), tag: r.tag, blob: new Uint8Array(r.blob.buffer, r.blob.byteOffset, r.blob.byteLength), at: Number(r.at) }));
          this.onBatch(frames, Number(rows[0]!.ev ?? 0));
          this.fedThrough = frames[frames.length - 1]!.seq;
          for (const l of this.listeners) l(frames);
          if (rows.length < BATCH) break;
        }
      } while (this.again && !this.stopped);
    } catch {
      // The database is away for a moment: the poll or the re-listen kicks again.
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    await this.unlisten?.().catch(() => {});
  }
}
