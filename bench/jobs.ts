// Worker entry for work that may run too long to wait for (see runJob in
// util.ts): a fold of the whole log, a cold open. One job per worker, or per
// child process when its memory must be its own (RSS is per process).
import { parentPort } from "node:worker_threads";
import { coldOpen } from "./coldload.js";
import { foldJob } from "./fold.js";
import type { Job, JobMessage } from "./job-types.js";

const post = (m: JobMessage) => (parentPort ? parentPort.postMessage(m) : process.send!(m));

async function run(job: Job): Promise<void> {
  if (job.kind === "fold") await foldJob(job.n, job.sizes, job.pursuanceId, (r) => post({ type: "fold", run: r }));
  else post({ type: "coldopen", result: await coldOpen(job) });
}

const start = (job: Job) => {
  run(job).then(
    () => post({ type: "done" }),
    (e: unknown) => post({ type: "error", message: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
};
if (parentPort) parentPort.once("message", start);
else if (process.send) process.once("message", start);
