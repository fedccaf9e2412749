// Durable relay store on PostgreSQL (drizzle-orm over postgres-js). Writes go
// through one in-process queue: seqs then commit in the order they are
// assigned, so a concurrent fetch can never skip a frame that commits late,
// concurrent appends batch into one statement (one fsync for many posts),
// and the cached counters that bound the cache stay exact without a count(*)
// per post. Every commit takes a transaction-scoped advisory lock and NOTIFYs,
// so seqs commit in order across every relay process on the database; with
// `shared`, this store also follows what the others commit (relay-pg-feed.ts).
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { and, asc, eq, gt, inArray, sql } from "drizzle-orm";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { copyAndDigest, frameBytes, RelayStoreError, type EvictBounds, type RelayStats, type RelayStore, type StoredFrame } from "../cwtch/relay-store.js";
import { relayFrames, relayState } from "./relay-schema.js";
import { NOTIFY_CHANNEL, PgFeed } from "./relay-pg-feed.js";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));

export interface PgRelayStoreOptions {
  /** Pool size; default 10. */
  maxConnections?: number;
  migrationsFolder?: string;
  /**
   * Several relay processes share this database (behind a load balancer):
   * follow every commit, theirs and ours, through LISTEN/NOTIFY, and serve
   * subscribers from that one ordered feed.
   */
  shared?: boolean;
}

/** Apply migrations under an advisory lock so relays starting together do not race. */
export async function migrateDatabase(url: string, migrationsFolder = MIGRATIONS_DIR): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await client`select pg_advisory_lock(hashtext('pursuance/migrations'))`;
    await migrate(drizzle(client), { migrationsFolder });
  } finally {
    await client.end({ timeout: 5 });
  }
}

export async function openPgRelayStore(url: string, opts: PgRelayStoreOptions = {}): Promise<RelayStore> {
  try {
    await migrateDatabase(url, opts.migrationsFolder);
  } catch (e) {
    throw new RelayStoreError(`cannot migrate relay database: ${(e as Error).message}`, { cause: e });
  }
  const client = postgres(url, { max: opts.maxConnections ?? 10, onnotice: () => {} });
  const store = new PgRelayStore(client, drizzle(client));
  try {
    await store.load();
    if (opts.shared) await store.share();
  } catch (e) {
    await client.end({ timeout: 5 });
    throw new RelayStoreError(`cannot read relay database: ${(e as Error).message}`, { cause: e });
  }
  return store;
}

type Num = string | number | null;
const num = (v: Num | undefined) => (v === null || v === undefined ? 0 : Number(v));

interface Queued {
  tag: string;
  blob: Uint8Array;
  at: number;
  digest: Buffer;
  size: number;
  resolve(r: { seq: number; duplicate: boolean }): void;
  reject(e: Error): void;
}

class PgRelayStore implements RelayStore {
  private s: RelayStats = { count: 0, bytes: 0, oldest: 0, latest: 0, evictedThrough: 0 };
  instance = "";
  /** Arrival time of the oldest held frame: lets evict skip the database when nothing is due. */
  private oldestAt = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private queued: Queued[] = [];
  private closed = false;
  private feed: PgFeed | null = null;
  follow?: RelayStore["follow"];

  constructor(private readonly client: postgres.Sql, private readonly db: PostgresJsDatabase) {}

  async load(): Promise<void> {
    const [agg] = await this.client<{ count: Num; bytes: Num; oldest: Num; oldest_at: Num }[]>`
      select count(*) as count, coalesce(sum(size), 0) as bytes, coalesce(min(seq), 0) as oldest,
        (select at from relay_frames order by seq limit 1) as oldest_at from relay_frames`;
    // The sequence, not max(seq): the newest frames may have been evicted.
    const [sq] = await this.client<{ last_value: Num; is_called: boolean }[]>`
      select last_value, is_called from relay_frames_seq_seq`;
    // One row of relay state; its instance is minted once and kept for the database's life.
    const [inst] = await this.client<{ instance: string }[]>`
      insert into relay_state (id, evicted_through, instance) values (1, 0, ${randomBytes(12).toString("hex")})
      on conflict (id) do update set instance = coalesce(relay_state.instance, excluded.instance)
      returning instance`;
    this.instance = inst!.instance;
    const [st] = await this.db.select().from(relayState).where(eq(relayState.id, 1));
    this.s = {
      count: num(agg?.count),
      bytes: num(agg?.bytes),
      oldest: num(agg?.oldest),
      latest: sq?.is_called ? num(sq.last_value) : 0,
      evictedThrough: st?.evictedThrough ?? 0,
    };
    this.oldestAt = num(agg?.oldest_at);
  }

