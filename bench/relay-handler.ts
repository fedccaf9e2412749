// The relay's own cost per post, apart from the WebSocket: RelayConnection
// fed ready-made post messages through a stand-in socket that costs nothing
// to write to, over the memory store. The relay bench (relay.ts) measures the
// whole path against a bare server, and on the shared 2-core bench machine
// its figures swing by a third from run to run; this reports the best of 50
// batches of 2,000 posts, so load from elsewhere mostly drops out, and a
// change to the handler can be compared with the one before it:
//
//   npx tsx bench/relay-handler.ts [subscribers]
import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import { RelayConnection } from "../src/cwtch/relay-connection.js";
import type { RelayContext } from "../src/cwtch/relay-context.js";
import { MemoryRelayStore } from "../src/cwtch/relay-memory-store.js";
import { newCounters } from "../src/cwtch/relay-metrics.js";
import { POW_POLICY_DEFAULTS, PowGovernor } from "../src/cwtch/relay-pow-governor.js";
import { RELAY_DEFAULTS } from "../src/cwtch/relay-server.js";
import { Subscriptions } from "../src/cwtch/relay-subscriptions.js";

/** What RelayConnection uses of a ws WebSocket; sends are counted, not written. */
class StandIn extends EventEmitter {
  readyState = 1; // OPEN
  bufferedAmount = 0;
  extensions = "";
  sent = 0;
  send(_data: unknown, opts?: object | (() => void), cb?: () => void): void {
    this.sent++;
    (typeof opts === "function" ? opts : cb)?.();
  }
  ping(): void {}
  terminate(): void {}
  close(): void {}
}

export async function postCost(subscribers: number, batch = 2000, batches = 60): Promise<number> {
  const store = new MemoryRelayStore();
  const now = Date.now;
  const bounds = () => ({ maxMessages: 10_000_000, maxBytes: 8 * 2 ** 30, olderThan: now() - RELAY_DEFAULTS.maxAgeMs });
  const limits = { ...RELAY_DEFAULTS, postsPerSecond: 1e9, postBurst: 1e9, requestsPerSecond: 1e9, requestBurst: 1e9, maxPendingPerConnection: 1e6, maxBufferedBytes: 1 << 30, maxTotalBufferedBytes: 8 * 2 ** 30, maxBytes: 8 * 2 ** 30 };
  const ctx: RelayContext = {
    limits,
    store,
    now,
    log: { info() {}, warn() {}, error() {} },
    crypto: null,
    pow: new PowGovernor({ ...POW_POLICY_DEFAULTS, baseBits: 0, adaptive: false }, now()),
    mem: { queued: 0, peakConnection: 0, peakTotal: 0 },
    enforceTotal() {},
    metrics: newCounters(),
    subs: new Subscriptions(),
    sweep: async () => (store.needsEviction(bounds()) ? store.evict(bounds()) : 0),
    sweepNow: () => (store.needsEviction(bounds()) ? store.evictNow(bounds()) : 0),
    needsSweep: () => store.needsEviction(bounds()),
    maxB64: Math.ceil((limits.maxBlobBytes * 4) / 3),
    pageFrames: 256,
  };
  // Whole frames the relay writes to the socket itself (relay-wire.ts) count as its sends too.
  const socketOf = (ws: StandIn) => ({ remoteAddress: "127.0.0.1", cork() {}, uncork() {}, pause() {}, write: () => void ws.sent++ }) as unknown as Duplex;
  const open = (ws: StandIn) => new RelayConnection(ws as unknown as WebSocket, socketOf(ws), ctx, () => {});
  const tick = () => new Promise((r) => setImmediate(r));
  const tag = randomBytes(16).toString("base64url");
  const pub = new StandIn();
  open(pub);
  for (let i = 0; i < subscribers; i++) {
    const s = new StandIn();
    open(s);
    await tick();
    s.emit("message", Buffer.from(JSON.stringify({ op: "subscribe", rid: 1, tags: [tag] })), false);
  }
  await tick();
  const msgs: Buffer[] = [];
  for (let i = 0; i < batch * batches; i++) msgs.push(Buffer.from(JSON.stringify({ op: "post", rid: i + 1, tag, blob: randomBytes(1024).toString("base64url") })));
  let k = 0;
  let best = Infinity;
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) pub.emit("message", msgs[k++]!, false);
    await tick(); // posts answered on a later turn (an async store) count too
    if (b >= 10) best = Math.min(best, (performance.now() - t0) / batch); // the first batches warm the JIT
  }
  if (pub.sent < 1 + batch * batches) throw new Error(`answered ${pub.sent - 1} of ${batch * batches} posts`);
  await store.close();
  return best * 1000;
}

if (process.argv[1]?.endsWith("relay-handler.ts")) {
  const subscribers = Number(process.argv[2] ?? 0);
  console.log(`relay handler: ${(await postCost(subscribers)).toFixed(2)} µs per post (1 KiB blob, ${subscribers} subscribers, memory store, best batch of 50 × 2,000)`);
}
