// This tree's relay beside another checkout's (the code before a change),
// alternating with the coalescing bare server, in one process and one load
// worker (relay.ts), so drift and load from elsewhere hit both relays alike:
//
//   git archive <base> | tar -x -C /tmp/base && ln -s "$PWD/node_modules" /tmp/base/
//   npx tsx bench/relay-ab.ts /tmp/base [reps=5] [ingest,fanout-1,fanout-50]
//
// Besides frames/s, it reports the server thread's own CPU time per frame
// (Linux: /proc/<pid>/task/<tid>/schedstat), which the rate is not: on the
// shared 2-core machine the server thread waits for a core a good part of a
// run, and that wait swings the rates by a third from run to run while the
// CPU time per frame moves far less.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { startRelay } from "../src/cwtch/relay-server.js";
import { BENCH_RELAY, LoadWorker, startBare } from "./relay.js";

type Side = "base" | "this" | "bare";

/** CPU time of this (main) thread so far, ns: its tid is the pid. */
const cpuNs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const [baseDir, repsArg, namesArg] = process.argv.slice(2);
if (!baseDir) throw new Error("usage: relay-ab.ts <base checkout> [reps] [ingest,fanout-1,fanout-50]");
const base = (await import(pathToFileURL(resolve(baseDir, "src/cwtch/relay-server.ts")).href)) as { startRelay: typeof startRelay };
const reps = Number(repsArg ?? 5);
const worker = new LoadWorker();

async function run(side: Side, subscribers: number, frames: number): Promise<{ rate: number; cpu: number }> {
  const server = side === "bare" ? await startBare(true) : await (side === "base" ? base.startRelay : startRelay)(BENCH_RELAY);
  try {
    const job = { url: server.url, kind: side === "bare" ? ("bare-cork" as const) : ("relay" as const), subscribers, frames, window: 256, blobBytes: 1024 };
    await worker.run({ ...job, frames: Math.min(3000, frames) }); // warm-up, as relay.ts does
    let c0 = cpuNs();
    worker.onStart = () => void (c0 = cpuNs());
    const r = await worker.run(job);
    const cpu = (cpuNs() - c0) / 1000 / frames;
    if (r.error || r.acked !== frames || r.delivered !== frames) throw new Error(`${side}: ${r.error ?? `acked ${r.acked}, delivered ${r.delivered} of ${frames}`}`);
    return { rate: frames / r.seconds, cpu };
  } finally {
    await server.close();
  }
}

try {
  for (const name of (namesArg ?? "ingest,fanout-1").split(",")) {
    const subscribers = name === "ingest" ? 0 : Number(name.split("-")[1]);
    const frames = subscribers >= 50 ? 5000 : 30_000;
    const rate: Record<Side, number[]> = { base: [], this: [], bare: [] };
    const cpu: Record<Side, number[]> = { base: [], this: [], bare: [] };
    const ratio: Record<Side, number[]> = { base: [], this: [], bare: [] };
    // Paired within a rep (the two relays ran back to back): what the change did, less of the drift between reps.
    const gain: number[] = [];
    const saved: number[] = [];
    for (let i = 0; i < reps; i++) {
      const got = {} as Record<Side, { rate: number; cpu: number }>;
      for (const side of (i % 2 ? ["this", "base", "bare"] : ["base", "this", "bare"]) as Side[]) got[side] = await run(side, subscribers, frames);
      for (const side of ["base", "this", "bare"] as Side[]) rate[side].push(got[side].rate), cpu[side].push(got[side].cpu), ratio[side].push(got[side].rate / got.bare.rate);
      gain.push(got.this.rate / got.base.rate);
      saved.push(got.base.cpu - got.this.cpu);
      const row = (s: Side) => `${s} ${Math.round(got[s].rate)}/s ${got[s].cpu.toFixed(1)} µs`;
      console.log(`${name} ${i + 1}/${reps}: ${row("base")}, ${row("this")}, ${row("bare")} (rate, server CPU per frame)`);
    }
    const sum = (s: Side) => `${s} ${Math.round(median(rate[s]))}/s ${median(cpu[s]).toFixed(1)} µs${s === "bare" ? "" : ` ratio ${median(ratio[s]).toFixed(2)}`}`;
    console.log(`${name} median of ${reps}: ${sum("base")}; ${sum("this")}; ${sum("bare")}`);
    console.log(`${name} paired, median of ${reps}: this/base rate ${median(gain).toFixed(2)}, server CPU ${median(saved).toFixed(1)} µs per frame less than base`);
  }
} finally {
  await worker.close();
}
