// One relay scenario alone, long enough to profile (the relay section runs
// bare servers too, which would dilute the relay's share of the samples):
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-relay.ts [ingest|fanout-1] [frames]
//   npx tsx bench/profile.ts /tmp/prof/CPU.*.0.001.cpuprofile 30
//
// The relay runs on this (main) thread, so the main thread's profile (.0.001)
// is the relay's; the clients run in a worker (relay.ts explains why).
import { LoadWorker, once } from "./relay.js";
import { progress } from "./util.js";

const name = process.argv[2] ?? "ingest";
const frames = Number(process.argv[3] ?? 60_000);
if (name !== "ingest" && name !== "fanout-1") throw new Error("usage: profile-relay.ts [ingest|fanout-1] [frames]");
const worker = new LoadWorker();
try {
  const s = await once(worker, "relay", { name, subscribers: name === "ingest" ? 0 : 1, frames }, 256, 1024);
  progress(`relay ${name}: ${Math.round(s.rate)} frames/s, loop busy server ${Math.round(s.serverElu * 100)}%, clients ${Math.round(s.clientElu * 100)}%`);
} finally {
  await worker.close();
}
