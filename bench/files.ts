// Documents of a task (issue 23): attaching a file (seal every chunk, hash it,
// post it, publish the task.attach) and fetching it back (fetch by tag, check
// each hash, open each chunk, check the whole), timed beside a plain copy of
// the same number of frames of the same size through the same relay: posted
// with the same window by a bare RelayClient over ws, then fetched back by tag.
import { loadCrypto } from "../src/cwtch/crypto.js";
import { RelayClient } from "../src/cwtch/relay-client.js";
import { startRelay } from "../src/cwtch/relay-server.js";
import { systemTimer } from "../src/cwtch/timer.js";
import { taskCreateBody } from "../src/pursuance/actions.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { CHUNK_BYTES, chunkCount } from "../src/pursuance/files.js";
import { memoryStore } from "../src/pursuance/ports.js";
import { clientEnv } from "../src/usecases/env.js";
import { attachFile, fetchFile } from "../src/usecases/files.js";
import { metric, type Metric } from "./report.js";
import { MiB, progress, since, sized } from "./util.js";

/** As file-transfer.ts posts. */
const WINDOW = 16;
/** The relay's per-connection post rate (200/s by default) would be all we measured, on both sides alike. */
const FAST = { postsPerSecond: 1_000_000, postBurst: 1_000_000, requestsPerSecond: 1_000_000, requestBurst: 1_000_000 };

export async function benchFiles(): Promise<Metric[]> {
  const crypto = await loadCrypto();
  const size = sized(50 * MiB, 50 * MiB, 256 * 1024);
  const relay = await startRelay(FAST);
  const connect = (url: string) => new RelayClient({ url, crypto, minBackoffMs: 50, maxBackoffMs: 500 });
  const c = await PursuanceClient.create({ crypto, now: Date.now, setTimer: systemTimer, connect, store: memoryStore() }, crypto.signKeyPair(), { name: "bench", founderName: "ada", relays: [relay.url] });
  try {
    await c.publish((s) => taskCreateBody(c.actor, s, { text: { title: "bench", deliverables: "" }, readers: ["change agent"] }));
    const bytes = crypto.randomBytes(size);
    const n = chunkCount(size);

    // Baseline: the same bytes as n frames of one sealed chunk's size, under fresh tags, posted and fetched back by a bare client.
    const frameBytes = 24 + CHUNK_BYTES + 4 + 16;
    const frames = Array.from({ length: n }, (_, i) => ({ tag: `bench-plain-${i}`, blob: crypto.randomBytes(frameBytes) }));
    const bare = connect(relay.url).start();
    await bare.ready();
    const tb = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(WINDOW, n) }, async () => {
      while (next < n) {
        const f = frames[next++]!;
        await bare.post(f.tag, f.blob);
      }
    }));
    let got = 0;
    for (let k = 0; k < n; k += 128) await bare.fetch(frames.slice(k, k + 128).map((f) => f.tag), 0, () => void got++);
    const bareSeconds = since(tb);
    bare.close();
    if (got !== n) throw new Error(`plain copy fetched ${got} of ${n} frames`);

    const env = clientEnv(c);
    const ta = performance.now();
    await attachFile(env, { task: "#1", name: "bench.bin", bytes });
    const attachSeconds = since(ta);
    const tf = performance.now();
    const back = await fetchFile(env, { task: "#1", file: "bench.bin" });
    const fetchSeconds = since(tf);
    if (Buffer.compare(Buffer.from(back.bytes), Buffer.from(bytes)) !== 0) throw new Error("the fetched file differs");
    progress(`files: ${n} chunks; attach ${attachSeconds.toFixed(2)} s, fetch ${fetchSeconds.toFixed(2)} s; plain copy ${bareSeconds.toFixed(2)} s`);
    const mb = size / 1e6;
    return [
      metric("files: attach + fetch a file", mb / (attachSeconds + fetchSeconds), "MB/s", mb / bareSeconds, {
        target: 0.5,
        note: `${Math.round(size / 1024)} KiB in ${n} chunks of ${CHUNK_BYTES} B, each padded to the 64 KiB bucket, sealed, hashed; attach ${attachSeconds.toFixed(2)} s + fetch ${fetchSeconds.toFixed(2)} s; baseline: the same number of frames of the same size posted (window ${WINDOW}) and fetched back by a bare RelayClient, no crypto; relay rate limits lifted for both`,
      }),
    ];
  } finally {
    c.close();
    await relay.close();
  }
}
