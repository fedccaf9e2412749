// Pursuance fold throughput on a synthetic 100k-event log (synth.ts), beside
// the protocol receive pipeline over the same events sealed as frames.
import { memoryUsage } from "node:process";
import { toB64 } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { deriveEpochKeys, sealFrame } from "../src/cwtch/envelope.js";
import { GroupSession } from "../src/cwtch/group-session.js";
import { decodeAndVerify, type SignedEvent } from "../src/cwtch/message.js";
import type { PEvent } from "../src/pursuance/apply-common.js";
import { Fold, foldAll } from "../src/pursuance/fold.js";
import { toPEvent, toPEvents } from "../src/pursuance/pevent.js";
import { FOLD_RSS_BOUND } from "./bounds.js";
import { metric, type Metric } from "./report.js";
import type { FoldRun, Job, JobMessage } from "./job-types.js";
import { cachedEvents, type SynthLog } from "./synth.js";
import { gc, MiB, progress, runJob, since } from "./util.js";

export function decodeLog(crypto: Crypto, log: SynthLog): SignedEvent[] {
  return log.events.map((b) => {
    const m = decodeAndVerify(crypto, b, false);
    if (m?.kind !== "event") throw new Error("cached log holds a non-event");
    return m;
  });
}

function checkFold(f: Fold, n: number): void {
  if (f.size !== n || f.state.rejected.length !== 0 || f.state.applied !== n) {
    throw new Error(`fold of ${n} events: size ${f.size}, applied ${f.state.applied}, rejected ${f.state.rejected.length} (${f.state.rejected[0]?.reason ?? ""})`);
  }
}

/**
 * One timed foldAll with its peak memory. foldAll is synchronous, so a timer
 * cannot sample it: a wrapper on Fold's (private) per-event step samples
 * every 1,000 events (a counter per event: no measurable cost).
 */
export function foldMeasured(crypto: Crypto, pevs: PEvent[], genesisId: string): FoldRun {
  const proto = Fold.prototype as unknown as { step(e: PEvent): void };
  const orig = proto.step;
  gc();
  const before = memoryUsage();
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  let peakArrayBuffers = before.arrayBuffers;
  let peakExternal = before.external;
  const sample = () => {
    const m = memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers);
    peakExternal = Math.max(peakExternal, m.external);
  };
  let i = 0;
  proto.step = function (this: unknown, e: PEvent) {
    if (++i % 1000 === 0) sample();
    return orig.call(this, e);
  };
  let f: Fold;
  let seconds: number;
  try {
    const t0 = performance.now();
    f = foldAll(crypto, pevs, genesisId);
    seconds = since(t0);
    sample();
  } finally {
    proto.step = orig;
  }
  gc();
  const retainedHeap = memoryUsage().heapUsed - before.heapUsed;
  checkFold(f, pevs.length); // after the GC, so the fold is still alive when measured
  return { size: pevs.length, seconds, beforeRss: before.rss, beforeHeap: before.heapUsed, peakRss, peakHeap, beforeArrayBuffers: before.arrayBuffers, peakArrayBuffers, peakExternal, retainedHeap };
}

/** Worker side (jobs.ts): fold the first `size` events of the cached log, for each size. */
export async function foldJob(n: number, sizes: number[], pursuanceId: string, post: (r: FoldRun) => void): Promise<void> {
  const crypto = await loadCrypto();
  const pevs = loadPEvents(crypto, n);
  for (const size of sizes) post(foldMeasured(crypto, pevs.slice(0, size), pursuanceId));
}

/**
 * The log's events as a client's reopen takes them (toPEvents: one copy of
 * each hex id and author), read and decoded one at a time from the cache
 * file: no array of every SignedEvent beside the PEvents, and never the raw
 * log (the heap and RSS high-water marks that the process keeps afterwards).
 */
function loadPEvents(crypto: Crypto, n: number): PEvent[] {
  function* decoded(): Generator<SignedEvent> {
    for (const bytes of cachedEvents(n)) {
      const m = decodeAndVerify(crypto, bytes, false);
      if (m?.kind !== "event") throw new Error("cached log holds a non-event");
      yield m;
    }
  }
  return toPEvents(decoded());
}

