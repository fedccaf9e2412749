// npm run bench [-- --only relay,abuse,pipeline,joins,fold,coldload,bridge,bridge-e2ee,relocate,files,soak,orders] [--quick] [--small] [--tiny] [--results DIR]
//
// Every measurement is taken beside its baseline in the same run. Results go
// to bench/results/latest.json (Results in report.ts: the command, the
// machine with its load average, and every figure {name, value, unit,
// baseline, ratio, target?, met?, note?, bound?, loadAverage}); a table goes
// to stdout and progress lines to stderr. `--tiny` is the CI smoke
// (test/bench-smoke.test.ts): every job at a size where only completing counts.
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { cpus, loadavg, totalmem } from "node:os";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { benchAbuse } from "./abuse.js";
import { benchBridge } from "./bridge.js";
import { benchBridgeE2ee } from "./bridge-e2ee.js";
import { benchColdLoad } from "./coldload.js";
import { benchFiles } from "./files.js";
import { benchFold } from "./fold.js";
import { benchJoins } from "./joins.js";
import { benchOrders } from "./orders.js";
import { benchPipeline } from "./pipeline.js";
import { benchRelay } from "./relay.js";
import { benchRelocate } from "./relocate.js";
import { benchSoak } from "./soak.js";
import { table, type Metric, type Results } from "./report.js";
import { synthLog } from "./synth.js";
import { progress, setBenchSize, since, sized } from "./util.js";

const SECTIONS = ["relay", "abuse", "pipeline", "joins", "fold", "coldload", "bridge", "bridge-e2ee", "relocate", "files", "soak", "orders"] as const;
type Section = (typeof SECTIONS)[number];
const ALIASES: Record<string, Section> = { flood: "abuse",  members: "joins", crypto: "pipeline", pg: "coldload", postgres: "coldload", matrix: "bridge", synapse: "bridge", e2ee: "bridge-e2ee", attach: "files", attachments: "files", "e2e-bridge": "bridge-e2ee", encrypted: "bridge-e2ee" };

function usage(code: number, msg?: string): never {
  if (msg) process.stderr.write(`bench: ${msg}\n`);
  process.stderr.write(`usage: npm run bench -- [--quick] [--small (soak: 20 clients, 2,000 frames)] [--tiny (CI smoke: every job, tiny sizes)] [--results DIR] [--only ${SECTIONS.join(",")}]\n`);
  process.exit(code);
}

function parseArgs(argv: string[]): { quick: boolean; small: boolean; tiny: boolean; results: string | null; only: Set<Section> } {
  let quick = false;
  let tiny = false;
  let results: string | null = null;
  let small = process.env.PURSUANCE_SOAK_SMALL === "1";
  let only = new Set<Section>(SECTIONS);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") quick = true;
    else if (a === "--small") small = true;
    else if (a === "--tiny") tiny = quick = true;
    else if (a === "--results" || a.startsWith("--results=")) {
      results = a.includes("=") ? a.slice(a.indexOf("=") + 1) : (argv[++i] ?? null);
      if (!results) usage(2, "--results needs a directory");
    }    else if (a === "--only" || a.startsWith("--only=")) {
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
  return { quick, small, tiny, results, only };
}

async function main() {
  const { quick, small, tiny, results, only } = parseArgs(process.argv.slice(2));
  setBenchSize(tiny ? "tiny" : quick ? "quick" : "full");
  const t0 = performance.now();
  const cpu = cpus();
  const machine = {
    cpu: cpu[0]?.model ?? "unknown",
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    size: tiny ? "tiny" : quick ? "quick" : "full",
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
    const got = await f();
    const loadAverage = loadavg().map((x) => Math.round(x * 100) / 100);
    metrics.push(...got.map((m) => ({ ...m, section: s, loadAverage })));
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
    const n = sized(100_000, 20_000, 500);
    const { log, generatedSeconds } = synthLog(crypto, n);
    if (generatedSeconds !== null) progress(`fold: generated ${n} events in ${generatedSeconds.toFixed(1)} s`);
    await run("fold", () => benchFold(crypto, log, quick));
    await run("coldload", () => benchColdLoad(crypto, log, quick));
  }
  await run("bridge", () => benchBridge(quick));
  await run("bridge-e2ee", () => benchBridgeE2ee());
  await run("relocate", () => benchRelocate(quick));
  await run("files", () => benchFiles());
  await run("soak", () => benchSoak(small));
  const dir = results ? pathToFileURL(resolve(results) + "/") : new URL("./results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  if (only.has("orders")) {
    const crypto = await loadCrypto();
    await run("orders", () => benchOrders(crypto, dir));
  }

  const loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  const out: Results = {
    command: ["npm run bench", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" "),
    machine: { ...machine, loadAverageAtEnd, seconds: Math.round(since(t0)) },
    figures: metrics,
  };
  writeFileSync(new URL("latest.json", dir), JSON.stringify(out, null, 2) + "\n");
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.platform}, size ${machine.size}`);
  console.log(`load average (1 min) at start ${machine.loadAverageAtStart[0]}, at end ${loadAverageAtEnd[0]}\n`);
  console.log(table(metrics));
  const missed = metrics.filter((m) => m.met === false);
  console.log(`\n${metrics.length} metrics in ${since(t0).toFixed(0)} s; targets missed: ${missed.length ? missed.map((m) => m.name).join(", ") : "none"}`);
  progress(`wrote ${new URL("latest.json", dir).pathname}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
