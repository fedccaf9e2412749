// Cold load from PostgreSQL: the synthetic log saved through the real client
// store, then reopened by the real PursuanceClient.open (load keys, cursors
// and events; decode without re-verifying; restore the causal log; fold), in
// a worker with a time limit, from a fresh connection pool. A throwaway
// database is created for the run and dropped afterwards.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { fromHex, toHex } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import type { ClientPorts, ClientStorePort } from "../src/pursuance/ports.js";
import { clientStore } from "../src/store/client-store.js";
import { openDatabase } from "../src/store/db.js";
import type { ColdOpenJob, ColdOpenResult, Job, JobMessage } from "./job-types.js";
import { COLDLOAD_BOUND } from "./bounds.js";
import { metric, type Metric } from "./report.js";
import type { SynthLog } from "./synth.js";
import { gc, progress, runJob, since } from "./util.js";
import { systemTimer } from "../src/cwtch/timer.js";

const SERVER = process.env.BENCH_PG ?? "postgres://postgres@127.0.0.1:5432";

/** Worker side (jobs.ts): PursuanceClient.open of the founder's stored pursuance, timed. */
export async function coldOpen(job: ColdOpenJob): Promise<ColdOpenResult> {
  const crypto = await loadCrypto();
  const identity = crypto.signKeyPair(fromHex(job.founderSeed));
  const db = await openDatabase(job.url); // migrations run here, outside the timed part
  try {
    const real = clientStore(db.db, crypto, toHex(identity.publicKey), job.groupId);
    let loadEventsSeconds = 0;
    const timed: ClientStorePort = {
      ...real,
      loadEvents: async () => {
        const t = performance.now();
        const r = await real.loadEvents();
        loadEventsSeconds = since(t);
        return r;
      },
    };
    const ports: ClientPorts = {
      crypto,
      now: Date.now,
      setTimer: systemTimer,
      connect: () => {
        throw new Error("bench: the cold load opens no relay");
      },
      store: timed,
    };
    gc();
    const t0 = performance.now();
    const c = await PursuanceClient.open(ports, identity, { pursuanceId: job.pursuanceId, groupId: job.groupId, relays: [], name: "bench" });
    const openSeconds = since(t0);
    const ok = c.fold.size === job.n && c.state.applied === job.n && c.session.log.size === job.n;
    const summary = `fold ${c.fold.size}, applied ${c.state.applied}, log ${c.session.log.size}`;
    c.close();
    return { openSeconds, loadEventsSeconds, backend: crypto.backend, ok, summary };
  } finally {
    await db.close();
  }
}

/** Save the log into the store at `location`, then time PursuanceClient.open of it in a worker. */
async function saveAndOpen(crypto: Crypto, log: SynthLog, location: string, label: string, limit: number): Promise<{ saveRate: number; r: ColdOpenResult | null; status: string }> {
  const n = log.n;
  const identity = crypto.signKeyPair(log.founderSeed);
  const groupHex = toHex(log.groupId);
  progress(`coldload: saving ${n} events to ${label}`);
  const db = await openDatabase(location);
  const rows = log.events.map((bytes) => ({ id: toHex(crypto.hash(bytes, 32)), bytes }));
  const t0 = performance.now();
  try {
    const store = clientStore(db.db, crypto, toHex(identity.publicKey), groupHex);
    for (const k of log.keys) await store.saveKey(k.scope, k.key);
    await store.saveEvents(rows);
  } finally {
    await db.close();
  }
  const saveRate = n / since(t0);

  progress(`coldload: PursuanceClient.open on ${label} (worker, fresh connection, limit ${limit} s)`);
  let result: ColdOpenResult | null = null;
  const job: Job = { kind: "coldopen", url: location, n, founderSeed: toHex(log.founderSeed), pursuanceId: log.pursuanceId, groupId: groupHex };
  const status = await runJob<JobMessage>(new URL("./jobs.ts", import.meta.url), job, limit * 1000, (m) => {
    if (m.type === "error") throw new Error(`cold-open worker: ${m.message}`);
    if (m.type === "coldopen") result = m.result;
    return m.type === "done";
  });
  const r = result as ColdOpenResult | null;
  if (r && !r.ok) throw new Error(`cold load of ${n} events from ${label} came back wrong: ${r.summary}`);
  return { saveRate, r, status };
}

function openMetrics(prefix: string, label: string, n: number, limit: number, o: { saveRate: number; r: ColdOpenResult | null; status: string }): Metric[] {
  const { r, status, saveRate } = o;
  const note = r
    ? `${n} events via PursuanceClient.open on ${label} (${r.backend}): loadEvents ${r.loadEventsSeconds.toFixed(2)} s, decode+restore+fold ${(r.openSeconds - r.loadEventsSeconds).toFixed(2)} s`
    : `PursuanceClient.open of ${n} events on ${label} did not finish in ${limit} s (${status}; worker stopped)`;
  return [
    metric(`${prefix}.open`, r ? n / r.openSeconds : null, "events/s", null, { note }),
    metric(`${prefix}.open.seconds`, r ? r.openSeconds : null, "s", null, { target: { of: "value", op: "<", n: 2 }, note: r ? `total, ${n} events, ${label}` : `over ${limit} s`, bound: COLDLOAD_BOUND }),
    metric(`${prefix}.save`, saveRate, "events/s", null, { note: `clientStore.saveEvents (chunks of 500) + keys, into an empty ${label} database` }),
  ];
}

export async function benchColdLoad(crypto: Crypto, log: SynthLog, quick: boolean): Promise<Metric[]> {
  const n = log.n;
  const limit = quick ? 30 : 60;
  const out: Metric[] = [];
  // The embedded default (PGlite, in a folder of its own), then PostgreSQL.
  const dir = mkdtempSync(join(tmpdir(), "pursuance-bench-pglite-"));
  try {
    out.push(...openMetrics("coldload.pglite", "PGlite (the embedded default)", n, limit, await saveAndOpen(crypto, log, dir, "PGlite", limit)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const admin = postgres(`${SERVER}/postgres`, { max: 1, connect_timeout: 5, onnotice: () => {} });
  const dbName = `pursuance_bench_${process.pid}_${Date.now()}`;
  try {
    try {
      await admin`select 1`;
      await admin.unsafe(`create database "${dbName}"`);
    } catch (e) {
      return [...out, metric("coldload.open", null, "events/s", null, { note: `PostgreSQL at ${SERVER} unavailable: ${(e as Error).message}` })];
    }
    out.push(...openMetrics("coldload", "PostgreSQL", n, limit, await saveAndOpen(crypto, log, `${SERVER}/${dbName}`, `PostgreSQL database ${dbName}`, limit)));
    return out;
  } finally {
    await admin.unsafe(`drop database if exists "${dbName}" with (force)`).catch(() => {});
    await admin.end({ timeout: 5 }).catch(() => {});
  }
}
