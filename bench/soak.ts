// Soak (issue 10, "nothing lost"): many clients in many pursuances push many
// frames through one relay on PostgreSQL, and the relay is restarted once
// mid-run. Each client subscribes to its pursuance's tag and, after every
// reconnect, fetches from the last seq it saw, as a member's client does.
// Claims checked: every acknowledged frame reaches every client of its
// pursuance (zero lost; retention is set to hold them all), and the process's
// memory after the run is back near where it started. The bridge is not
// restarted here (it needs a homeserver; test/bridge-restart.test.ts kills it
// mid-stream instead).
//
// Full size: npm run bench -- --only soak. Small: --only soak --small (or
// PURSUANCE_SOAK_SMALL=1); test/soak-small.test.ts runs the small one.
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { RelayClient } from "../src/cwtch/relay-client.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { openPgRelayStore } from "../src/store/relay-pg-store.js";
import { metric, type Metric } from "./report.js";
import { benchSize, gc, MiB, progress, since } from "./util.js";

export interface SoakSize {
  clients: number;
  pursuances: number;
  frames: number;
}
export const SOAK_FULL: SoakSize = { clients: 200, pursuances: 20, frames: 100_000 };
export const SOAK_SMALL: SoakSize = { clients: 20, pursuances: 4, frames: 2_000 };
/** The CI smoke (bench --tiny): the same code path, just completing. */
export const SOAK_TINY: SoakSize = { clients: 4, pursuances: 2, frames: 100 };

export interface SoakResult {
  size: SoakSize;
  seconds: number;
  acked: number;
  /** Deliveries (client, frame) owed: every acknowledged frame to every client of its pursuance. */
  owed: number;
  lost: number;
  /** Frames a client received twice (live and in its resume fetch): harmless, counted to show the resume works. */
  duplicates: number;
  restarts: number;
  reconnects: number;
  postsRetried: number;
  heapBeforeMiB: number;
  heapAfterMiB: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  relayHeldBytesAtEnd: number;
  /** Highest RSS of this process (relay and clients share it) sampled every 100 ms during the run. */
  peakRssMiB: number;
}

const SERVER = process.env.BENCH_PG ?? "postgres://postgres@127.0.0.1:5432";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`soak: ${what} took over ${ms} ms`)), ms)));
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

interface Member {
  rc: RelayClient;
  tag: string;
  seen: Set<number>;
  cursor: number;
  duplicates: number;
}

function memory() {
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed / MiB, rss: m.rss / MiB };
}

