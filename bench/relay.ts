// Relay throughput: the real relay (startRelay, memory store, limits raised)
// beside a bare `ws` broadcast server, driven by the same load generator.
//
// Threads: the servers run on this (main) thread; all clients run in one
// worker thread (relay-load.ts). With the clients in the same event loop, the
// cost of 50 subscribers parsing frames would be charged to the server under
// test and would make relay and bare look alike; in a worker each side gets
// its own core (the bench machine has 2). The event-loop utilisation of both
// threads is reported, so a client-bound run is visible as such.
import { performance } from "node:perf_hooks";
import type { Worker } from "node:worker_threads";
import { WebSocketServer, WebSocket } from "ws";
import type { AddressInfo, Socket } from "node:net";
import { startRelay } from "../src/cwtch/relay-server.js";
import type { LoadJob, LoadResult, ServerKind } from "./relay-load.js";
import { RELAY_BOUNDS } from "./bounds.js";
import { metric, type Metric } from "./report.js";
import { progress, sized, tsWorker } from "./util.js";

/**
 * The baseline: a minimal broadcast server. Each received message goes to
 * every other client; the sender gets a one-byte ack, the counterpart of the
 * relay's `posted` that the pipelined publisher needs for its window.
 *
 * `coalesce` adds the relay's one I/O trick (cork each socket until the tick
 * ends, so a batch leaves in one write). The plain version is the target's
 * baseline; the coalescing one is reported beside it, so what the relay gains
 * from batching writes is not mistaken for cheap protocol logic.
 */
export async function startBare(coalesce = false): Promise<{ url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  const corked = new WeakSet<WebSocket>();
  const hold = (ws: WebSocket) => {
    if (!coalesce || corked.has(ws)) return;
    const sock = (ws as unknown as { _socket: Socket })._socket;
    corked.add(ws);
    sock.cork();
    process.nextTick(() => (corked.delete(ws), sock.uncork()));
  };
  wss.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => {
      for (const c of wss.clients) if (c !== ws && c.readyState === WebSocket.OPEN) hold(c), c.send(data, { binary: isBinary });
      hold(ws);
      ws.send("k");
    });
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
}

export class LoadWorker {
  private readonly w: Worker;
  private queue: Array<(r: LoadResult) => void> = [];
  /** Called when the current job's measured phase begins (its setup is done). */
  onStart: () => void = () => {};
  constructor() {
    this.w = tsWorker(new URL("./relay-load.ts", import.meta.url));
    this.w.on("message", (r: LoadResult | "start") => (r === "start" ? this.onStart() : this.queue.shift()?.(r)));
    this.w.on("error", (e) => {
      for (const q of this.queue.splice(0)) q({ seconds: 0, acked: 0, delivered: 0, clientElu: 0, error: `worker: ${e.message}` });
    });
  }
  run(job: LoadJob): Promise<LoadResult> {
    return new Promise((res) => {
      this.queue.push(res);
      this.w.postMessage(job);
    });
  }
  close(): Promise<number> {
    return this.w.terminate();
  }
}

interface Scenario {
  name: string;
  subscribers: number;
  frames: number;
}

interface Sample {
  rate: number;
  serverElu: number;
  clientElu: number;
}

/** The relay as the bench runs it: limits raised so that they do not throttle it (the window bounds buffers instead). */
export const BENCH_RELAY = {
  postsPerSecond: 1e9,
  postBurst: 1e9,
  requestsPerSecond: 1e9,
  requestBurst: 1e9,
  maxPendingPerConnection: 1e6,
  maxBufferedBytes: 1 << 30,
  maxTotalBufferedBytes: 8 * 2 ** 30, // not 8 << 30: shifts are 32-bit, that is 0
  powAdaptive: false, // this measures throughput, which the flood defence would (rightly) price
  maxMessages: 10_000_000,
  maxBytes: 8 * 2 ** 30,
  heartbeatMs: 0,
};

