// A connection to one untrusted relay: reconnects with backoff, re-subscribes,
// re-sends unacknowledged posts with backoff until the relay acknowledges them
// or the post's deadline passes (the relay dedupes identical frames and answers
// a repeat `duplicate`, so a retry is safe and its answer is success; an answer
// that does not bind to the frame sent is not taken as one),
// stamps posts with the proof-of-work the relay asks for now (re-stamping
// when it raises the difficulty under flood), and reaches `.onion` relays
// through a SOCKS5 proxy (Tor).
import { EventEmitter } from "node:events";
import type { Agent } from "node:http";
import { SocksProxyAgent } from "socks-proxy-agent";
import WebSocket from "ws";
import { toB64 } from "./bytes.js";
import { mintPowBefore } from "./pow.js";
import { FrameError, parseServerFrame, postAck, type ServerFrame } from "./relay-protocol.js";
import { MAX_RESTAMPS, POW_CLIENT_MAX_BITS, RelayError, type FetchResult, type Hello, type RelayClientEvents, type RelayClientOptions, type RelayFrame } from "./relay-client-types.js";
export { POW_CLIENT_MAX_BITS, RelayError, type FetchResult, type RelayClientOptions, type RelayFrame } from "./relay-client-types.js";

interface Pending {
  frame: Record<string, unknown> & { rid: number };
  resolve: (v: ServerFrame) => void;
  reject: (e: Error) => void;
  onFrame?: (f: RelayFrame) => void;
  prunedOldest?: number;
  frames: number;
  /** Posts survive reconnects; fetches and subscribes are re-issued by their owners. */
  durable: boolean;
  /** Times sent (re-sends included). */
  sent: number;
  /** A re-send soon, after an answer that did not bind to the frame. */
  soon?: NodeJS.Timeout;
  /** When a frame under this rid last arrived (a fetch streaming its replay). */
  heard: number;
  /** Whether an answer of the request's kind is really its answer (a post's must bind to its frame). */
  accepts: (f: ServerFrame) => boolean;
}

/** What a request waits for: any other answer under its rid was bent or misrouted, and is not its answer. */
const ANSWER: Record<string, ServerFrame["op"]> = { post: "posted", fetch: "caught-up", subscribe: "subscribed", unsubscribe: "subscribed", ping: "pong" };

/** Refusals that say "not now" rather than "never": a post retries them until its deadline. */
const TRANSIENT = new Set(["rate-limited", "overloaded", "internal"]);

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

