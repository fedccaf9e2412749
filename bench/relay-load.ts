// The client load generator of the relay bench, run in a worker thread (see
// relay.ts for why). The same code drives the real relay and the bare `ws`
// broadcast server: one pipelined publisher and k subscribers on loopback.
//
// Flow control: at most `window` posts are in flight, where a post stops being
// in flight once it is acknowledged AND every subscriber has received it. So
// the measured rate is end-to-end, and no server buffers grow without bound.
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { parentPort } from "node:worker_threads";
import WebSocket from "ws";

export type ServerKind = "relay" | "bare" | "bare-cork";

export interface LoadJob {
  url: string;
  kind: ServerKind;
  subscribers: number;
  frames: number;
  window: number;
  blobBytes: number;
}

export interface LoadResult {
  seconds: number;
  acked: number;
  /** Frames received by the slowest subscriber. */
  delivered: number;
  /** Event-loop utilisation of this (client) thread while measuring, 0..1. */
  clientElu: number;
  error?: string;
}

const tagOf = () => randomBytes(16).toString("base64url");

interface Conn {
  ws: WebSocket;
  /** The next text message; only used during setup (messages are queued from the start, none is missed). */
  next(): Promise<string>;
  /** Stop queueing: the measured phase attaches its own listener. */
  release(): void;
}

function open(url: string): Promise<Conn> {
  return new Promise((res, rej) => {
    // skipUTF8Validation: the clients only count frames; keep their cost low.
    const ws = new WebSocket(url, { skipUTF8Validation: true, perMessageDeflate: false });
    const queued: string[] = [];
    const waiting: Array<(s: string) => void> = [];
    const onMsg = (d: WebSocket.RawData) => {
      const w = waiting.shift();
      if (w) w(String(d));
      else queued.push(String(d));
    };
    ws.on("message", onMsg);
    const next = () => new Promise<string>((r) => (queued.length > 0 ? r(queued.shift()!) : waiting.push(r)));
    ws.once("open", () => res({ ws, next, release: () => ws.off("message", onMsg) }));
    ws.once("error", rej);
  });
}

async function connect(job: LoadJob, tag: string, role: "pub" | "sub"): Promise<WebSocket> {
  const c = await open(job.url);
  if (job.kind === "relay") {
    const hello = await c.next();
    if (!hello.includes('"op":"hello"')) throw new Error(`expected hello, got ${hello.slice(0, 80)}`);
    if (role === "sub") {
      c.ws.send(JSON.stringify({ op: "subscribe", rid: 1, tags: [tag] }));
      const a = await c.next();
      if (!a.includes('"op":"subscribed"')) throw new Error(`expected subscribed, got ${a.slice(0, 80)}`);
    }
  }
  c.release();
  return c.ws;
}

export async function runLoad(job: LoadJob, onStart: () => void = () => {}): Promise<LoadResult> {
  const tag = tagOf();
  const n = job.frames;
  // Pre-built posts: distinct random blobs (the relay drops duplicates), same bytes for both servers.
  const posts: string[] = new Array(n);
  for (let i = 0; i < n; i++) posts[i] = JSON.stringify({ op: "post", rid: i + 1, tag, blob: randomBytes(job.blobBytes).toString("base64url") });

  const subs: WebSocket[] = [];
  for (let i = 0; i < job.subscribers; i++) subs.push(await connect(job, tag, "sub"));
  const pub = await connect(job, tag, "pub");
  // Let the bare server register the last connection before the first post.
  await new Promise((r) => setTimeout(r, 50));

  const k = subs.length;
  let sent = 0;
  let acked = 0;
  let minDelivered = 0;
  // reached[c] = subscribers that have received at least c frames.
  const reached = new Uint32Array(n + 2);
  let error: string | undefined;
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  const complete = () => acked >= n && (k === 0 || minDelivered >= n);

  // Refill the window once per batch of incoming messages (one socket read
  // emits many), corked, so a batch of posts leaves in one write: the
  // generator must be cheaper than the servers it measures.
  const sock = (pub as unknown as { _socket: Socket })._socket;
  let scheduled = false;
  const refill = () => {
    scheduled = false;
    const floor = k === 0 ? acked : Math.min(acked, minDelivered);
    if (sent >= n || sent - floor >= job.window) return;
    sock.cork();
    while (sent < n && sent - floor < job.window) pub.send(posts[sent++]!);
    sock.uncork();
  };
  const pump = () => {
    if (!scheduled) (scheduled = true), queueMicrotask(refill);
  };

  pub.on("message", (d) => {
    if (job.kind === "relay") {
      const s = d as Buffer;
      // {"op":"posted",...}: byte 7 is 'p'; anything else (an error) ends the run.
      if (s[7] !== 0x70) {
        error ??= `publisher got ${String(d).slice(0, 120)}`;
        finish();
        return;
      }
    }
    acked++;
    if (complete()) finish();
    else pump();
  });
  const counts = new Uint32Array(k);
  subs.forEach((ws, j) =>
    ws.on("message", () => {
      const c = ++counts[j]!;
      if (c <= n && ++reached[c]! === k) {
        while (minDelivered < n && reached[minDelivered + 1] === k) minDelivered++;
        if (complete()) finish();
        else pump();
      }
    }),
  );
  for (const ws of [pub, ...subs]) ws.on("close", () => (error ??= "connection closed by the server", finish()));

  onStart();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  pump();
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const clientElu = performance.eventLoopUtilization(elu0).utilization;
  for (const ws of [pub, ...subs]) ws.removeAllListeners("close"), ws.terminate();
  return { seconds, acked, delivered: k === 0 ? acked : Math.min(...counts), clientElu, ...(error ? { error } : {}) };
}

// Worker entry: one job per message, answered in order.
parentPort?.on("message", (job: LoadJob) => {
  runLoad(job, () => parentPort!.postMessage("start")).then(
    (r) => parentPort!.postMessage(r),
    (e: Error) => parentPort!.postMessage({ seconds: 0, acked: 0, delivered: 0, clientElu: 0, error: e.message } satisfies LoadResult),
  );
});
