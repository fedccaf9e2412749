// The untrusted relay: one HTTP server carrying the WebSocket protocol of
// relay-protocol.ts plus /healthz and Prometheus /metrics. Every hostile input
// ends in an `error` frame on that connection only; no input may throw past a
// handler, block the event loop for long, or grow memory without bound.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, WebSocket, type RawData } from "ws";
import { fromB64, toB64 } from "./bytes.js";
import { loadCrypto, type Crypto } from "./crypto.js";
import { checkPow } from "./pow.js";
import { FrameError, parseClientFrame, RELAY_PROTOCOL_VERSION, type ClientFrame, type ErrorCode, type ServerFrame } from "./relay-protocol.js";
import { MemoryRelayStore } from "./relay-memory-store.js";
import type { RelayStats, RelayStore } from "./relay-store.js";

export interface RelayLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Defaults of every numeric/string option; the CLI prints these in --help. */
export const RELAY_DEFAULTS = {
  host: "127.0.0.1",
  port: 0, // 0 = ephemeral
  maxMessages: 100_000,
  maxBytes: 256 * 1024 * 1024,
  maxAgeMs: 7 * 86_400_000,
  powBits: 0, // 0 = off
  maxBlobBytes: 96 * 1024, // decoded
  postsPerSecond: 200,
  postBurst: 400,
  requestsPerSecond: 50, // fetch, subscribe, unsubscribe, ping and malformed frames
  requestBurst: 100,
  maxSubscriptionsPerConnection: 256, // tags
  maxConnections: 4096,
  fetchPageSize: 256, // frames per store read, further capped to ~4 MiB of blobs
  maxPendingPerConnection: 1024, // queued requests
  maxBufferedBytes: 16 * 1024 * 1024, // unsent to one client before it is dropped
  heartbeatMs: 30_000, // 0 = off
};

export interface RelayOptions extends Partial<typeof RELAY_DEFAULTS> {
  store?: RelayStore; // new MemoryRelayStore()
  closeStore?: boolean; // true: close() also closes the store
  sweepIntervalMs?: number; // age eviction timer: clamp(maxAgeMs/10, 1 s, 60 s)
  now?: () => number; // Date.now; also drives the rate limiter
  crypto?: Crypto; // loaded when powBits > 0
  logger?: RelayLogger; // silent
}

export interface RelayServer {
  readonly url: string;
  readonly httpUrl: string;
  readonly port: number;
  readonly store: RelayStore;
  /** Run eviction now (the timer does this periodically); returns frames evicted. */
  sweep(): Promise<number>;
  metricsText(): Promise<string>;
  close(): Promise<void>;
}

const silent: RelayLogger = { info() {}, warn() {}, error() {} };

class TokenBucket {
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

interface Conn {
  ws: WebSocket;
  posts: TokenBucket;
  reqs: TokenBucket;
  all: boolean;
  tags: Set<string>;
  /** Requests run in arrival order: each starts when this settles. */
  chain: Promise<void>;
  /** Posts started but not answered; they overlap so a store can batch commits. */
  posting: Set<Promise<void>>;
  pending: number;
  alive: boolean;
}

export async function startRelay(opts: RelayOptions = {}): Promise<RelayServer> {
  const o = { ...RELAY_DEFAULTS };
  for (const k of Object.keys(o) as (keyof typeof o)[]) if (opts[k] !== undefined) (o as Record<string, unknown>)[k] = opts[k];
  const sweepMs = opts.sweepIntervalMs ?? Math.min(60_000, Math.max(1000, Math.floor(o.maxAgeMs / 10)));
  const store = opts.store ?? new MemoryRelayStore();
  const now = opts.now ?? Date.now;
  const log = opts.logger ?? silent;
  const crypto = o.powBits > 0 ? (opts.crypto ?? (await loadCrypto())) : null;
  // base64 text of the largest blob, plus room for tag, pow and up to 256 tags in a fetch.
  const maxB64 = Math.ceil((o.maxBlobBytes * 4) / 3);
  const maxPayload = maxB64 + 24 * 1024;
  // A fetch holds one page in memory: at most ~4 MiB of blobs, however large frames are.
  const pageFrames = Math.max(1, Math.min(o.fetchPageSize, Math.floor((4 << 20) / o.maxBlobBytes)));

  const conns = new Set<Conn>();
  const allSubs = new Set<Conn>();
  const byTag = new Map<string, Set<Conn>>();
  const m = { accepted: 0, evicted: 0, rejected: { "bad-frame": 0, "unknown-op": 0, "too-large": 0, "rate-limited": 0, "pow-required": 0, "pow-invalid": 0, "too-many-subscriptions": 0, internal: 0 } satisfies Record<ErrorCode, number> };

  const send = (c: Conn, f: ServerFrame) => {
    if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify(f));
  };
  const reject = (c: Conn, code: ErrorCode, message: string, rid?: number) => {
    m.rejected[code]++;
    send(c, { op: "error", ...(rid !== undefined ? { rid } : {}), code, message });
  };
  const bounds = () => ({ maxMessages: o.maxMessages, maxBytes: o.maxBytes, olderThan: now() - o.maxAgeMs });
  const sweep = async () => {
    const n = await store.evict(bounds());
    m.evicted += n;
    return n;
  };