  append(tag: string, blob: Uint8Array, now: number): Promise<{ seq: number; duplicate: boolean }> {
    this.check();
    const done = new Promise<{ seq: number; duplicate: boolean }>((resolve, reject) => {
      const { copy, digest } = copyAndDigest(tag, blob);
      this.queued.push({ tag, blob: copy, at: now, digest, size: frameBytes(tag, blob), resolve, reject });
    });
    // Group commit: whichever flush runs next takes every queued frame, so
    // concurrent posts share one INSERT and one WAL flush.
    void this.serial("append", () => this.flush()).catch(() => {});
    return done;
  }

  private async flush(): Promise<void> {
    const batch = this.queued.splice(0, 1000);
    if (batch.length === 0) return;
    try {
      // A conflict burns a sequence value; seq gaps are harmless because loss
      // is judged by evictedThrough. VALUES order sets seq order.
      // Under one lock across every process on this database: a seq is drawn
      // and committed before the next commit draws one, so a reader that reads
      // "after the last seq I saw" never skips a frame that commits late.
      const rows = await this.db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext('pursuance/relay-append'))`);
        const r = await tx
          .insert(relayFrames)
          .values(batch.map(({ tag, blob, digest, size, at }) => ({ tag, blob, digest, size, at })))
          .onConflictDoNothing({ target: relayFrames.digest })
          .returning({ seq: relayFrames.seq, digest: relayFrames.digest });
        // Delivered at commit, to every listening relay (this one too); it names only the newest seq.
        if (r.length > 0) await tx.execute(sql`select pg_notify(${NOTIFY_CHANNEL}, ${String(Math.max(...r.map((x) => x.seq)))})`);
        return r;
      });
      const fresh = new Map(rows.map((r) => [Buffer.from(r.digest).toString("hex"), r.seq]));
      const missing = batch.filter((q) => !fresh.has(q.digest.toString("hex")));
      const held = new Map<string, number>();
      if (missing.length > 0) {
        const found = await this.db
          .select({ seq: relayFrames.seq, digest: relayFrames.digest })
          .from(relayFrames)
          .where(inArray(relayFrames.digest, missing.map((q) => q.digest)));
        for (const r of found) held.set(Buffer.from(r.digest).toString("hex"), r.seq);
      }
      for (const q of batch) {
        const key = q.digest.toString("hex");
        const seq = fresh.get(key);
        if (seq !== undefined) {
          fresh.delete(key); // a second copy in the same batch is a duplicate
          held.set(key, seq);
          // Shared: the feed counts every frame, ours and the other relays', once.
          if (!this.feed) this.count(seq, q.at, q.size);
          q.resolve({ seq, duplicate: false });
        } else if (held.has(key)) q.resolve({ seq: held.get(key)!, duplicate: true });
        else q.reject(new RelayStoreError("frame vanished during a duplicate insert"));
      }
    } catch (e) {
      const err = new RelayStoreError(`append failed: ${(e as Error).message}`, { cause: e });
      for (const q of batch) q.reject(err);
    }
  }

  async range(since: number, tags: ReadonlySet<string> | null, limit: number): Promise<StoredFrame[]> {
    this.check();
    if (tags !== null && tags.size === 0) return [];
    try {
      const where = tags === null ? gt(relayFrames.seq, since) : and(gt(relayFrames.seq, since), inArray(relayFrames.tag, [...tags]));
      return await this.db
        .select({ seq: relayFrames.seq, tag: relayFrames.tag, blob: relayFrames.blob, at: relayFrames.at })
        .from(relayFrames)
        .where(where)
        .orderBy(asc(relayFrames.seq))
        .limit(limit);
    } catch (e) {
      throw new RelayStoreError(`range failed: ${(e as Error).message}`, { cause: e });
    }
  }

  evict(b: EvictBounds): Promise<number> {
    return this.serial("evict", async () => {
      const excess = this.s.count - b.maxMessages;
      const over = this.s.bytes - b.maxBytes;
      if (this.s.count === 0 || (excess <= 0 && over <= 0 && this.oldestAt >= b.olderThan)) return 0;
      const c = this.client;
      const NONE = Number.MAX_SAFE_INTEGER; // "no frame may stay"
      // Each bound names the first seq to keep and the largest wins; every
      // probe walks the seq index from the oldest end and stops early. One
      // statement, so the delete and the eviction mark commit together.
      const keep = c`greatest(
        ${excess > 0 ? c`coalesce((select seq from relay_frames order by seq offset ${excess} limit 1), ${NONE})` : c`null`},
        ${over > 0 ? c`coalesce((select seq + 1 from (select seq, sum(size) over (order by seq rows unbounded preceding) as cum from relay_frames) w where cum >= ${over} order by seq limit 1), ${NONE})` : c`null`},
        coalesce((select seq from relay_frames where at >= ${b.olderThan} order by seq limit 1), ${NONE}))`;
      const [d] = await c<{ n: Num; bytes: Num; last: Num; oldest: Num; oldest_at: Num }[]>`
        with k as (select ${keep} as keep),
        d as (delete from relay_frames where seq < (select keep from k) returning seq, size),
        m as (insert into relay_state (id, evicted_through) select 1, max(seq) from d having count(*) > 0
              on conflict (id) do update set evicted_through = greatest(relay_state.evicted_through, excluded.evicted_through))
        select (select count(*) from d) as n, (select coalesce(sum(size), 0) from d) as bytes, (select max(seq) from d) as last,
          f.seq as oldest, f.at as oldest_at
        from (select 1) one left join lateral
          (select seq, at from relay_frames where seq >= (select keep from k) order by seq limit 1) f on true`;
      const n = num(d?.n);
      // Another relay on this database may have evicted first: re-read the counters so they stop asking.
      if (n === 0 && this.feed) await this.recount();
      if (n === 0) return 0;
      this.s.count -= n;
      this.s.bytes -= num(d?.bytes);
      this.s.oldest = num(d?.oldest);
      this.oldestAt = num(d?.oldest_at);
      this.s.evictedThrough = Math.max(this.s.evictedThrough, num(d?.last));
      return n;
    });
  }

  private async recount(): Promise<void> {
    const [agg] = await this.client<{ count: Num; bytes: Num; oldest: Num; oldest_at: Num; ev: Num }[]>`
      select count(*) as count, coalesce(sum(size), 0) as bytes, coalesce(min(seq), 0) as oldest,
        (select at from relay_frames order by seq limit 1) as oldest_at,
        (select evicted_through from relay_state where id = 1) as ev from relay_frames`;
    this.s = { ...this.s, count: num(agg?.count), bytes: num(agg?.bytes), oldest: num(agg?.oldest), evictedThrough: Math.max(this.s.evictedThrough, num(agg?.ev)) };
    this.oldestAt = num(agg?.oldest_at);
  }

  needsEviction(b: EvictBounds): boolean {
    return this.s.count > 0 && (this.s.count > b.maxMessages || this.s.bytes > b.maxBytes || this.oldestAt < b.olderThan);
  }

  async stats(): Promise<RelayStats> {
    this.check();
    // Shared: a fetch replays up to what the feed has pushed, and the feed pushes the rest, so nothing twice or skipped.
    return this.feed ? { ...this.s, latest: this.feed.fedThrough } : { ...this.s };
  }

  private count(seq: number, at: number, size: number): void {
    if (this.s.count === 0) (this.s.oldest = seq), (this.oldestAt = at);
    this.s.count++;
    this.s.bytes += size;
    this.s.latest = Math.max(this.s.latest, seq);
  }

  /** Start following every relay's commits (see PgRelayStoreOptions.shared). */
  async share(): Promise<void> {
    this.feed = await PgFeed.start(this.client, (frames, evictedThrough) => {
      for (const f of frames) this.count(f.seq, f.at, frameBytes(f.tag, f.blob));
      this.s.evictedThrough = Math.max(this.s.evictedThrough, evictedThrough);
    });
    this.follow = (listener) => this.feed!.listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail.catch(() => {});
    await this.feed?.stop();
    await this.client.end({ timeout: 5 });
  }

  private serial<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.check();
    const run = this.tail.then(fn, fn).catch((e: unknown) => {
      throw e instanceof RelayStoreError ? e : new RelayStoreError(`${what} failed: ${(e as Error).message}`, { cause: e });
    });
    this.tail = run.catch(() => {});
    return run;
  }

  private check(): void {
    if (this.closed) throw new RelayStoreError("postgres relay store is closed");
  }
}