export async function benchFold(crypto: Crypto, log: SynthLog, quick: boolean): Promise<Metric[]> {
  const n = log.n;
  const tenth = Math.round(n / 10);
  const limit = quick ? 30 : 60;
  const runs = new Map<number, FoldRun>();

  // foldAll in a child process with a time limit, first on a tenth of the log,
  // then on all of it: a process, so its RSS is the fold's (a worker shares
  // the RSS of this bench process, which holds its own copy of the log).
  progress(`fold: foldAll of ${tenth}, then ${n} events (child process, limit ${limit} s)`);
  const status = await runJob<JobMessage>(new URL("./jobs.ts", import.meta.url), { kind: "fold", n, sizes: [tenth, n], pursuanceId: log.pursuanceId } satisfies Job, limit * 1000, (m) => {
    if (m.type === "error") throw new Error(`fold worker: ${m.message}`);
    if (m.type === "fold") {
      runs.set(m.run.size, m.run);
      progress(`fold: foldAll of ${m.run.size} events in ${m.run.seconds.toFixed(2)} s`);
    }
    return m.type === "done";
  }, "process");

  progress("fold: incremental Fold.add of the last 1,000 events");
  const events = decodeLog(crypto, log);
  const pevs = toPEvents(events);
  const tail = Math.min(1000, n - 1);
  // The head is built one event at a time too (linear, whatever foldAll costs); only the tail is timed.
  const head = new Fold({ crypto, genesisId: log.pursuanceId });
  for (const p of pevs.slice(0, n - tail)) head.add([p]);
  const t1 = performance.now();
  let refolds = 0;
  for (const p of pevs.slice(n - tail)) if (head.add([p])) refolds++;
  const incRate = tail / since(t1);
  checkFold(head, n);

  progress(`fold: receive pipeline over the same ${n} events (${crypto.backend})`);
  const keys = deriveEpochKeys(crypto, log.epoch, log.groupKey);
  const blobs = events.map((e) => toB64(sealFrame(crypto, keys, e.bytes)));
  const s = new GroupSession({ crypto, identity: crypto.signKeyPair(), groupId: log.groupId, epochs: [{ epoch: log.epoch, key: log.groupKey }], now: Date.now });
  let delivered = 0;
  const t2 = performance.now();
  for (const b of blobs) {
    const o = s.receive(keys.tag, b);
    if (o.type === "event" && o.status === "delivered") delivered += o.delivered.length;
  }
  const pipeRate = n / since(t2);
  if (delivered !== n) throw new Error(`pipeline delivered ${delivered} of ${n}`);

  const mib = (x: number) => x / MiB;
  const full = runs.get(n);
  const part = runs.get(tenth);
  const slow = status === "timeout" ? `did not finish in ${limit} s (worker stopped)` : "";
  const mem = full ?? part;
  const memNote = (r: FoldRun) =>
    `foldAll of ${r.size} in a child process; before: rss ${mib(r.beforeRss).toFixed(0)} MiB, heap ${mib(r.beforeHeap).toFixed(0)} MiB, array buffers ${mib(r.beforeArrayBuffers).toFixed(0)} MiB (PEvents decoded one by one from the cached log, the raw log dropped); peak: heap ${mib(r.peakHeap).toFixed(0)} MiB, array buffers ${mib(r.peakArrayBuffers).toFixed(0)} MiB, external ${mib(r.peakExternal).toFixed(0)} MiB`;
  return [
    metric("fold.all", full ? n / full.seconds : null, "events/s", pipeRate, {
      note: `foldAll of ${n} events (${log.members} members, tasks/comments/closes)${slow ? `: ${slow}` : ""}; baseline: GroupSession.receive of the same log (${crypto.backend})`,
    }),
    metric(`fold.all.first-${tenth}`, part ? tenth / part.seconds : null, "events/s", pipeRate, { note: `foldAll of the first ${tenth} events, the worker's first (JIT-cold) fold${part ? "" : `: ${slow || "not reached"}`}; baseline as above` }),
    metric("fold.incremental", incRate, "events/s", full ? n / full.seconds : null, { note: `Fold.add one at a time, last ${tail} of ${n}${refolds ? `, ${refolds} full refolds` : ""}; baseline: foldAll rate` }),
    metric("fold.peak_rss", mem ? mib(mem.peakRss) : null, "MiB", null, { target: { of: "value", op: "<", n: 300 }, note: mem ? `process RSS, ${memNote(mem)}` : slow, bound: FOLD_RSS_BOUND }),
    metric("fold.peak_heap", mem ? mib(mem.peakHeap) : null, "MiB", null, { note: mem ? `child process heapUsed sampled every 1,000 events; state retained after: ${mib(mem.retainedHeap).toFixed(0)} MiB` : slow }),
  ];
}