export async function runSoak(size: SoakSize, log: (m: string) => void = progress): Promise<SoakResult> {
  const crypto: Crypto = await loadCrypto();
  const admin = postgres(`${SERVER}/postgres`, { max: 1, connect_timeout: 5, onnotice: () => {} });
  const dbName = `pursuance_soak_${randomBytes(5).toString("hex")}`;
  await admin.unsafe(`create database ${dbName}`);
  const url = `${SERVER}/${dbName}`;
  const before = memory();
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => void (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100);
  const t0 = performance.now();
  let relay: RelayServer | null = null;
  const members: Member[] = [];
  try {
    const open = async (port = 0) =>
      startRelay({
        port,
        store: await openPgRelayStore(url),
        maxMessages: size.frames * 2, // retention holds the whole run: any missing frame is a loss
        postsPerSecond: 100_000,
        postBurst: 100_000,
        maxPendingPerConnection: 4096,
      });
    relay = await open();
    const port = relay.port;
    const tags = Array.from({ length: size.pursuances }, (_, i) => Buffer.from(`soak-pursuance-${String(i).padStart(3, "0")}`).toString("base64url"));
    let reconnects = 0;
    for (let i = 0; i < size.clients; i++) {
      // A lossless local path: no early re-sends (under load they would only double the work).
      const rc = new RelayClient({ url: relay.url, crypto, minBackoffMs: 50, maxBackoffMs: 1000, requestTimeoutMs: 120_000, minResendMs: 30_000, maxResendMs: 60_000 });
      const m: Member = { rc, tag: tags[i % size.pursuances]!, seen: new Set(), cursor: 0, duplicates: 0 };
      const take = (seq: number) => {
        if (m.seen.has(seq)) m.duplicates++;
        else m.seen.add(seq);
        if (seq > m.cursor) m.cursor = seq;
      };
      rc.on("frame", (f) => take(f.seq));
      let first = true;
      rc.on("connected", () => {
        if (first) return void (first = false);
        reconnects++;
        // What a member's client does on reconnect: replay from its cursor (the subscription is renewed by the client).
        void rc.fetch([m.tag], m.cursor, (f) => take(f.seq)).catch(() => {});
      });
      rc.start();
      members.push(m);
    }
    await Promise.all(members.map((m) => m.rc.ready()));
    await Promise.all(members.map((m) => m.rc.subscribe([m.tag])));
    log(`soak: ${size.clients} clients in ${size.pursuances} pursuances connected; posting ${size.frames} frames`);

    // Posts: each client posts its share, a few in flight at a time; the relay restarts halfway.
    const ackedBy = new Map<string, Set<number>>(tags.map((t) => [t, new Set()]));
    let acked = 0;
    let retried = 0;
    let restarts = 0;
    const perClient = Math.ceil(size.frames / size.clients);
    let restarting: Promise<void> | null = null;
    const post = async (m: Member, i: number, k: number) => {
      const blob = new Uint8Array(randomBytes(160 + ((i * 7 + k) % 200)));
      for (let attempt = 0; ; attempt++) {
        try {
          if (restarting) await restarting;
          const r = await m.rc.post(m.tag, blob);
          ackedBy.get(m.tag)!.add(r.seq);
          if (++acked % Math.max(1, Math.floor(size.frames / 10)) === 0) log(`soak: ${acked} acknowledged, ${(acked / since(t0)).toFixed(0)}/s`);
          return;
        } catch (e) {
          if (attempt >= 5) throw new Error(`soak: a post failed ${attempt + 1} times: ${(e as Error).message}`);
          retried++;
          await sleep(200 * (attempt + 1));
        }
      }
    };
    await Promise.all(
      members.map(async (m, k) => {
        const mine = Math.max(0, Math.min(perClient, size.frames - k * perClient));
        const inflight = new Set<Promise<void>>();
        for (let i = 0; i < mine; i++) {
          const p = post(m, i, k).finally(() => inflight.delete(p));
          inflight.add(p);
          if (inflight.size >= 2) await Promise.race(inflight);
          if (restarts === 0 && !restarting && acked >= size.frames / 2) {
            restarting = (async () => {
              log(`soak: restarting the relay at ${acked} acknowledged frames`);
              // Bounded, so a stuck close or reopen fails the bench with its step named instead of hanging it.
              await within(relay!.close(), 30_000, "closing the relay for the restart");
              log("soak: relay closed");
              // The port may linger a moment after close: try again rather than leave the clients without a relay.
              for (let t = 0; ; t++) {
                try {
                  relay = await within(open(port), 30_000, `reopening the relay on port ${port}`);
                  break;
                } catch (e) {
                  if (t >= 20) throw e;
                  log(`soak: relay restart failed (${(e as Error).message}); again`);
                  await sleep(250);
                }
              }
              restarts++;
              log("soak: relay back");
            })().finally(() => (restarting = null));
          }
        }
        await Promise.all(inflight);
      }),
    );
    log(`soak: ${acked} frames acknowledged in ${since(t0).toFixed(1)} s; waiting for delivery`);

    // Delivery: each client must hold every acknowledged frame of its pursuance.
    const missing = () => {
      let n = 0;
      for (const m of members) for (const s of ackedBy.get(m.tag)!) if (!m.seen.has(s)) n++;
      return n;
    };
    const settleEnd = Date.now() + Math.max(30_000, size.frames / 2);
    let lost = missing();
    while (lost > 0 && Date.now() < settleEnd) {
      await sleep(250);
      lost = missing();
    }
    const relayHeld = relay.memory().heldBytes;
    const seconds = since(t0);
    let owed = 0;
    for (const m of members) owed += ackedBy.get(m.tag)!.size;
    const duplicates = members.reduce((n, m) => n + m.duplicates, 0);
    for (const m of members) m.rc.close();
    members.length = 0;
    await relay.close();
    relay = null;
    await sleep(200);
    const after = memory();
    return {
      size,
      seconds,
      acked,
      owed,
      lost,
      duplicates,
      restarts,
      reconnects,
      postsRetried: retried,
      heapBeforeMiB: before.heap,
      heapAfterMiB: after.heap,
      rssBeforeMiB: before.rss,
      rssAfterMiB: after.rss,
      relayHeldBytesAtEnd: relayHeld,
      peakRssMiB: peakRss / MiB,
    };
  } finally {
    clearInterval(sampler);
    for (const m of members) m.rc.close();
    await (relay as RelayServer | null)?.close().catch(() => {});
    await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {});
    await admin.end();
  }
}

export async function benchSoak(small: boolean): Promise<Metric[]> {
  const size = benchSize() === "tiny" ? SOAK_TINY : small ? SOAK_SMALL : SOAK_FULL;
  const r = await runSoak(size);
  const label = `soak ${size.clients} clients/${size.pursuances} pursuances/${size.frames} frames, relay restarted ${r.restarts}x`;
  progress(`${label}: ${JSON.stringify(r)}`);
  return [
    metric(`${label}: frames lost`, r.lost, "deliveries", null, { target: { of: "value", op: "<=", n: 0 }, note: `of ${r.owed} owed; ${r.duplicates} received twice after the restart (dropped by seq), ${r.reconnects} reconnects, ${r.postsRetried} posts retried` }),
    metric(`${label}: throughput`, r.acked / r.seconds, "frames/s", null, { note: `${r.acked} acknowledged in ${r.seconds.toFixed(1)} s, each to ${size.clients / size.pursuances} clients` }),
    metric(`${label}: heap after / before`, r.heapAfterMiB, "MiB", r.heapBeforeMiB, { note: "after a forced GC, clients and relay closed; ratio near 1 = back to baseline" }),
    metric(`${label}: peak rss`, r.peakRssMiB, "MiB", null, { note: "the relay's process, sampled every 100 ms over the run; the clients run in it too, so this bounds the relay's own peak from above" }),
    metric(`${label}: rss after / before`, r.rssAfterMiB, "MiB", r.rssBeforeMiB, { note: `relay held ${r.relayHeldBytesAtEnd} bytes for clients at the end` }),
  ];
}
