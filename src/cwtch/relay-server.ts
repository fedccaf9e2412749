// The untrusted relay: one HTTP server carrying the WebSocket protocol of
// relay-protocol.ts plus /healthz and Prometheus /metrics. Every hostile input
// ends in an `error` frame on that connection only; no input may throw past a
// handler, block the event loop for long, or grow memory without bound.
// Per-connection handling lives in relay-connection.ts, counters and their
// exposition in relay-metrics.ts.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { loadCrypto, type Crypto } from "./crypto.js";
import { RelayConnection, Subscriptions, type RelayContext, type RelayLogger } from "./relay-connection.js";
import { newCounters, renderMetrics } from "./relay-metrics.js";
import { MemoryRelayStore } from "./relay-memory-store.js";
import type { RelayStore } from "./relay-store.js";

export type { RelayLogger } from "./relay-connection.js";

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

  const conns = new Set<RelayConnection>();
  const subs = new Subscriptions(o.maxBufferedBytes, log);
  const m = newCounters();
  const bounds = () => ({ maxMessages: o.maxMessages, maxBytes: o.maxBytes, olderThan: now() - o.maxAgeMs });
  const sweep = async () => {
    const b = bounds();
    if (!store.needsEviction(b)) return 0;
    const n = await store.evict(b);
    m.evicted += n;
    return n;
  };
  const ctx: RelayContext = { limits: o, store, now, log, crypto, metrics: m, subs, sweep, maxB64, pageFrames };

  function onConnection(ws: WebSocket, socket: Duplex) {
    conns.add(new RelayConnection(ws, socket, ctx, (c) => conns.delete(c)));
  }

  async function metricsText(): Promise<string> {
    const st = await store.stats();
    let subscriptions = subs.all.size;
    for (const c of conns) subscriptions += c.tags.size;
    return renderMetrics(st, m, { connections: conns.size, subscriptions });
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
    else wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, socket));
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
      for (const c of conns) c.heartbeat();
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
        const chains = [...conns].flatMap((c) => c.inflight());
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
