// Relay under flood (issue 10): honest post latency (p50/p95) and how much of
// an honest group's recent history survives while N connections post junk as
// fast as the relay's rate limit lets them. Baseline: the same honest posts on
// a calm relay. The flood runs in this process too (it shares the 2 cores),
// so latencies include the flooders' own CPU; compare within the run.
import WebSocket from "ws";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { RelayClient } from "../src/cwtch/relay-client.js";
import { startRelay, type RelayOptions } from "../src/cwtch/relay-server.js";
import { metric, type Metric } from "./report.js";
import { progress, sized } from "./util.js";

const TAG = Buffer.from("honest-group____").toString("base64url");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

interface Run {
  latencies: number[];
  survived: number;
  pruned: boolean;
  peakBits: number;
  floodAccepted: number;
  floodSent: number;
}

async function scenario(crypto: Crypto, opts: RelayOptions, flooders: number, seconds: number, honestPosts: number): Promise<Run> {
  const relay = await startRelay({ maxMessages: 5000, ...opts });
  const honest = new RelayClient({ url: relay.url, crypto }).start();
  const conns: WebSocket[] = [];
  try {
    const since = (await honest.ready()).latest;
    let stop = false;
    let floodAccepted = 0;
    let floodSent = 0;
    const flood = Promise.all(
      Array.from({ length: flooders }, async (_, k) => {
        const ws = new WebSocket(relay.url);
        conns.push(ws);
        ws.on("message", (d) => void (String(d).includes('"posted"') && floodAccepted++));
        await new Promise((r) => ws.once("open", r));
        for (let i = 0; !stop; i++) {
          const blob = crypto.randomBytes(512);
          ws.send(JSON.stringify({ op: "post", rid: i + 1, tag: Buffer.from(blob.subarray(0, 16)).toString("base64url"), blob: Buffer.from(blob).toString("base64url") }));
          floodSent++;
          if (i % 25 === 24) await sleep(100); // ~250/s per connection, over the 200/s limit
        }
        void k;
      }),
    );
    await sleep(flooders > 0 ? 1500 : 0); // let the flood (and any defence) build up
    const latencies: number[] = [];
    const gap = (seconds * 1000 - 1500) / honestPosts;
    for (let i = 0; i < honestPosts; i++) {
      const t0 = performance.now();
      await honest.post(TAG, Buffer.from(`honest ${i} ${Math.random()}`));
      latencies.push(performance.now() - t0);
      await sleep(Math.max(0, gap - (performance.now() - t0)));
    }
    stop = true;
    await flood;
    let survived = 0;
    const res = await honest.fetch([TAG], since, () => void survived++);
    return { latencies, survived: survived / honestPosts, pruned: res.prunedOldest !== undefined, peakBits: relay.pow().peakBits, floodAccepted, floodSent };
  } finally {
    for (const ws of conns) ws.terminate();
    honest.close();
    await relay.close();
  }
}

export async function benchAbuse(quick: boolean): Promise<Metric[]> {
  const crypto = await loadCrypto();
  const n = sized(32, 16, 4);
  const seconds = sized(8, 5, 1);
  const posts = sized(40, 20, 5);
  progress(`abuse: calm baseline, ${posts} honest posts`);
  const calm = await scenario(crypto, {}, 0, seconds, posts);
  progress(`abuse: flood of ${n} connections for ${seconds} s, defaults (adaptive PoW on)`);
  const on = await scenario(crypto, {}, n, seconds, posts);
  progress(`abuse: the same flood with adaptive PoW off (fair eviction only)`);
  const off = await scenario(crypto, { powAdaptive: false }, n, seconds, posts);
  const note = (r: Run) => `flood: ${r.floodSent} posts sent by ${n} connections, ${r.floodAccepted} accepted; peak PoW ${r.peakBits} bits; honest fetch pruned=${r.pruned}`;
  return [
    metric("abuse: honest post p50 under flood (PoW on)", pct(on.latencies, 50), "ms", pct(calm.latencies, 50), { note: note(on) + "; baseline calm relay" }),
    metric("abuse: honest post p95 under flood (PoW on)", pct(on.latencies, 95), "ms", pct(calm.latencies, 95)),
    metric("abuse: honest frames surviving flood (PoW on)", on.survived, "fraction", 1),
    metric("abuse: honest post p50 under flood (PoW off)", pct(off.latencies, 50), "ms", pct(calm.latencies, 50), { note: note(off) }),
    metric("abuse: honest post p95 under flood (PoW off)", pct(off.latencies, 95), "ms", pct(calm.latencies, 95)),
    metric("abuse: honest frames surviving flood (PoW off)", off.survived, "fraction", 1),
  ];
}
