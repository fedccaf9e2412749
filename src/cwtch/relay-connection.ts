// One client connection of the relay (relay-server.ts): rate limits, request
// ordering, memory bounds and shedding, subscriptions and the live frames
// pushed to it; a post is handled in relay-post-handler.ts, a fetch in
// relay-fetch-handler.ts, both through this connection as a RequestOutlet.
// Every hostile input ends in an `error` frame on this connection only;
// nothing a client sends may throw past a handler.
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocket, type RawData } from "ws";
import { PostBytes } from "./relay-post-bytes.js";
import { parsePostFast } from "./relay-post-fast.js";
import { FrameError, parseClientFrame, RELAY_PROTOCOL_VERSION, type ClientFrame, type ErrorCode, type ServerFrame } from "./relay-protocol.js";
import type { RelayStats } from "./relay-store.js";
import { TokenBucket, type RelayContext, type RequestOutlet } from "./relay-context.js";
import { handleFetch } from "./relay-fetch-handler.js";
import { ownerOf } from "./relay-owner.js";
import { handlePost, postNow } from "./relay-post-handler.js";
import { wirePayload } from "./relay-wire.js";
export { frameText, frameWire, postedText, postedWire } from "./relay-subscriptions.js";

let nextId = 1;

/** ws.send's options for bytes that are a text message (UTF-8): sent as they are. */
const TEXT = { binary: false } as const;

export class RelayConnection implements RequestOutlet {
  all = false;
  /** Names this connection in logs. */
  readonly id = `c${nextId++}`;
  /** Who owns what this connection posts, for fair eviction (see ownerOf, relay-owner.ts). */
  readonly owner: string;
  /** Closed for holding too much; its queued requests are dropped unhandled. */
  shedding = false;
  /** Bytes of requests received and not yet handled. */
  private queuedBytes = 0;
  readonly tags = new Set<string>();
  /** Requests run in arrival order: each starts when this settles. */
  private chain: Promise<void> = Promise.resolve();
  /** Posts started but not answered; they overlap so a store can batch commits. */
  private readonly posting = new Set<Promise<void>>();
  private pending = 0;
  /**
   * Requests handed to the chain and not yet done, the hello included: while
   * there are none, a post to a store that answers at once is handled within
   * its message event (earlier requests are all done, so order holds).
   */
  private waiting = 1;
  private alive = true;
  private readonly posts: TokenBucket;
  private readonly reqs: TokenBucket;
  private corked = false;
  /** No extension negotiated: ws writes each message at once, so whole frames may be written beside it (relay-wire.ts). */
  private readonly plain: boolean;

  /** `socket` is the connection's own socket, the one `ws` writes to (from the HTTP upgrade). */
  constructor(
    readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly ctx: RelayContext,
    onClose: (c: RelayConnection) => void,
  ) {
    const { limits: o, store, log, metrics: m } = ctx;
    this.owner = ownerOf((socket as Partial<Socket>).remoteAddress, this.id);
    this.plain = ws.extensions === "";
    const t = ctx.now();
    this.posts = new TokenBucket(o.postsPerSecond, o.postBurst, t);
    this.reqs = new TokenBucket(o.requestsPerSecond, o.requestBurst, t);
    this.chain = store.stats().then(
      (st: RelayStats) => this.send({ op: "hello", version: RELAY_PROTOCOL_VERSION, oldest: st.oldest, latest: st.latest, powBits: ctx.pow.required(ctx.now()), maxBlobBytes: o.maxBlobBytes, instance: this.ctx.store.instance, acks: 1 }),
      (e: unknown) => {
        log.error("stats failed on connect", { error: String(e) });
        this.reject("internal", "relay store unavailable");
      },
    ).finally(() => void this.waiting--);
    ws.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    ws.on("pong", () => void (this.alive = true));
    ws.on("error", (e: Error & { code?: string }) => {
      if (e.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") m.rejected["too-large"]++;
      else m.rejected["bad-frame"]++;
    });
    ws.on("close", () => {
      this.unsubscribe(undefined);
      this.ctx.mem.queued -= this.queuedBytes;
      this.queuedBytes = 0;
      onClose(this);
    });
  }

  /** What this connection makes the relay hold now: unhandled requests plus unsent answers. */
  held(): number {
    return this.queuedBytes + this.ws.bufferedAmount;
  }

  /** A live frame, unless this connection is closing. */
  pushFrame(wire: Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN || this.shedding) return;
    this.sendWire(wire);
    // A subscriber that stops reading would make us buffer without limit;
    // shedding it is safe because it can resume with fetch(since).
    this.checkHeld();
  }

  /** One whole WebSocket frame (relay-wire.ts), written as it is; the caller checked the connection is open. */
  sendWire(wire: Buffer): void {
    this.coalesce();
    // ws.bufferedAmount counts the socket's queue, so what is written here still counts against the bounds.
    if (this.plain) this.socket.write(wire);
    else this.ws.send(wirePayload(wire), TEXT);
  }

  /** Shed this connection if it holds more than its bound. */
  checkHeld(): void {
    const h = this.held();
    const mem = this.ctx.mem;
    if (h > mem.peakConnection) mem.peakConnection = h;
    if (h > this.ctx.limits.maxBufferedBytes) this.shed(`holds ${h} bytes unread or unhandled, over the ${this.ctx.limits.maxBufferedBytes}-byte bound per connection`);
  }

