// The untrusted relay: one HTTP server carrying the WebSocket protocol of
// relay-protocol.ts plus /healthz and Prometheus /metrics. Every hostile input
// ends in an `error` frame on that connection only; no input may throw past a
// handler, block the event loop for long, or grow memory without bound.
// Per-connection handling lives in relay-connection.ts (a post's in
// relay-post-handler.ts, a fetch's in relay-fetch-handler.ts), counters and
// their exposition in relay-metrics.ts.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { toB64 } from "./bytes.js";
import { loadCrypto, type Crypto } from "./crypto.js";
import { RelayConnection } from "./relay-connection.js";
import { Subscriptions } from "./relay-subscriptions.js";
import type { RelayContext, RelayLogger } from "./relay-context.js";
import { newCounters, renderMetrics } from "./relay-metrics.js";
import { POW_POLICY_DEFAULTS, PowGovernor, type PowState } from "./relay-pow-governor.js";
import { MemoryRelayStore } from "./relay-memory-store.js";
import { checkRelayOptions, crossCheckRelayOptions, FRAME_OVERHEAD_BYTES } from "./relay-options.js";
import type { RelayStore } from "./relay-store.js";

export type { RelayLogger } from "./relay-context.js";
export { RelayOptionError } from "./relay-options.js";

/** Defaults of every numeric/string option; the CLI prints these in --help. */
export const RELAY_DEFAULTS = {
  host: "127.0.0.1",
  port: 0, // 0 = ephemeral
  maxMessages: 100_000,
  maxBytes: 256 * 1024 * 1024,
  maxAgeMs: 7 * 86_400_000,
  powBits: 0, // required even when calm; 0 = free when calm
  powAdaptive: true, // raise the difficulty under flood, decay it when calm
  powMaxBits: POW_POLICY_DEFAULTS.maxBits,
  powPressurePostsPerSecond: POW_POLICY_DEFAULTS.pressurePostsPerSecond,
  powPressureChurnPerSecond: POW_POLICY_DEFAULTS.pressureChurnPerSecond,
  powDecayMs: POW_POLICY_DEFAULTS.decayMs, // calm time per bit taken off
  maxBlobBytes: 96 * 1024, // decoded
  postsPerSecond: 200,
  postBurst: 400,
  requestsPerSecond: 50, // fetch, subscribe, unsubscribe, ping and malformed frames
  requestBurst: 100,
  maxSubscriptionsPerConnection: 256, // tags
  maxConnections: 4096,
  fetchPageSize: 256, // frames per store read, further capped to ~4 MiB of blobs
  maxPendingPerConnection: 1024, // queued requests
  maxBufferedBytes: 16 * 1024 * 1024, // unhandled + unsent for one client before it is shed
  maxTotalBufferedBytes: 256 * 1024 * 1024, // the same over all clients; the largest holders are shed
  heartbeatMs: 30_000, // 0 = off
};

export interface RelayOptions extends Partial<typeof RELAY_DEFAULTS> {
  store?: RelayStore; // new MemoryRelayStore()
  closeStore?: boolean; // true: close() also closes the store
  sweepIntervalMs?: number; // age eviction timer: clamp(maxAgeMs/10, 1 s, 60 s)
  now?: () => number; // Date.now; also drives the rate limiter
  crypto?: Crypto; // loaded when powBits > 0 or powAdaptive
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
  /** The relay's own accounting of bytes it holds for clients (what the bounds act on). */
  memory(): RelayMemory;
  /** The proof-of-work difficulty now and how it got there. */
  pow(): PowState;
  close(): Promise<void>;
}

export interface RelayMemory {
  /** Unhandled request bytes plus unsent answer bytes, over open connections, now. */
  heldBytes: number;
  /** Highest held bytes seen on one connection. */
  peakConnectionBytes: number;
  /** Highest total seen by the periodic check. */
  peakTotalBytes: number;
  /** Connections shed for holding too much. */
  shed: number;
}

const silent: RelayLogger = { info() {}, warn() {}, error() {} };

