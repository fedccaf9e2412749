// One client connection of the relay (relay-server.ts): rate limits, request
// ordering, post/fetch/subscribe handling, and the live fan-out shared by all
// connections. Every hostile input ends in an `error` frame on this
// connection only; nothing a client sends may throw past a handler.
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocket, type RawData } from "ws";
import { toB64 } from "./bytes.js";
import { checkPow } from "./pow.js";
import { PostBytes } from "./relay-post-bytes.js";
import { parsePostFast } from "./relay-post-fast.js";
import { FrameError, parseClientFrame, RELAY_PROTOCOL_VERSION, type ClientFrame, type ErrorCode, type ServerFrame } from "./relay-protocol.js";
import { frameBytes, type RelayStats } from "./relay-store.js";
import { TokenBucket, type RelayContext } from "./relay-context.js";
import { postedText } from "./relay-subscriptions.js";
export { frameText, postedText } from "./relay-subscriptions.js";

let nextId = 1;

/**
 * The owner fair eviction charges: the remote address, so opening more
 * connections buys no larger share (an IPv6 client is its /64, which it gets
 * whole). Over loopback (a Tor onion service, a local proxy, tests) every
 * client shares one address, so each connection is its own owner there.
 */
export function ownerOf(a: string | undefined, connection: string): string {
  if (a === undefined || a === "::1" || a.startsWith("127.") || a.startsWith("::ffff:127.")) return connection;
  if (a.startsWith("::ffff:")) return a.slice(7);
  if (a.includes(":")) return `${expandV6(a).slice(0, 4).join(":")}::/64`;
  return a;
}

function expandV6(a: string): string[] {
  const [head, tail] = a.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const fill = tail === undefined ? [] : Array(Math.max(0, 8 - h.length - t.length)).fill("0");
  return [...h, ...fill, ...t].map((x) => x.toLowerCase().replace(/^0+(?=.)/, ""));
}

export class RelayConnection {
  all = false;
  /** Names this connection in logs. */
  readonly id = `c${nextId++}`;
  /** Who owns what this connection posts, for fair eviction (see ownerOf). */
  private readonly owner: string;
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

