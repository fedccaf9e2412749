// A tiny relay client for tests: JSON frames in, awaitable answers out. It
// keeps every frame received so assertions can look back as well as wait.
import WebSocket from "ws";
import type { Socket } from "node:net";

export type Frame = Record<string, any> & { op: string };
const TERMINAL = new Set(["posted", "caught-up", "subscribed", "pong", "error"]);

interface Waiter {
  pred: (f: Frame) => boolean;
  resolve: (f: Frame) => void;
  reject: (e: Error) => void;
}

export class TestClient {
  readonly received: Frame[] = [];
  hello!: Frame;
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Waiter[] = [];
  private rid = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      const f = JSON.parse(isBinary ? "{}" : data.toString()) as Frame;
      this.received.push(f);
      for (const w of [...this.waiters]) {
        if (w.pred(f)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(f);
        }
      }
    });
    this.closed = new Promise((res) => ws.on("close", (code, reason) => {
      for (const w of this.waiters.splice(0)) w.reject(new Error(`socket closed ${code} while waiting`));
      res({ code, reason: reason.toString() });
    }));
    ws.on("error", () => {}); // surfaced through `closed`
  }

  static async connect(url: string): Promise<TestClient> {
    const ws = new WebSocket(url);
    const c = new TestClient(ws);
    c.hello = await c.waitFor((f) => f.op === "hello", 5000);
    return c;
  }

  /** Next frame matching pred, including ones already received. */
  waitFor(pred: (f: Frame) => boolean, timeoutMs = 5000, fromIndex = 0): Promise<Frame> {
    const hit = this.received.slice(fromIndex).find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const w: Waiter = { pred, resolve, reject };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      w.resolve = (f) => (clearTimeout(timer), resolve(f));
      w.reject = (e) => (clearTimeout(timer), reject(e));
      this.waiters.push(w);
    });
  }

  nextRid(): number {
    return ++this.rid;
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** Send a frame (rid filled in) and await its terminal answer. */
  request(frame: Record<string, unknown>, timeoutMs = 5000): Promise<Frame> {
    const rid = (frame.rid as number | undefined) ?? this.nextRid();
    const from = this.received.length;
    if (this.ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error(`socket not open (state ${this.ws.readyState})`));
    this.ws.send(JSON.stringify({ ...frame, rid }));
    return this.waitFor((f) => f.rid === rid && TERMINAL.has(f.op), timeoutMs, from);
  }

  post(tag: string, blob: Buffer | Uint8Array, pow?: string): Promise<Frame> {
    return this.request({ op: "post", tag, blob: Buffer.from(blob).toString("base64url"), ...(pow ? { pow } : {}) });
  }

  /** fetch, collecting the replayed frames and any pruned notice until caught-up or error. */
  async fetch(args: { tags?: string[]; since?: number; limit?: number } = {}, timeoutMs = 10_000) {
    const rid = this.nextRid();
    const from = this.received.length;
    const end = await this.request({ op: "fetch", ...args, rid }, timeoutMs);
    const mine = this.received.slice(from).filter((f) => f.rid === rid);
    return {
      end,
      frames: mine.filter((f) => f.op === "frame"),
      pruned: mine.find((f) => f.op === "pruned"),
    };
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}

export const b64 = (s: string | Uint8Array) => Buffer.from(s).toString("base64url");
export const tagOf = (name: string) => Buffer.from(name.padEnd(16, "_").slice(0, 16)).toString("base64url");

/** Several frames in one TCP write (the socket corked around them): the relay reads them in one go. */
export function sendTogether(c: TestClient, frames: object[]): void {
  const s = (c.ws as unknown as { _socket: Socket })._socket;
  s.cork();
  for (const f of frames) c.ws.send(JSON.stringify(f));
  s.uncork();
}