  /**
   * Close a connection that makes the relay buffer too much (it stopped
   * reading, or sends faster than it is served): an error frame and a 1008
   * close naming why, then the socket goes whether or not the peer reads them.
   */
  shed(reason: string): void {
    if (this.shedding) return;
    this.shedding = true;
    const { metrics: m, log } = this.ctx;
    m.shed++;
    m.rejected.overloaded++;
    log.warn("shedding connection", { id: this.id, held: this.held(), reason });
    if (this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ op: "error", code: "overloaded", message: reason } satisfies ServerFrame));
      this.ws.close(1008, `overloaded: ${reason}`.slice(0, 120));
    }
    this.socket.pause();
    setTimeout(() => this.ws.terminate(), 2000).unref();
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

  send(f: ServerFrame): void {
    if (this.ws.readyState !== WebSocket.OPEN || this.shedding) return;
    this.coalesce();
    this.ws.send(JSON.stringify(f));
  }

  private reject(code: ErrorCode, message: string, rid?: number): void {
    this.ctx.metrics.rejected[code]++;
    this.send({ op: "error", ...(rid !== undefined ? { rid } : {}), code, message });
  }

  rejectPow(code: "pow-required" | "pow-invalid", message: string, rid: number, powBits: number): void {
    this.ctx.metrics.rejected[code]++;
    this.send({ op: "error", rid, code, message, powBits });
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
    if (this.shedding) return;
    const o = this.ctx.limits;
    let f: ClientFrame | null = null;
    let err: FrameError | null = null;
    // A post's bytes, when the fast path decoded them while parsing.
    let bytes: PostBytes | undefined;
    if (isBinary) err = new FrameError("bad-frame", "binary messages are not accepted; send JSON text frames");
    else {
      const text = data.toString();
      const fast = parsePostFast(text, this.ctx.maxB64 + 4);
      if (fast) (f = fast.frame), (bytes = fast.bytes);
      else {
        try {
          f = parseClientFrame(text, o.maxSubscriptionsPerConnection);
        } catch (e) {
          err = e instanceof FrameError ? e : new FrameError("bad-frame", "unparseable frame");
        }
      }
    }
    const t = this.ctx.now();
    if (f?.op === "post") this.ctx.pow.notePost(t);
    const ok = f?.op === "post" ? this.posts.take(t) : this.reqs.take(t);
    const rid = f?.rid ?? err?.rid;
    if (!ok) return this.reject("rate-limited", f?.op === "post" ? `over ${o.postsPerSecond} posts/s` : `over ${o.requestsPerSecond} requests/s`, rid);
    if (err || !f) return this.reject(err?.code ?? "bad-frame", err?.message ?? "bad frame", rid);
    if (this.pending >= o.maxPendingPerConnection) return this.reject("rate-limited", `more than ${o.maxPendingPerConnection} requests in flight`, rid);
    this.pending++;
    const size = rawSize(data);
    this.queuedBytes += size;
    this.ctx.mem.queued += size;
    this.checkHeld();
    if (this.ctx.mem.queued > o.maxTotalBufferedBytes) this.ctx.enforceTotal();
    const frame = f;
    // No named closures per message here: each costs an allocation (and,
    // under tsx, a defineProperty) at tens of thousands of posts a second.
    if (frame.op === "post") {
      if (this.waiting === 0 && this.ctx.sweepNow && this.ctx.store.appendNow) {
        // Nothing earlier outstanding and a store that answers at once: no promise at all.
        try {
          if (!this.shedding) postNow(this, this.ctx, frame, bytes);
        } catch (e) {
          this.fail(e, frame);
        } finally {
          this.release(size);
        }
        return;
      }
      // A post starts once earlier requests have started (so seqs follow
      // arrival order) but does not hold up the next post. One promise per
      // post, not three: at tens of thousands of posts a second they add up.
      this.waiting++;
      const p: Promise<void> = this.chain.then(async () => {
        try {
          if (!this.shedding) await handlePost(this, this.ctx, frame, bytes);
        } catch (e) {
          this.fail(e, frame);
        } finally {
          this.release(size);
          this.posting.delete(p);
          this.waiting--;
        }
      });
      this.posting.add(p);
    } else {
      // Anything else sees the effect of every post sent before it.
      this.waiting++;
      const before = [...this.posting];
      this.chain = this.chain.then(() => Promise.allSettled(before)).then(() => this.handle(frame).finally(() => (this.release(size), this.waiting--)));
    }
  }

  /** A request is done: its bytes no longer count against the bounds. */
  private release(size: number): void {
    this.pending--;
    this.queuedBytes -= size;
    this.ctx.mem.queued -= size;
  }

  private async handle(f: ClientFrame): Promise<void> {
    if (this.shedding) return;
    try {
      if (f.op === "post") await handlePost(this, this.ctx, f);
      else if (f.op === "fetch") await handleFetch(this, this.ctx, f);
      else if (f.op === "ping") this.send({ op: "pong", rid: f.rid });
      else this.handleSubscribe(f);
    } catch (e) {
      this.fail(e, f);
    }
  }

  private fail(e: unknown, f: ClientFrame): void {
    if (e instanceof FrameError) return this.reject(e.code, e.message, e.rid ?? f.rid);
    this.ctx.log.error("relay request failed", { op: f.op, error: String(e) });
    this.reject("internal", "relay could not complete the request", f.rid);
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

function rawSize(d: RawData): number {
  if (Array.isArray(d)) return d.reduce((n, b) => n + b.length, 0);
  return d instanceof ArrayBuffer ? d.byteLength : d.length;
}
