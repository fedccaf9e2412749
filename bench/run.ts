// npm run bench [-- --only relay,abuse,pipeline,joins,fold,coldload,bridge,relocate,soak,orders] [--quick] [--small]
//
// Every measurement is taken beside its baseline in the same run. Results go
// to bench/results/latest.json (an array of {name, value, unit, baseline,
// ratio, target?, note?}) and bench/results/machine.json; a table goes to
// stdout and progress lines to stderr.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { benchAbuse } from "./abuse.js";
import { benchBridge } from "./bridge.js";
import { benchColdLoad } from "./coldload.js";
import { benchFold } from "./fold.js";
import { benchJoins } from "./joins.js";
import { benchOrders } from "./orders.js";
import { benchPipeline } from "./pipeline.js";
import { benchRelay } from "./relay.js";
import { benchRelocate } from "./relocate.js";
import { benchSoak } from "./soak.js";
import { table, type Metric } from "./report.js";
import { synthLog } from "./synth.js";
import { progress, since } from "./util.js";

const SECTIONS = ["relay", "abuse", "pipeline", "joins", "fold", "coldload", "bridge", "relocate", "soak", "orders"] as const;
type Section = (typeof SECTIONS)[number];
const ALIASES: Record<string, Section> = { flood: "abuse",  members: "joins", crypto: "pipeline", pg: "coldload", postgres: "coldload", matrix: "bridge", synapse: "bridge" };

function usage(code: number, msg?: string): never {
  if (msg) process.stderr.write(`bench: ${msg}\n`);
  process.stderr.write(`usage: npm run bench -- [--quick] [--small (soak: 20 clients, 2,000 frames)] [--only ${SECTIONS.join(",")}]\n`);
  process.exit(code);
}

function parseArgs(argv: string[]): { quick: boolean; small: boolean; only: Set<Section> } {
  let quick = false;
  let small = process.env.PURSUANCE_SOAK_SMALL === "1";
  let only = new Set<Section>(SECTIONS);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") quick = true;
    else if (a === "--small") small = true;
    else if (a === "--only" || a.startsWith("--only=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (!v) usage(2, "--only needs a comma-separated list");
      only = new Set();
      for (const raw of v.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean)) {
        const s = (ALIASES[raw] ?? raw) as Section;
        if (!SECTIONS.includes(s)) usage(2, `unknown section "${raw}"`);
        only.add(s);
      }
    } else if (a === "--help" || a === "-h") usage(0);
    else usage(2, `unknown argument "${a}"`);
  }
  return { quick, small, only };
}

async function main() {
  const { quick, small, only } = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const cpu = cpus();
  const machine = {
    cpu: cpu[0]?.model ?? "unknown",
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    quick,
    sections: [...only],
    /** 1/5/15-minute load averages when the run started: other work on the machine skews every number. */
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
  progress(`machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}${quick ? " (quick)" : ""}`);

  const metrics: Metric[] = [];
  const run = async (s: Section, f: () => Promise<Metric[]> | Metric[]) => {
    if (!only.has(s)) return;
    const ts = performance.now();
    progress(`== ${s}`);
    metrics.push(...(await f()));
    progress(`== ${s} done in ${since(ts).toFixed(1)} s`);
  };

  await run("relay", () => benchRelay(quick));
  await run("abuse", () => benchAbuse(quick));
  await run("pipeline", () => benchPipeline(quick));
  if (only.has("joins")) {
    const crypto = await loadCrypto();
    await run("joins", () => benchJoins(crypto, quick));
  }
  if (only.has("fold") || only.has("coldload")) {
    const crypto = await loadCrypto(); // the default backend, as a client would load it
    const n = quick ? 20_000 : 100_000;
    const { log, generatedSeconds } = synthLog(crypto, n);
    if (generatedSeconds !== null) progress(`fold: generated ${n} events in ${generatedSeconds.toFixed(1)} s`);
    await run("fold", () => benchFold(crypto, log, quick));
    await run("coldload", () => benchColdLoad(crypto, log, quick));
  }
  await run("bridge", () => benchBridge(quick));
  await run("relocate", () => benchRelocate(quick));
  await run("soak", () => benchSoak(small));
  if (only.has("orders")) {
    const crypto = await loadCrypto();
    await run("orders", () => benchOrders(crypto, quick));
  }

  const dir = new URL("./results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL("latest.json", dir), JSON.stringify(metrics, null, 2) + "\n");
  const loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  writeFileSync(new URL("machine.json", dir), JSON.stringify({ ...machine, loadAverageAtEnd, seconds: Math.round(since(t0)) }, null, 2) + "\n");
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.platform}${quick ? ", --quick" : ""}`);
  console.log(`load average (1 min) at start ${machine.loadAverageAtStart[0]}, at end ${loadAverageAtEnd[0]}\n`);
  console.log(table(metrics));
  const missed = metrics.filter((m) => m.target !== undefined && m.ratio !== null && m.ratio < m.target);
  console.log(`\n${metrics.length} metrics in ${since(t0).toFixed(0)} s; targets missed: ${missed.length ? missed.map((m) => m.name).join(", ") : "none"}`);
  progress("wrote bench/results/latest.json and bench/results/machine.json");
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
