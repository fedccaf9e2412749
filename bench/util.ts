// Small helpers shared by the bench sections: timing, GC, progress, a seeded PRNG.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
export { prng } from "../harness/prng.js";

/** A forced GC, so memory numbers start from a clean heap (no --expose-gc needed on the command line). */
export const gc: () => void = (() => {
  setFlagsFromString("--expose-gc");
  const g = runInNewContext("gc") as (() => void) | undefined;
  return g ?? (() => {});
})();

export function progress(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** Seconds since `t0` (performance.now() ms). */
export function since(t0: number): number {
  return (performance.now() - t0) / 1000;
}

/**
 * Operations per second of `fn`, which runs `n` operations per call: repeat
 * until at least `minSeconds` have passed, report the best batch (least noise).
 */
export function opsPerSecond(fn: () => void, n: number, minSeconds: number): number {
  fn(); // warm-up: JIT and caches
  let best = 0;
  const end = performance.now() + minSeconds * 1000;
  do {
    const t0 = performance.now();
    fn();
    best = Math.max(best, n / since(t0));
  } while (performance.now() < end);
  return best;
}


export const MiB = 1024 * 1024;

/** A worker thread running a TypeScript module (tsx does not reach workers by itself). */
export function tsWorker(url: URL): Worker {
  return new Worker(`import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`, { eval: true });
}

/** A child process running a TypeScript module, answering like a worker (for memory it must not share). */
function tsProcess(url: URL): Pick<Worker, "on" | "postMessage" | "terminate"> {
  const c = fork(fileURLToPath(url), [], { execArgv: ["--import", "tsx"], serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const api = {
    on(ev: string, f: (x: never) => void) {
      c.on(ev === "message" ? "message" : "error", f as (x: unknown) => void);
      if (ev === "error") c.on("exit", (code) => code && (f as (e: Error) => void)(new Error(`job process exited ${code}`)));
      return api;
    },
    postMessage(m: unknown) {
      c.send(m as object);
    },
    terminate: () =>
      new Promise<number>((r) => {
        if (c.exitCode !== null || c.signalCode !== null) return r(c.exitCode ?? 1);
        c.once("exit", (code) => r(code ?? 1));
        c.kill("SIGKILL");
      }),
  };
  return api as unknown as Pick<Worker, "on" | "postMessage" | "terminate">;
}

/**
 * Run one job in a fresh worker, with a hard time limit: synchronous work
 * (a fold) cannot be interrupted in-thread, but a worker can be terminated.
 * Every message goes to `onMessage`, which returns true once the job is done.
 */
export function runJob<M>(url: URL, job: unknown, limitMs: number, onMessage: (m: M) => boolean, where: "worker" | "process" = "worker"): Promise<"done" | "timeout"> {
  const w = where === "worker" ? tsWorker(url) : tsProcess(url);
  return new Promise<"done" | "timeout">((res, rej) => {
    const timer = setTimeout(() => void w.terminate().then(() => res("timeout")), limitMs);
    const end = (f: () => void) => (clearTimeout(timer), void w.terminate().then(f));
    w.on("message", (m: M) => {
      try {
        if (onMessage(m)) end(() => res("done"));
      } catch (e) {
        end(() => rej(e));
      }
    });
    w.on("error", (e) => end(() => rej(e)));
    w.postMessage(job);
  });
}

/**
 * How big a run is. `tiny` is the CI smoke (test/bench-smoke.test.ts): every
 * job runs end to end at a size where only completing is meaningful, so a
 * job that breaks fails `npm test` instead of rotting unnoticed. Set once by
 * run.ts; a job picks its sizes with `sized(full, quick, tiny)`.
 */
export type BenchSize = "full" | "quick" | "tiny";
let runSize: BenchSize = "full";
export function setBenchSize(s: BenchSize): void {
  runSize = s;
}
export function benchSize(): BenchSize {
  return runSize;
}
export function sized<T>(full: T, quick: T, tiny: T): T {
  return runSize === "tiny" ? tiny : runSize === "quick" ? quick : full;
}