  function unsubscribe(c: Conn, tags: string[] | undefined) {
    const drop = tags ?? [...c.tags];
    for (const t of drop) {
      if (!c.tags.delete(t)) continue;
      const s = byTag.get(t);
      s?.delete(c);
      if (s?.size === 0) byTag.delete(t);
    }
    if (!tags) allSubs.delete(c), (c.all = false);
  }

  function push(tag: string, seq: number, blob: string) {
    const targets = new Set(allSubs);
    for (const c of byTag.get(tag) ?? []) targets.add(c);
    if (targets.size === 0) return;
    const text = JSON.stringify({ op: "frame", seq, tag, blob } satisfies ServerFrame); // once for all
    for (const c of targets) {
      if (c.ws.readyState !== WebSocket.OPEN) continue;
      // A subscriber that stops reading would make us buffer without limit;
      // dropping it is safe because it can resume with fetch(since).
      if (c.ws.bufferedAmount > o.maxBufferedBytes) {
        log.warn("dropping slow subscriber", { buffered: c.ws.bufferedAmount });
        c.ws.terminate();
        continue;
      }
      c.ws.send(text);
    }
  }

  async function handlePost(c: Conn, f: Extract<ClientFrame, { op: "post" }>) {
    if (f.blob.length > maxB64 + 4) throw new FrameError("too-large", `blob over ${o.maxBlobBytes} bytes`, f.rid);
    const blob = fromB64(f.blob);
    if (blob.length > o.maxBlobBytes) throw new FrameError("too-large", `blob is ${blob.length} bytes, max ${o.maxBlobBytes}`, f.rid);
    // Canonical encoding only: the relay then forwards the client's own string
    // and two spellings of one blob cannot dodge duplicate detection.
    if (blob.length === 0 || toB64(blob) !== f.blob) throw new FrameError("bad-frame", "post.blob must be non-empty canonical base64url", f.rid);
    if (crypto) {
      if (f.pow === undefined) throw new FrameError("pow-required", `this relay requires a proof-of-work stamp of ${o.powBits} bits`, f.rid);
      if (!checkPow(crypto, f.tag, blob, f.pow, o.powBits)) throw new FrameError("pow-invalid", `stamp does not reach ${o.powBits} bits for this frame`, f.rid);
    }
    const r = await store.append(f.tag, blob, now());
    // Evict before answering, so the bounds already hold when a client sees
    // `posted`; the frame is stored, so an eviction failure is not its error.
    if (!r.duplicate) await sweep().catch((e) => log.error("eviction failed", { error: String(e) }));
    m.accepted++;
    send(c, { op: "posted", rid: f.rid, seq: r.seq, duplicate: r.duplicate });
    if (!r.duplicate) push(f.tag, r.seq, f.blob);
  }

