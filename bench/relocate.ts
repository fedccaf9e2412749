// Moving a pursuance (`relay move`, `relay recover`): re-posting the whole
// log to a fresh relay, every event re-sealed and acknowledged, timed beside
// posting the same number of already sealed frames of the same sizes through
// one bare RelayClient with the same window. Heap growth during the copy shows
// that memory stays bounded (one sealed frame per post in flight).
import { loadCrypto } from "../src/cwtch/crypto.js";
import { RelayClient } from "../src/cwtch/relay-client.js";
import { startRelay } from "../src/cwtch/relay-server.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { copyHistory } from "../src/pursuance/client/relocate.js";
import { memoryStore } from "../src/pursuance/ports.js";
import { metric, type Metric } from "./report.js";
import { gc, MiB, progress, since, sized } from "./util.js";
import { systemTimer } from "../src/cwtch/timer.js";

const WINDOW = 32;
/** The relay's per-connection post rate (200/s by default) would be all we measured. */
const FAST = { maxMessages: 1_000_000, postsPerSecond: 1_000_000, postBurst: 1_000_000 };

export async function benchRelocate(quick: boolean): Promise<Metric[]> {
  const crypto = await loadCrypto();
  const n = sized(2_000, 300, 20);
  const relays = [await startRelay(FAST), await startRelay(FAST), await startRelay(FAST), await startRelay(FAST)];
  const connect = (url: string) => new RelayClient({ url, crypto, minBackoffMs: 50, maxBackoffMs: 500 });
  const c = await PursuanceClient.create({ crypto, now: Date.now, setTimer: systemTimer, connect, store: memoryStore() }, crypto.signKeyPair(), { name: "bench", founderName: "ada", relays: [relays[0]!.url] });
  try {
    for (let i = 0; i < n; i++) await c.publish({ t: "announce", text: `note ${i} `.padEnd(200, "x") });
    const total = c.session.log.size;
    progress(`relocate: ${total} events to re-post`);

    // Baseline: the same frames, sealed beforehand, through one bare client with the same window.
    const frames = c.session.log.events().map((e) => c.session.frameFor(e));
    const bare = connect(relays[1]!.url);
    bare.start();
    await bare.ready();
    let next = 0;
    const tb = performance.now();
    await Promise.all(Array.from({ length: WINDOW }, async () => {
      while (next < frames.length) {
        const f = frames[next++]!;
        await bare.post(f.tag, f.blob);
      }
    }));
    const bareSeconds = since(tb);
    bare.close();

    const tc = performance.now();
    const copied = await copyHistory(c, relays[2]!.url, { window: WINDOW, onProgress: (p) => p.done === p.total && progress(`relocate: ${p.done} of ${p.total} frames`) });
    const copySeconds = since(tc);
    if (copied !== total) throw new Error(`copied ${copied} of ${total}`);

    // Memory, in a second copy (collecting garbage at each report would skew the timing): what the copy retains while it runs.
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    let peak = heap0;
    await copyHistory(c, relays[3]!.url, {
      window: WINDOW,
      onProgress: () => {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      },
    });
    return [
      metric("relocate: re-post the whole log (re-seal + ack)", total / copySeconds, "frames/s", frames.length / bareSeconds, { note: `${total} events, window ${WINDOW}; baseline: pre-sealed frames through a bare RelayClient; relay rate limit lifted (real relays allow 200 posts/s per connection by default)` }),
      metric("relocate: live heap growth during the copy", (peak - heap0) / MiB, "MiB", null, { note: "after a forced GC at each progress report (~50 per copy); includes the in-process relay storing each frame (~0.5 KiB), so the copy itself holds ~nothing per frame" }),
    ];
  } finally {
    c.close();
    for (const r of relays) await r.close();
  }
}