  /** `socket` is the connection's own socket, the one `ws` writes to (from the HTTP upgrade). */
  constructor(
    readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly ctx: RelayContext,
    onClose: (c: RelayConnection) => void,
  ) {
    const { limits: o, store, log, metrics: m } = ctx;
    this.owner = ownerOf((socket as Partial<Socket>).remoteAddress, this.id);
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
  pushText(text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN || this.shedding) return;
    // A subscriber that stops reading would make us buffer without limit;
    // shedding it is safe because it can resume with fetch(since).
    this.coalesce();
    this.ws.send(text);
    this.checkHeld();
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

  private send(f: ServerFrame): void {
    if (this.ws.readyState !== WebSocket.OPEN || this.shedding) return;
    this.coalesce();
    this.ws.send(JSON.stringify(f));
  }

  private reject(code: ErrorCode, message: string, rid?: number): void {
    this.ctx.metrics.rejected[code]++;
    this.send({ op: "error", ...(rid !== undefined ? { rid } : {}), code, message });
  }

  private rejectPow(code: "pow-required" | "pow-invalid", message: string, rid: number, powBits: number): void {
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
          if (!this.shedding) this.postNow(frame, bytes);
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
          if (!this.shedding) await this.handlePost(frame, bytes);
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
      if (f.op === "post") await this.handlePost(f);
      else if (f.op === "fetch") await this.handleFetch(f);
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

  /**
   * A post's checks before it is stored: its bytes, or null when it was
   * refused with an answer already sent (proof-of-work). Throws FrameError.
   * `decoded`: its bytes from the fast path, which decodes only blobs that pass
   * the two checks here before the others.
   */
  private checkPost(f: Extract<ClientFrame, { op: "post" }>, decoded?: PostBytes): PostBytes | null {
    const { limits: o, crypto } = this.ctx;
    if (f.blob.length > this.ctx.maxB64 + 4) throw new FrameError("too-large", `blob over ${o.maxBlobBytes} bytes`, f.rid);
    // Canonical encoding only: the relay then forwards the client's own string
    // and two spellings of one blob cannot dodge duplicate detection.
    const post = decoded ?? PostBytes.decode(f.tag, f.blob);
    const blob = post?.blob;
    if (!post || !blob || blob.length === 0) throw new FrameError("bad-frame", "post.blob must be non-empty canonical base64url", f.rid);
    if (blob.length > o.maxBlobBytes) throw new FrameError("too-large", `blob is ${blob.length} bytes, max ${o.maxBlobBytes}`, f.rid);
    if (frameBytes(f.tag, blob) > o.maxBytes / 2) throw new FrameError("too-large", `frame is ${frameBytes(f.tag, blob)} bytes with its tag, more than half this relay's store (${o.maxBytes})`, f.rid);
    const bits = this.ctx.pow.required(this.ctx.now());
    if (bits > 0 && crypto) {
      // Name the difficulty in the error: it may have risen since this client's hello.
      if (f.pow === undefined) return this.rejectPow("pow-required", `this relay requires a proof-of-work stamp of ${bits} bits now`, f.rid, bits), null;
      if (!checkPow(crypto, f.tag, blob, f.pow, bits)) return this.rejectPow("pow-invalid", `stamp does not reach the ${bits} bits required now for this frame`, f.rid, bits), null;
    }
    return post;
  }

  /** A post to a store that answers at once (store.appendNow, ctx.sweepNow): handlePost without a promise. */
  private postNow(f: Extract<ClientFrame, { op: "post" }>, decoded?: PostBytes): void {
    const post = this.checkPost(f, decoded);
    if (!post) return;
    const r = this.ctx.store.appendNow!(f.tag, post.blob, this.ctx.now(), this.owner, post.digest());
    if (!r.duplicate) {
      try {
        this.ctx.sweepNow!();
      } catch (e) {
        this.ctx.log.error("eviction failed", { error: String(e) });
      }
    }
    this.answerPost(f, post, r);
  }

  private async handlePost(f: Extract<ClientFrame, { op: "post" }>, decoded?: PostBytes): Promise<void> {
    const post = this.checkPost(f, decoded);
    if (!post) return;
    const r = await this.ctx.store.append(f.tag, post.blob, this.ctx.now(), this.owner, post.digest());
    // Evict before answering, so the bounds already hold when a client sees
    // `posted`; the frame is stored, so an eviction failure is not its error.
    // Checked synchronously first: an await per post costs more than the check.
    if (!r.duplicate && this.ctx.needsSweep()) await this.ctx.sweep().catch((e) => this.ctx.log.error("eviction failed", { error: String(e) }));
    this.answerPost(f, post, r);
  }

  /** A stored post's answer, and its live push. */
  private answerPost(f: Extract<ClientFrame, { op: "post" }>, post: PostBytes, r: { seq: number; duplicate: boolean }): void {
    const { limits: o, store } = this.ctx;
    // A store may evict what was just appended (the memory store does not: its
    // fairness spares unsettled frames); `posted` would then be a lie the
    // client relies on (it stops offering the frame to this relay).
    if (store.holds && !store.holds(r.seq)) {
      throw new FrameError("too-large", `frame of ${frameBytes(f.tag, post.blob)} bytes was evicted at once: it is more than this relay's fair share of its ${o.maxBytes}-byte store while others hold the rest`, f.rid);
    }
    this.ctx.metrics.accepted++;
    // The ack binds this answer to the frame as received and the seq it holds: a client
    // whose copy was bent on the way, or whose answer is, does not take it as held.
    if (this.ws.readyState === WebSocket.OPEN && !this.shedding) {
      this.coalesce();
      this.ws.send(postedText(f.rid, r.seq, r.duplicate, post.ack(r.seq)));
    }
    if (!r.duplicate && !this.ctx.fed) this.ctx.subs.push(f.tag, r.seq, f.blob);
  }

  private async handleFetch(f: Extract<ClientFrame, { op: "fetch" }>): Promise<void> {
    const { store, pageFrames } = this.ctx;
    const ws = this.ws;
    const since = f.since ?? 0;
    const tags = f.tags ? new Set(f.tags) : null;
    // Replay up to a snapshot of `latest`; later frames reach subscribers live,
    // and caught-up then names a cursor the client can resume from exactly.
    const st = await store.stats();
    // Only losses among the asked tags count: a flood of other tags being evicted is not this group's loss.
    // Asked at the start, after reading each page and at the end: eviction
    // during a slow fetch may take frames ahead of its cursor, and that loss is
    // reported as well. After the read, so nothing evicted before it escapes.
    const perTag = tags !== null && store.evictedThroughFor !== undefined;
    let pruned = false;
    const reportLoss = async (cursor: number): Promise<void> => {
      if (pruned) return;
      const lost = perTag ? store.evictedThroughFor!(tags!) : (await store.stats()).evictedThrough;
      if (Math.min(lost, st.latest) <= cursor) return;
      pruned = true;
      this.send({ op: "pruned", rid: f.rid, requested: since, oldest: (await store.stats()).oldest });
    };
    await reportLoss(since);
    let cursor = since;
    let left = f.limit ?? Number.MAX_SAFE_INTEGER;
    while (left > 0 && cursor < st.latest && ws.readyState === WebSocket.OPEN) {
      const want = Math.min(pageFrames, left);
      const from = cursor;
      const page = await store.range(cursor, tags, want);
      await reportLoss(from);
      const texts: string[] = [];
      for (const fr of page) {
        if (fr.seq > st.latest) break;
        texts.push(JSON.stringify({ op: "frame", seq: fr.seq, tag: fr.tag, blob: toB64(fr.blob), rid: f.rid } satisfies ServerFrame));
        cursor = fr.seq;
        left--;
      }
      const last = texts.pop();
      if (last === undefined) break;
      // Checked before the page goes out: a page may be larger than a tight bound by itself.
      this.checkHeld();
      if (this.shedding) return;
      this.coalesce();
      for (const t of texts) ws.send(t);
      // Wait until the page is on the socket so one fetch holds one page in memory.
      await new Promise<void>((res) => ws.send(last, () => res()));
      if (this.shedding) return;
      if (page.length < want) break;
    }
    // A fetch stopped by its limit leaves what lies past its cursor to the next one.
    if (!this.shedding && left > 0) await reportLoss(cursor);
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

function rawSize(d: RawData): number {
  if (Array.isArray(d)) return d.reduce((n, b) => n + b.length, 0);
  return d instanceof ArrayBuffer ? d.byteLength : d.length;
}