export class RelayClient extends EventEmitter<RelayClientEvents> {
  readonly url: string;
  hello: Hello | null = null;
  /** Proof-of-work bits this relay last asked for (hello, or a pow error naming more). */
  powBits = 0;
  private ws: WebSocket | null = null;
  private rid = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly subscriptions = new Set<string>();
  private subscribeAll = false;
  private attempt = 0;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly agent: Agent | undefined;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private readonly timeoutMs: number;
  private readonly minResend: number;
  private readonly maxResend: number;
  private readonly helloTimeout: number;
  private helloTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: RelayClientOptions) {
    super();
    this.url = o.url;
    const host = new URL(o.url).hostname;
    if (host.endsWith(".onion") && !o.socksProxy) {
      throw new RelayError(o.url, "config", "an .onion relay needs a SOCKS5 proxy (e.g. Tor at socks5h://127.0.0.1:9050)");
    }
    // socks5:// and socks4:// make the agent resolve the host name locally: for an
    // onion address that leaks it to the DNS resolver and then fails. Tor must resolve it.
    if (host.endsWith(".onion") && o.socksProxy && /^socks[45]:$/.test(new URL(o.socksProxy).protocol)) {
      throw new RelayError(o.url, "config", `${new URL(o.socksProxy).protocol}// resolves host names locally, which leaks the onion address; use socks5h:// so the proxy (Tor) resolves it`);
    }
    this.agent = o.socksProxy ? new SocksProxyAgent(o.socksProxy) : undefined;
    this.minBackoff = o.minBackoffMs ?? 250;
    this.maxBackoff = o.maxBackoffMs ?? 15_000;
    this.timeoutMs = o.requestTimeoutMs ?? 30_000;
    this.minResend = o.minResendMs ?? 1_000;
    this.maxResend = o.maxResendMs ?? 8_000;
    // Over Tor the greeting takes a circuit's round trip, which can be seconds.
    this.helloTimeout = o.helloTimeoutMs ?? (o.socksProxy ? 15_000 : 4_000);
  }

  get connected(): boolean {
    return this.hello !== null && this.ws?.readyState === WebSocket.OPEN;
  }

  start(): this {
    if (!this.ws && !this.closed) this.connect();
    return this;
  }

  /** Resolves once connected (and greeted). */
  ready(): Promise<Hello> {
    if (this.connected) return Promise.resolve(this.hello!);
    return new Promise((resolve) => {
      const once = (h: Hello) => {
        this.waiters.delete(once);
        resolve(h);
      };
      this.waiters.add(once);
    });
  }

  /** Callers waiting for a connection; one set, not one listener each, so a down relay cannot pile up listeners. */
  private readonly waiters = new Set<(h: Hello) => void>();

  private readyWithin(ms: number, what?: string): Promise<Hello> {
    if (this.connected) return Promise.resolve(this.hello!);
    return new Promise((resolve, reject) => {
      const ok = (h: Hello) => {
        clearTimeout(t);
        this.waiters.delete(ok);
        resolve(h);
      };
      const t = setTimeout(() => {
        this.waiters.delete(ok);
        reject(new RelayError(this.url, "unavailable", what ? `not connected before the ${what}'s deadline of ${seconds(this.timeoutMs)} passed` : `not connected within ${ms} ms`));
      }, ms);
      this.waiters.add(ok);
    });
  }

  /**
   * Post until the relay acknowledges it or the post's deadline (requestTimeoutMs from now,
   * waiting for a connection included) passes. Lost posts and lost answers are re-sent with
   * backoff; the relay's answer to a repeat (`duplicate`) is success; an answer that does not
   * bind to this frame (postAck) is not. Transient refusals are retried; the rest fail at once.
   */
  async post(tag: string, blob: Uint8Array): Promise<{ seq: number; duplicate: boolean }> {
    const deadline = Date.now() + this.timeoutMs;
    const left = () => Math.max(1, deadline - Date.now());
    const b64 = toB64(blob);
    let stamped = 0;
    let pow: string | undefined;
    let pause = this.minResend;
    let sent = 0;
    for (let restamps = 0; ; ) {
      // The stamp depends on the relay's difficulty, which we learn from its hello.
      if (!this.connected) await this.readyWithin(left(), "post");
      const bits = this.powBits;
      const most = this.o.maxPowBits ?? POW_CLIENT_MAX_BITS;
      if (bits > most) throw new RelayError(this.url, "pow-too-hard", `the relay demands ${bits} bits of proof-of-work per post, over this client's limit of ${most}`, bits);
      if (bits > stamped) {
        const minted = await mintPowBefore(this.o.crypto, tag, blob, bits, deadline);
        if (minted === null) {
          throw new RelayError(this.url, "timeout", `could not finish the relay's ${bits}-bit proof-of-work stamp before the post's deadline of ${seconds(this.timeoutMs)} passed`, bits);
        }
        (pow = minted), (stamped = bits);
      }
      const frame: Record<string, unknown> = { op: "post", tag, blob: b64, ...(pow !== undefined && bits > 0 ? { pow } : {}) };
      const bound = (f: ServerFrame) => f.op === "posted" && this.ackMatches(f, tag, blob);
      const req = this.requestWith(frame, true, undefined, left(), bound);
      try {
        const r = await req.done.finally(() => (sent += req.entry.sent));
        if (r.op !== "posted") throw new RelayError(this.url, "protocol", `expected posted, got ${r.op}`);
        return { seq: r.seq, duplicate: r.duplicate };
      } catch (e) {
        if (!(e instanceof RelayError)) throw e;
        if (e.code === "timeout") {
          throw new RelayError(this.url, "timeout", `no acknowledgement of the post before its deadline of ${seconds(this.timeoutMs)} passed (sent ${sent} times${this.connected ? "" : "; not connected now"})`);
        }
        // The relay raised its difficulty under load: stamp again at what it names.
        const raised = (e.code === "pow-required" || e.code === "pow-invalid") && e.powBits !== undefined && e.powBits > stamped;
        if (raised && restamps++ < MAX_RESTAMPS) {
          this.powBits = Math.max(this.powBits, e.powBits!);
          continue;
        }
        // Over the relay's rate, a passing failure of its store, or a refusal of a copy bent on
        // the way (ours is well formed and stamped): wait and try again while the post's time lasts.
        if ((TRANSIENT.has(e.code) || e.code === "pow-invalid" || e.code === "bad-frame") && Date.now() + pause < deadline) {
          await new Promise((r) => setTimeout(r, pause * (0.5 + Math.random())));
          pause = Math.min(this.maxResend, pause * 2);
          continue;
        }
        throw e;
      }
    }
  }

  /**
   * Whether a `posted` answers this very frame: a relay that promised acks (hello) must name
   * postAck(seq, tag, blob); older relays are taken at their word.
   */
  private ackMatches(f: Extract<ServerFrame, { op: "posted" }>, tag: string, blob: Uint8Array): boolean {
    if (this.hello?.acks !== 1) return true;
    if (f.ack === postAck(f.seq, tag, blob)) return true;
    this.emit("protocolError", new RelayError(this.url, "bad-ack", `answer to post rid ${f.rid} (seq ${f.seq}) does not acknowledge the frame we sent; still waiting`));
    return false;
  }

  /** Replay held frames with seq > since (all tags when `tags` is null). */
  async fetch(tags: string[] | null, since: number, onFrame: (f: RelayFrame) => void): Promise<FetchResult> {
    const frame: Record<string, unknown> = { op: "fetch", since, ...(tags ? { tags } : {}) };
    const p = this.requestWith(frame, false, onFrame);
    const r = await p.done;
    if (r.op !== "caught-up") throw new RelayError(this.url, "protocol", `expected caught-up, got ${r.op}`);
    return { latest: r.latest, frames: p.entry.frames, ...(p.entry.prunedOldest !== undefined ? { prunedOldest: p.entry.prunedOldest } : {}) };
  }

  /** Live push of new frames with these tags (null: every frame). Kept across reconnects. */
  async subscribe(tags: string[] | null): Promise<void> {
    if (tags === null) this.subscribeAll = true;
    else for (const t of tags) this.subscriptions.add(t);
    if (this.connected) await this.sendSubscriptions();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.helloTimer) clearTimeout(this.helloTimer);
    for (const p of this.pending.values()) p.reject(new RelayError(this.url, "closed", "client closed"));
    this.pending.clear();
    this.ws?.terminate();
    this.ws = null;
  }

  private request(frame: Record<string, unknown>, durable: boolean, timeoutMs = this.timeoutMs): Promise<ServerFrame> {
    return this.requestWith(frame, durable, undefined, timeoutMs).done;
  }

  private requestWith(frame: Record<string, unknown>, durable: boolean, onFrame?: (f: RelayFrame) => void, timeoutMs = this.timeoutMs, accepts: (f: ServerFrame) => boolean = () => true) {
    const rid = this.rid++;
    let entry!: Pending;
    const done = new Promise<ServerFrame>((resolve, reject) => {
      entry = { frame: { ...frame, rid }, resolve, reject, frames: 0, durable, sent: 0, heard: 0, accepts, ...(onFrame ? { onFrame } : {}) };
    });
    this.pending.set(rid, entry);
    const t = setTimeout(() => {
      if (!this.pending.delete(rid)) return;
      entry.reject(new RelayError(this.url, "timeout", `no answer to ${String(frame.op)} in ${timeoutMs} ms`));
    }, timeoutMs);
    // A lossy path (or relay) may swallow a request or its answer: re-send it, backing off.
    // Every request is safe to repeat (the relay dedupes posts; a fetch or subscribe again
    // only repeats what the log dedupes); a fetch still streaming is not silent, so not re-sent.
    let resend: NodeJS.Timeout | undefined;
    const arm = (ms: number) => {
      const armedAt = Date.now();
      resend = setTimeout(() => {
        if (!this.pending.has(rid)) return;
        if (entry.heard > armedAt) return arm(ms);
        this.send(entry);
        arm(Math.min(this.maxResend, ms * 2));
      }, ms * (0.75 + Math.random() / 2));
    };
    arm(durable ? this.minResend : this.minResend * 3);
    const settle = () => (clearTimeout(t), clearTimeout(resend), clearTimeout(entry.soon));
    done.then(settle, settle);
    this.send(entry);
    return { done, entry };
  }

  private send(p: Pending) {
    if (!this.connected) return;
    p.sent++;
    this.ws!.send(JSON.stringify(p.frame));
  }

  private async sendSubscriptions() {
    const tags = this.subscribeAll ? null : [...this.subscriptions];
    if (tags && tags.length === 0) return;
    const r = await this.request({ op: "subscribe", ...(tags ? { tags } : {}) }, false);
    if (r.op !== "subscribed") throw new RelayError(this.url, "protocol", `expected subscribed, got ${r.op}`);
  }

  private connect() {
    const ws = new WebSocket(this.url, { ...(this.agent ? { agent: this.agent } : {}), handshakeTimeout: 20_000 });
    this.ws = ws;
    ws.on("message", (data, isBinary) => {
      if (isBinary) return this.emit("protocolError", new RelayError(this.url, "bad-frame", "binary frame from relay"));
      let f: ServerFrame;
      try {
        f = parseServerFrame(data.toString());
      } catch (e) {
        return this.emit("protocolError", e instanceof FrameError ? e : new Error(String(e)));
      }
      this.onFrame(f);
    });
    // A relay greets at once; a lost greeting would leave us connected and mute forever.
    ws.on("open", () => {
      // Checked after the poll phase: a loop that was busy past the timeout may hold the hello unread.
      const t = setTimeout(() => setImmediate(() => {
        if (this.ws === ws && this.hello === null) this.onClose(`no hello within ${this.helloTimeout} ms`);
      }), this.helloTimeout);
      ws.once("close", () => clearTimeout(t));
      this.helloTimer = t;
    });
    ws.on("close", () => this.onClose("closed"));
    ws.on("error", (e) => this.onClose(e.message));
  }

  private onFrame(f: ServerFrame) {
    switch (f.op) {
      case "hello": {
        if (this.helloTimer) clearTimeout(this.helloTimer), (this.helloTimer = null);
        this.hello = f;
        this.powBits = f.powBits;
        this.attempt = 0;
        // Re-send what the previous connection left unanswered.
        for (const p of this.pending.values()) this.send(p);
        this.sendSubscriptions().catch((e) => this.emit("protocolError", e));
        for (const w of [...this.waiters]) w(f);
        this.emit("connected", f);
        return;
      }
      case "frame": {
        const rf: RelayFrame = { relay: this.url, seq: f.seq, tag: f.tag, blob: f.blob };
        if (f.rid !== undefined) {
          const p = this.pending.get(f.rid);
          if (p?.onFrame) {
            p.frames++;
            p.heard = Date.now();
            p.onFrame(rf);
          }
          return;
        }
        this.emit("frame", rf);
        return;
      }
      case "pruned": {
        const p = this.pending.get(f.rid);
        if (p) (p.prunedOldest = f.oldest), (p.heard = Date.now());
        return;
      }
      case "error": {
        const p = f.rid !== undefined ? this.pending.get(f.rid) : undefined;
        if (p) {
          this.pending.delete(f.rid!);
          p.reject(new RelayError(this.url, f.code, f.message, f.powBits));
        } else this.emit("protocolError", new RelayError(this.url, f.code, f.message));
        return;
      }
      default: {
        const p = this.pending.get(f.rid);
        if (!p) return;
        // An answer of the wrong kind, or a post's answer that does not bind to its frame, is
        // not this request's answer: keep waiting (a post is re-sent) rather than act on it.
        if (ANSWER[String(p.frame.op)] !== f.op) {
          this.emit("protocolError", new RelayError(this.url, "protocol", `${f.op} under rid ${f.rid}, which waits for ${ANSWER[String(p.frame.op)]}`));
          return;
        }
        // The relay heard a bent copy, or its answer was bent: either way say it again soon
        // (not at once each time: a path that bends every answer must not make us spin).
        if (!p.accepts(f)) {
          if (!p.soon) {
            p.soon = setTimeout(() => {
              p.soon = undefined;
              if (this.pending.get(f.rid) === p) this.send(p);
            }, (this.minResend / 4) * (0.75 + Math.random() / 2));
          }
          return;
        }
        this.pending.delete(f.rid);
        p.resolve(f);
      }
    }
  }

  private onClose(reason: string) {
    if (!this.ws) return;
    if (this.helloTimer) clearTimeout(this.helloTimer), (this.helloTimer = null);
    this.ws.removeAllListeners();
    this.ws.on("error", () => {});
    this.ws.terminate();
    this.ws = null;
    const wasConnected = this.hello !== null;
    this.hello = null;
    // Fetches cannot resume mid-stream: fail them so their owner re-fetches from its cursor.
    for (const [rid, p] of this.pending) {
      if (!p.durable) {
        this.pending.delete(rid);
        p.reject(new RelayError(this.url, "disconnected", reason));
      }
    }
    if (wasConnected) this.emit("disconnected", reason);
    if (this.closed) return;
    const delay = Math.min(this.maxBackoff, this.minBackoff * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.closed) this.connect();
    }, delay);
  }
}