export async function once(worker: LoadWorker, kind: ServerKind, s: Scenario, window: number, blobBytes: number): Promise<Sample> {
  const server = kind === "relay" ? await startRelay(BENCH_RELAY) : await startBare(kind === "bare-cork");
  try {
    const job: LoadJob = { url: server.url, kind, subscribers: s.subscribers, frames: s.frames, window, blobBytes };
    // Warm-up (JIT, socket buffers), not measured.
    const warm = await worker.run({ ...job, frames: Math.min(3000, s.frames) });
    if (warm.error) throw new Error(`${kind} ${s.name} warm-up: ${warm.error}`);
    // Server busy-ness over the measured phase only (the worker first builds its posts).
    let elu0 = performance.eventLoopUtilization();
    worker.onStart = () => void (elu0 = performance.eventLoopUtilization());
    const r = await worker.run(job);
    const serverElu = performance.eventLoopUtilization(elu0).utilization;
    if (r.error) throw new Error(`${kind} ${s.name}: ${r.error}`);
    if (r.acked !== s.frames || r.delivered !== s.frames) throw new Error(`${kind} ${s.name}: acked ${r.acked}, delivered ${r.delivered} of ${s.frames}`);
    return { rate: s.frames / r.seconds, serverElu, clientElu: r.clientElu };
  } finally {
    await server.close();
  }
}

function best(xs: Sample[]): Sample {
  return xs.reduce((a, b) => (b.rate > a.rate ? b : a));
}

export async function benchRelay(quick: boolean): Promise<Metric[]> {
  const window = 256;
  const blobBytes = 1024;
  const reps = sized(3, 1, 1);
  const scenarios: Array<Scenario & { label: string; unit: string }> = [
    { name: "ingest", label: "relay.ingest", unit: "frames/s", subscribers: 0, frames: sized(30_000, 5_000, 300) },
    { name: "fanout-1", label: "relay.fanout.1sub", unit: "frames/s/sub", subscribers: 1, frames: sized(30_000, 5_000, 300) },
    { name: "fanout-50", label: "relay.fanout.50sub", unit: "frames/s/sub", subscribers: 50, frames: sized(5_000, 1_000, 100) },
  ];
  const worker = new LoadWorker();
  const out: Metric[] = [];
  try {
    for (const s of scenarios) {
      const relay: Sample[] = [];
      const bare: Sample[] = [];
      const corked: Sample[] = [];
      // Alternate, so drift (thermal, other load) hits all sides alike.
      for (let i = 0; i < reps; i++) {
        relay.push(await once(worker, "relay", s, window, blobBytes));
        bare.push(await once(worker, "bare", s, window, blobBytes));
        corked.push(await once(worker, "bare-cork", s, window, blobBytes));
        const r = (xs: Sample[]) => Math.round(xs.at(-1)!.rate);
        progress(`relay ${s.name} rep ${i + 1}/${reps}: relay ${r(relay)}, bare ${r(bare)}, bare+coalescing ${r(corked)} frames/s`);
      }
      const r = best(relay);
      const b = best(bare);
      const c = best(corked);
      const pct = (x: number) => `${Math.round(x * 100)}%`;
      const busy = (x: Sample) => `${pct(x.serverElu)}/${pct(x.clientElu)}`;
      // The target is against the bare server that batches its writes too:
      // beating a server that makes one system call per frame proves little.
      out.push(
        metric(s.label, r.rate, s.unit, c.rate, {
          target: 0.7,
          note: `${s.frames} × 1 KiB, window ${window}, best of ${reps}; baseline: bare ws server that batches writes per tick; loop busy server/clients: relay ${busy(r)}, bare ${busy(c)}`,
          ...(RELAY_BOUNDS[s.name] ? { bound: RELAY_BOUNDS[s.name] } : {}),
        }),
        metric(`${s.label}.vs-plain-bare`, r.rate, s.unit, b.rate, { note: `baseline: bare server writing each frame as it goes (busy ${busy(b)})` }),
      );
    }
  } finally {
    await worker.close();
  }
  return out;
}