/** Throws RelayOptionError (naming the option) for a value that overflowed or makes no sense. */
export async function startRelay(opts: RelayOptions = {}): Promise<RelayServer> {
  checkRelayOptions(opts as Record<string, unknown>);
  const o = { ...RELAY_DEFAULTS };
  for (const k of Object.keys(o) as (keyof typeof o)[]) if (opts[k] !== undefined) (o as Record<string, unknown>)[k] = opts[k];
  o.maxBlobBytes = crossCheckRelayOptions(opts as Record<string, unknown>, o);
  const sweepMs = opts.sweepIntervalMs ?? Math.min(60_000, Math.max(1000, Math.floor(o.maxAgeMs / 10)));
  const store = opts.store ?? new MemoryRelayStore();
  const now = opts.now ?? Date.now;
  const log = opts.logger ?? silent;
  const crypto = o.powBits > 0 || o.powAdaptive ? (opts.crypto ?? (await loadCrypto())) : null;
  const pow = new PowGovernor(
    {
      ...POW_POLICY_DEFAULTS,
      baseBits: o.powBits,
      adaptive: o.powAdaptive,
      maxBits: Math.max(o.powBits, o.powMaxBits),
      pressurePostsPerSecond: o.powPressurePostsPerSecond,
      pressureChurnPerSecond: o.powPressureChurnPerSecond,
      decayMs: o.powDecayMs,
    },
    now(),
  );
  // base64 text of the largest blob, plus room for tag, pow and up to 256 tags in a fetch.
  const maxB64 = Math.ceil((o.maxBlobBytes * 4) / 3);
  const maxPayload = maxB64 + FRAME_OVERHEAD_BYTES;
  // A fetch holds one page in memory: at most ~4 MiB of blobs, however large frames are.
  const pageFrames = Math.max(1, Math.min(o.fetchPageSize, Math.floor((4 << 20) / o.maxBlobBytes)));

  const conns = new Set<RelayConnection>();
  const subs = new Subscriptions();
  const m = newCounters();
  const bounds = () => ({ maxMessages: o.maxMessages, maxBytes: o.maxBytes, olderThan: now() - o.maxAgeMs });
  const evicted = (n: number) => {
    m.evicted += n;
    pow.noteEvicted(now(), n);
    return n;
  };
  const sweep = async () => {
    const b = bounds();
    return store.needsEviction(b) ? evicted(await store.evict(b)) : 0;
  };
  const evictNow = store.evictNow?.bind(store);
  const sweepNow = evictNow && (() => {
    const b = bounds();
    return store.needsEviction(b) ? evicted(evictNow(b)) : 0;
  });
  const mem = { queued: 0, peakConnection: 0, peakTotal: 0 };
  const held = () => {
    let total = 0;
    for (const c of conns) if (!c.shedding) total += c.held();
    return total;
  };
  // Over the total bound: shed the largest holders first, never the many small honest ones.
  const enforceTotal = () => {
    let total = held();
    if (total > mem.peakTotal) mem.peakTotal = total;
    if (total <= o.maxTotalBufferedBytes) return;
    const big = [...conns].filter((c) => !c.shedding).sort((a, b) => b.held() - a.held());
    for (const c of big) {
      if (total <= o.maxTotalBufferedBytes) break;
      total -= c.held();
      c.shed(`the relay holds ${o.maxTotalBufferedBytes} bytes for its clients and this connection holds the most`);
    }
  };
  const needsSweep = () => store.needsEviction(bounds());
  const ctx: RelayContext = { limits: o, store, now, log, crypto, pow, mem, enforceTotal, metrics: m, subs, sweep, ...(sweepNow ? { sweepNow } : {}), needsSweep, maxB64, pageFrames, fed: (store as RelayStore).follow !== undefined };
  // Relays sharing one store: push what any of them stored, in seq order, from the store's feed.
  (store as RelayStore).follow?.((frames) => {
    for (const f of frames) subs.push(f.tag, f.seq, toB64(f.blob));
  });

  function onConnection(ws: WebSocket, socket: Duplex) {
    conns.add(new RelayConnection(ws, socket, ctx, (c) => conns.delete(c)));
  }

  async function metricsText(): Promise<string> {
    const st = await store.stats();
    let subscriptions = subs.all.size;
    for (const c of conns) subscriptions += c.tags.size;
    return renderMetrics(st, m, { connections: conns.size, subscriptions, heldBytes: held(), powBits: pow.required(now()) });
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
    // Connections that stopped reading send nothing more to trigger a check.
    setInterval(() => {
      for (const c of conns) if (!c.shedding) c.checkHeld();
      enforceTotal();
    }, 250),
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
    memory: () => ({ heldBytes: held(), peakConnectionBytes: mem.peakConnection, peakTotalBytes: mem.peakTotal, shed: m.shed }),
    pow: () => pow.state(now()),
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
