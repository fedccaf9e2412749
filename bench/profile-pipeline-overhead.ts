// The receive pipeline's cost beside verification: GroupSession.receive with a
// crypto port whose verify answers true at no cost, in µs per frame, best of N.
//   npx tsx bench/profile-pipeline-overhead.ts [frames] [reps]
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { GroupSession } from "../src/cwtch/group-session.js";
import { preSeal } from "./pipeline.js";
import { progress } from "./util.js";

const n = Number(process.argv[2] ?? 8_000);
const reps = Number(process.argv[3] ?? 7);
const real = await loadCrypto("sodium-native");
const f = preSeal(real, n);
const crypto: Crypto = { ...real, verify: () => true };
const us: number[] = [];
for (let r = 0; r < reps; r++) {
  const s = new GroupSession({ crypto, identity: real.signKeyPair(), groupId: f.groupId, epochs: [{ epoch: f.epoch, key: f.key }], now: Date.now });
  const c0 = process.cpuUsage();
  for (const b of f.blobs) s.receive(f.tag, b);
  const c = process.cpuUsage(c0);
  us.push((c.user + c.system) / n);
  if (s.log.size !== n) throw new Error(`log has ${s.log.size} of ${n}`);
}
us.sort((a, b) => a - b);
progress(`receive without verify: best ${us[0]!.toFixed(2)} µs CPU/frame, median ${us[us.length >> 1]!.toFixed(2)} over ${n} frames`);
