// One client connection of the relay (relay-server.ts): rate limits, request
// ordering, post/fetch/subscribe handling, and the live fan-out shared by all
// connections. Every hostile input ends in an `error` frame on this
// connection only; nothing a client sends may throw past a handler.
import type { Duplex } from "node:stream";
import { WebSocket, type RawData } from "ws";
import { fromB64Canonical, toB64 } from "./bytes.js";
import type { Crypto } from "./crypto.js";
import { checkPow } from "./pow.js";
import type { RelayCounters } from "./relay-metrics.js";
import { FrameError, parseClientFrame, RELAY_PROTOCOL_VERSION, type ClientFrame, type ErrorCode, type ServerFrame } from "./relay-protocol.js";
import type { RelayStats, RelayStore } from "./relay-store.js";

export interface RelayLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** The resolved options a connection obeys (see RELAY_DEFAULTS in relay-server.ts). */
export interface ConnectionLimits {
  powBits: number;
  maxBlobBytes: number;
  postsPerSecond: number;
  postBurst: number;
  requestsPerSecond: number;
  requestBurst: number;
  maxSubscriptionsPerConnection: number;
  maxPendingPerConnection: number;
  maxBufferedBytes: number;
}

/** What every connection of one relay shares. */
export interface RelayContext {
  limits: ConnectionLimits;
  store: RelayStore;
  now: () => number;
  log: RelayLogger;
  /** Non-null exactly when proof-of-work is required. */
  crypto: Crypto | null;
  metrics: RelayCounters;
  subs: Subscriptions;
  /** Evict to the cache bounds; returns frames evicted. */
  sweep(): Promise<number>;
  /** Longest accepted post.blob text (base64url of maxBlobBytes). */
  maxB64: number;
  /** Frames per store read in a fetch (one page is held in memory). */
  pageFrames: number;
}

export class TokenBucket {
  private tokens: number;
  constructor(private readonly rate: number, private readonly burst: number, private last: number) {
    this.tokens = burst;
  }
  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.last) * this.rate) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Who listens to what, and the live push of newly stored frames. */
export class Subscriptions {
  readonly all = new Set<RelayConnection>();
  readonly byTag = new Map<string, Set<RelayConnection>>();

  constructor(private readonly maxBufferedBytes: number, private readonly log: RelayLogger) {}

  push(tag: string, seq: number, blob: string): void {
    const targets = new Set(this.all);
    for (const c of this.byTag.get(tag) ?? []) targets.add(c);
    if (targets.size === 0) return;
    const text = JSON.stringify({ op: "frame", seq, tag, blob } satisfies ServerFrame); // once for all
    for (const c of targets) {
      if (c.ws.readyState !== WebSocket.OPEN) continue;
      // A subscriber that stops reading would make us buffer without limit;
      // dropping it is safe because it can resume with fetch(since).
      if (c.ws.bufferedAmount > this.maxBufferedBytes) {
        this.log.warn("dropping slow subscriber", { buffered: c.ws.bufferedAmount });
        c.ws.terminate();
        continue;
      }
      c.coalesce();
      c.ws.send(text);
    }
  }
}

export class RelayConnection {
  all = false;
  readonly tags = new Set<string>();
  /** Requests run in arrival order: each starts when this settles. */
  private chain: Promise<void> = Promise.resolve();
  /** Posts started but not answered; they overlap so a store can batch commits. */
  private readonly posting = new Set<Promise<void>>();
  private pending = 0;
  private alive = true;
  private readonly posts: TokenBucket;
  private readonly reqs: TokenBucket;
  private corked = false;