  async function handleFetch(c: Conn, f: Extract<ClientFrame, { op: "fetch" }>) {
    const since = f.since ?? 0;
    const tags = f.tags ? new Set(f.tags) : null;
    // Replay up to a snapshot of `latest`; later frames reach subscribers live,
    // and caught-up then names a cursor the client can resume from exactly.
    const st = await store.stats();
    if (since < st.evictedThrough) send(c, { op: "pruned", rid: f.rid, requested: since, oldest: st.oldest });
    let cursor = since;
    let left = f.limit ?? Number.MAX_SAFE_INTEGER;
    while (left > 0 && cursor < st.latest && c.ws.readyState === WebSocket.OPEN) {
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
      for (const t of texts) c.ws.send(t);
      // Wait until the page is on the socket so one fetch holds one page in memory.
      await new Promise<void>((res) => c.ws.send(last, () => res()));
      if (page.length < want) break;
    }
    send(c, { op: "caught-up", rid: f.rid, latest: left === 0 ? cursor : st.latest });
  }

  function handleSubscribe(c: Conn, f: Extract<ClientFrame, { op: "subscribe" | "unsubscribe" }>) {
    if (f.op === "unsubscribe") unsubscribe(c, f.tags);
    else if (!f.tags) allSubs.add(c), (c.all = true);
    else {
      const fresh = f.tags.filter((t) => !c.tags.has(t));
      const total = c.tags.size + new Set(fresh).size;
      if (total > o.maxSubscriptionsPerConnection) throw new FrameError("too-many-subscriptions", `at most ${o.maxSubscriptionsPerConnection} subscribed tags per connection, would be ${total}`, f.rid);
      for (const t of fresh) {
        c.tags.add(t);
        let s = byTag.get(t);
        if (!s) byTag.set(t, (s = new Set()));
        s.add(c);
      }
    }
    send(c, { op: "subscribed", rid: f.rid, tags: c.all ? "all" : c.tags.size });
  }

  async function handle(c: Conn, f: ClientFrame) {
    try {
      if (f.op === "post") await handlePost(c, f);
      else if (f.op === "fetch") await handleFetch(c, f);
      else if (f.op === "ping") send(c, { op: "pong", rid: f.rid });
      else handleSubscribe(c, f);
    } catch (e) {
      if (e instanceof FrameError) return reject(c, e.code, e.message, e.rid ?? f.rid);
      log.error("relay request failed", { op: f.op, error: String(e) });
      reject(c, "internal", "relay could not complete the request", f.rid);
    }
  }

  function onMessage(c: Conn, data: RawData, isBinary: boolean) {
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
    const t = now();
    const ok = f?.op === "post" ? c.posts.take(t) : c.reqs.take(t);
    const rid = f?.rid ?? err?.rid;
    if (!ok) return reject(c, "rate-limited", f?.op === "post" ? `over ${o.postsPerSecond} posts/s` : `over ${o.requestsPerSecond} requests/s`, rid);
    if (err || !f) return reject(c, err?.code ?? "bad-frame", err?.message ?? "bad frame", rid);
    if (c.pending >= o.maxPendingPerConnection) return reject(c, "rate-limited", `more than ${o.maxPendingPerConnection} requests in flight`, rid);
    c.pending++;
    const frame = f;
    const run = () => handle(c, frame).finally(() => void c.pending--);
    if (frame.op === "post") {
      // A post starts once earlier requests have started (so seqs follow
      // arrival order) but does not hold up the next post.
      const p = c.chain.then(run);
      c.posting.add(p);
      void p.finally(() => c.posting.delete(p));
    } else {
      // Anything else sees the effect of every post sent before it.
      const before = [...c.posting];
      c.chain = c.chain.then(() => Promise.allSettled(before)).then(run);
    }
  }

