// GroupSession.receive alone, long enough to profile (bench/pipeline.ts also
// times the other backend, which would dilute it), with the ratio to a bare
// verify loop over the same messages, taken turn about:
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof-pipeline --import tsx bench/profile-pipeline.ts [frames] [rounds]
//   npx tsx bench/profile.ts /tmp/prof-pipeline/CPU.*.0.001.cpuprofile 30
import { concat, utf8 } from "../src/cwtch/bytes.js";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { preSeal, receiveRate } from "./pipeline.js";
import { progress, since } from "./util.js";

const n = Number(process.argv[2] ?? 8_000);
const rounds = Number(process.argv[3] ?? 3);
const crypto = await loadCrypto("sodium-native");
const frames = preSeal(crypto, n);
const D = utf8.encode("pursuance/msg/v1\0");
const signed = frames.events.map((e) => ({ sig: e.sig, author: e.author, m: concat(D, e.bytes.subarray(0, e.bytes.length - 64)) }));
// CPU seconds of this process, besides wall time: on a shared machine the ratio of CPU times
// is steadier than that of wall times (the process is not charged for being descheduled).
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const ratios: number[] = [];
const cpuRatios: number[] = [];
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now();
  const c0 = cpu();
  for (const s of signed) if (!crypto.verify(s.sig, s.m, s.author)) throw new Error("bare verify failed");
  const bare = signed.length / since(t0);
  const bareCpu = cpu() - c0;
  const c1 = cpu();
  const rate = receiveRate(crypto, frames, 1);
  const recvCpu = cpu() - c1;
  ratios.push(rate / bare);
  cpuRatios.push(bareCpu / recvCpu);
  progress(`receive ${Math.round(rate)} events/s, bare verify ${Math.round(bare)}/s: ${(rate / bare).toFixed(2)} (CPU time ${(bareCpu / recvCpu).toFixed(2)})`);
}
const median = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!.toFixed(2);
progress(`median ratio ${median(ratios)}, by CPU time ${median(cpuRatios)}, over ${n} frames (${crypto.backend})`);