  /** `socket` is the connection's own socket, the one `ws` writes to (from the HTTP upgrade). */
  constructor(
    readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly ctx: RelayContext,
    onClose: (c: RelayConnection) => void,
  ) {
    const { limits: o, store, log, metrics: m } = ctx;
    const t = ctx.now();
    this.posts = new TokenBucket(o.postsPerSecond, o.postBurst, t);
    this.reqs = new TokenBucket(o.requestsPerSecond, o.requestBurst, t);
    this.chain = store.stats().then(
      (st: RelayStats) => this.send({ op: "hello", version: RELAY_PROTOCOL_VERSION, oldest: st.oldest, latest: st.latest, powBits: o.powBits, maxBlobBytes: o.maxBlobBytes, instance: this.ctx.store.instance }),
      (e: unknown) => {
        log.error("stats failed on connect", { error: String(e) });
        this.reject("internal", "relay store unavailable");
      },
    );
    ws.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    ws.on("pong", () => void (this.alive = true));
    ws.on("error", (e: Error & { code?: string }) => {
      if (e.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") m.rejected["too-large"]++;
      else m.rejected["bad-frame"]++;
    });
    ws.on("close", () => (this.unsubscribe(undefined), onClose(this)));
  }

  /** Requests still running (the relay lets them finish before closing its store). */
  inflight(): Promise<void>[] {
    return [this.chain, ...this.posting];
  }

  /** Heartbeat tick: drop a peer that did not answer the last ping, else ping it. */
  heartbeat(): void {
    if (!this.alive) this.ws.terminate();
    else (this.alive = false), this.ws.ping();
  }

  /**
   * Hold writes to this client until the current tick's work is done, so the
   * answers and pushed frames of one batch of requests leave in one socket
   * write instead of one system call each (the relay's largest cost under load).
   */
  coalesce(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  private send(f: ServerFrame): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.coalesce();
    this.ws.send(JSON.stringify(f));
  }

  private reject(code: ErrorCode, message: string, rid?: number): void {
    this.ctx.metrics.rejected[code]++;
    this.send({ op: "error", ...(rid !== undefined ? { rid } : {}), code, message });
  }

  private unsubscribe(tags: string[] | undefined): void {
    const { byTag, all } = this.ctx.subs;
    const drop = tags ?? [...this.tags];
    for (const t of drop) {
      if (!this.tags.delete(t)) continue;
      const s = byTag.get(t);
      s?.delete(this);
      if (s?.size === 0) byTag.delete(t);
    }
    if (!tags) all.delete(this), (this.all = false);
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const o = this.ctx.limits;
    let f: ClientFrame | null = null;
    let err: FrameError | null = null;
    if (isBinary) err = new FrameError("bad-frame", "binary messages are not accepted; send JSON text frames");
    else {
      try {
        f = parseClientFrame(data.toString(), o.maxSubscriptionsPerConnection);
      } catch (e) {
        err = e instanceof FrameError ? e : new FrameError("bad-frame", "unparseable frame");
      }
    }
    const t = this.ctx.now();
    const ok = f?.op === "post" ? this.posts.take(t) : this.reqs.take(t);
    const rid = f?.rid ?? err?.rid;
    if (!ok) return this.reject("rate-limited", f?.op === "post" ? `over ${o.postsPerSecond} posts/s` : `over ${o.requestsPerSecond} requests/s`, rid);
    if (err || !f) return this.reject(err?.code ?? "bad-frame", err?.message ?? "bad frame", rid);
    if (this.pending >= o.maxPendingPerConnection) return this.reject("rate-limited", `more than ${o.maxPendingPerConnection} requests in flight`, rid);
    this.pending++;
    const frame = f;
    const run = () => this.handle(frame).finally(() => void this.pending--);
    if (frame.op === "post") {
      // A post starts once earlier requests have started (so seqs follow
      // arrival order) but does not hold up the next post. One promise per
      // post, not three: at tens of thousands of posts a second they add up.
      const p: Promise<void> = this.chain.then(async () => {
        try {
          await this.handle(frame);
        } finally {
          this.pending--;
          this.posting.delete(p);
        }
      });
      this.posting.add(p);
    } else {
      // Anything else sees the effect of every post sent before it.
      const before = [...this.posting];
      this.chain = this.chain.then(() => Promise.allSettled(before)).then(run);
    }
  }

  private async handle(f: ClientFrame): Promise<void> {
    try {
      if (f.op === "post") await this.handlePost(f);
      else if (f.op === "fetch") await this.handleFetch(f);
      else if (f.op === "ping") this.send({ op: "pong", rid: f.rid });
      else this.handleSubscribe(f);
    } catch (e) {
      if (e instanceof FrameError) return this.reject(e.code, e.message, e.rid ?? f.rid);
      this.ctx.log.error("relay request failed", { op: f.op, error: String(e) });
      this.reject("internal", "relay could not complete the request", f.rid);
    }
  }

  private async handlePost(f: Extract<ClientFrame, { op: "post" }>): Promise<void> {
    const { limits: o, crypto, store, log } = this.ctx;
    if (f.blob.length > this.ctx.maxB64 + 4) throw new FrameError("too-large", `blob over ${o.maxBlobBytes} bytes`, f.rid);
    // Canonical encoding only: the relay then forwards the client's own string
    // and two spellings of one blob cannot dodge duplicate detection.
    const blob = fromB64Canonical(f.blob);
    if (!blob || blob.length === 0) throw new FrameError("bad-frame", "post.blob must be non-empty canonical base64url", f.rid);
    if (blob.length > o.maxBlobBytes) throw new FrameError("too-large", `blob is ${blob.length} bytes, max ${o.maxBlobBytes}`, f.rid);
    if (crypto) {
      if (f.pow === undefined) throw new FrameError("pow-required", `this relay requires a proof-of-work stamp of ${o.powBits} bits`, f.rid);
      if (!checkPow(crypto, f.tag, blob, f.pow, o.powBits)) throw new FrameError("pow-invalid", `stamp does not reach ${o.powBits} bits for this frame`, f.rid);
    }
    const r = await store.append(f.tag, blob, this.ctx.now());
    // Evict before answering, so the bounds already hold when a client sees
    // `posted`; the frame is stored, so an eviction failure is not its error.
    if (!r.duplicate) await this.ctx.sweep().catch((e) => log.error("eviction failed", { error: String(e) }));
    this.ctx.metrics.accepted++;
    this.send({ op: "posted", rid: f.rid, seq: r.seq, duplicate: r.duplicate });
    if (!r.duplicate) this.ctx.subs.push(f.tag, r.seq, f.blob);
  }

  private async handleFetch(f: Extract<ClientFrame, { op: "fetch" }>): Promise<void> {
    const { store, pageFrames } = this.ctx;
    const ws = this.ws;
    const since = f.since ?? 0;
    const tags = f.tags ? new Set(f.tags) : null;
    // Replay up to a snapshot of `latest`; later frames reach subscribers live,
    // and caught-up then names a cursor the client can resume from exactly.
    const st = await store.stats();
    if (since < st.evictedThrough) this.send({ op: "pruned", rid: f.rid, requested: since, oldest: st.oldest });
    let cursor = since;
    let left = f.limit ?? Number.MAX_SAFE_INTEGER;
    while (left > 0 && cursor < st.latest && ws.readyState === WebSocket.OPEN) {
      const want = Math.min(pageFrames, left);
      const page = await store.range(cursor, tags, want);
      const texts: string[] = [];
      for (const fr of page) {
        if (fr.seq > st.latest) break;
        texts.push(JSON.stringify({ op: "frame", seq: fr.seq, tag: fr.tag, blob: toB64(fr.blob), rid: f.rid } satisfies ServerFrame));
        cursor = fr.seq;
        left--;
      }
      const last = texts.pop();
      if (last === undefined) break;
      this.coalesce();
      for (const t of texts) ws.send(t);
      // Wait until the page is on the socket so one fetch holds one page in memory.
      await new Promise<void>((res) => ws.send(last, () => res()));
      if (page.length < want) break;
    }
    this.send({ op: "caught-up", rid: f.rid, latest: left === 0 ? cursor : st.latest });
  }

  private handleSubscribe(f: Extract<ClientFrame, { op: "subscribe" | "unsubscribe" }>): void {
    const o = this.ctx.limits;
    const { byTag, all } = this.ctx.subs;
    if (f.op === "unsubscribe") this.unsubscribe(f.tags);
    else if (!f.tags) all.add(this), (this.all = true);
    else {
      const fresh = f.tags.filter((t) => !this.tags.has(t));
      const total = this.tags.size + new Set(fresh).size;
      if (total > o.maxSubscriptionsPerConnection) throw new FrameError("too-many-subscriptions", `at most ${o.maxSubscriptionsPerConnection} subscribed tags per connection, would be ${total}`, f.rid);
      for (const t of fresh) {
        this.tags.add(t);
        let s = byTag.get(t);
        if (!s) byTag.set(t, (s = new Set()));
        s.add(this);
      }
    }
    this.send({ op: "subscribed", rid: f.rid, tags: this.all ? "all" : this.tags.size });
  }
}