  function onConnection(ws: WebSocket) {
    const t = now();
    const [posts, reqs] = [new TokenBucket(o.postsPerSecond, o.postBurst, t), new TokenBucket(o.requestsPerSecond, o.requestBurst, t)];
    const c: Conn = { ws, posts, reqs, all: false, tags: new Set(), chain: Promise.resolve(), posting: new Set(), pending: 0, alive: true };
    conns.add(c);
    c.chain = store.stats().then(
      (st: RelayStats) => send(c, { op: "hello", version: RELAY_PROTOCOL_VERSION, oldest: st.oldest, latest: st.latest, powBits: o.powBits, maxBlobBytes: o.maxBlobBytes }),
      (e: unknown) => {
        log.error("stats failed on connect", { error: String(e) });
        reject(c, "internal", "relay store unavailable");
      },
    );
    ws.on("message", (data, isBinary) => onMessage(c, data, isBinary));
    ws.on("pong", () => void (c.alive = true));
    ws.on("error", (e: Error & { code?: string }) => {
      if (e.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") m.rejected["too-large"]++;
      else m.rejected["bad-frame"]++;
    });
    ws.on("close", () => (unsubscribe(c, undefined), conns.delete(c)));
  }

  async function metricsText(): Promise<string> {
    const st = await store.stats();
    let subs = allSubs.size;
    for (const c of conns) subs += c.tags.size;
    const rows: [string, string, string, number | Record<string, number>][] = [
      ["frames_stored", "gauge", "Frames held now.", st.count],
      ["bytes_stored", "gauge", "Bytes held now (tag + blob).", st.bytes],
      ["frames_evicted_total", "counter", "Frames evicted by the cache bounds.", m.evicted],
      ["frames_accepted_total", "counter", "Posts answered with posted (duplicates included).", m.accepted],
      ["frames_rejected_total", "counter", "Client frames answered with an error (or a close), by reason.", m.rejected],
      ["connections", "gauge", "Open WebSocket connections.", conns.size],
      ["subscriptions", "gauge", "Subscribed tags plus subscribe-all, over all connections.", subs],
    ];
    return rows.map(([n, type, help, v]) => {
      const name = `pursuance_relay_${n}`;
      const values = typeof v === "number" ? `${name} ${v}` : Object.entries(v).map(([k, x]) => `${name}{reason="${k}"} ${x}`).join("\n");
      return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${values}\n`;
    }).join("");
  }

  async function onHttp(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? "/").split("?")[0];
    try {
      if (req.method === "GET" && path === "/healthz") {
        const st = await store.stats();
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, frames: st.count, bytes: st.bytes, oldest: st.oldest, latest: st.latest }));
      } else if (req.method === "GET" && path === "/metrics") {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(await metricsText());
      } else res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    } catch (e) {
      log.error("http request failed", { path, error: String(e) });
      if (!res.headersSent) res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ ok: false, error: "store unavailable" }));
    }
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload });
  const server = createServer((req, res) => void onHttp(req, res));
  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    if (conns.size >= o.maxConnections) socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n");
    else wss.handleUpgrade(req, socket, head, onConnection);
  });
  server.on("clientError", (_e, socket) => socket.destroy());
  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(o.port, o.host, () => (server.off("error", rej), res()));
  });
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = o.host.includes(":") ? `[${o.host}]` : o.host;

  const timers = [
    setInterval(() => void sweep().catch((e) => log.error("eviction failed", { error: String(e) })), sweepMs),
    o.heartbeatMs > 0 ? setInterval(() => {
      for (const c of conns) {
        if (!c.alive) c.ws.terminate();
        else (c.alive = false), c.ws.ping();
      }
    }, o.heartbeatMs) : undefined,
  ];
  for (const t of timers) t?.unref();
  log.info("relay listening", { port });

  let closing: Promise<void> | null = null;
  return {
    url: `ws://${hostInUrl}:${port}`,
    httpUrl: `http://${hostInUrl}:${port}`,
    port,
    store,
    sweep,
    metricsText,
    close: () =>
      (closing ??= (async () => {
        for (const t of timers) if (t) clearInterval(t);
        const chains = [...conns].flatMap((c) => [c.chain, ...c.posting]);
        for (const c of conns) c.ws.terminate();
        // Let in-flight store calls finish before the store goes away.
        await Promise.race([Promise.allSettled(chains), new Promise((r) => setTimeout(r, 2000).unref())]);
        await new Promise<void>((r) => wss.close(() => r()));
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        if (opts.closeStore ?? true) await store.close();
      })()),
  };
}
