// The appservice's HTTP side, on node:http: the homeserver pushes
// transactions here and retries each until we answer 200, so we answer only
// after every event in it was handled. Also /live, /ready and /metrics.
import type { DeviceTransaction } from "./e2ee/e2ee.js";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface MatrixEvent {
  type: string;
  room_id: string;
  sender: string;
  event_id: string;
  state_key?: string;
  content: Record<string, unknown>;
  origin_server_ts?: number;
}

export interface AppserviceHttpOptions {
  bindAddress: string;
  port: number;
  hsToken: string;
  /** Users in our namespace: the homeserver asks whether they exist. */
  isOurUser(userId: string): boolean;
  onEvent(e: MatrixEvent): Promise<void>;
  /** To-device messages, device list changes and key counts for the bridge's devices (end-to-bridge encryption). */
  onDevices?: ((t: DeviceTransaction) => Promise<void>) | null;
  ready(): boolean;
  /** null: /metrics is switched off in the config. */
  metrics: (() => Promise<string>) | null;
  /** `/feeds/<pursuance id>.atom`: a pursuance's announcements (null: switched off; the function's null: unknown). */
  feed?: ((pursuanceId: string, selfUrl: string | null) => string | null) | null;
  log(level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void;
}

/** The transaction's MSC2409/MSC3202 parts, each defaulting to empty when absent or malformed. */
export function deviceTransactionOf(v: Record<string, unknown>): DeviceTransaction | null {
  const obj = (x: unknown): Record<string, unknown> => (typeof x === "object" && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : {});
  const strings = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === "string") : []);
  const toDevice = (Array.isArray(v["de.sorunome.msc2409.to_device"]) ? v["de.sorunome.msc2409.to_device"] : Array.isArray(v.to_device) ? v.to_device : []) as unknown[];
  const lists = obj(v["org.matrix.msc3202.device_lists"] ?? v.device_lists);
  const otk = obj(v["org.matrix.msc3202.device_one_time_keys_count"] ?? v["org.matrix.msc3202.device_one_time_key_counts"] ?? v.device_one_time_keys_count);
  const fallback = obj(v["org.matrix.msc3202.device_unused_fallback_key_types"] ?? v.device_unused_fallback_key_types);
  const t: DeviceTransaction = {
    toDevice: toDevice.filter((m): m is Record<string, unknown> => typeof m === "object" && m !== null && !Array.isArray(m)),
    changed: strings(lists.changed),
    left: strings(lists.left),
    otkCounts: otk as DeviceTransaction["otkCounts"],
    fallbackKeys: fallback as DeviceTransaction["fallbackKeys"],
  };
  const empty = t.toDevice.length + t.changed.length + t.left.length === 0 && Object.keys(otk).length + Object.keys(fallback).length === 0;
  return empty ? null : t;
}

const MAX_BODY = 16 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      n += c.length;
      if (n > MAX_BODY) {
        reject(new Error("body too large"));
        req.destroy();
      } else parts.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function isEvent(e: unknown): e is MatrixEvent {
  const o = e as Record<string, unknown>;
  return typeof o === "object" && o !== null && typeof o.type === "string" && typeof o.room_id === "string" && typeof o.sender === "string" && typeof o.event_id === "string" && typeof o.content === "object" && o.content !== null;
}

export class AppserviceHttp {
  private server: Server | null = null;
  /** One transaction at a time, in order: events of a room are handled as they happened. */
  private chain: Promise<void> = Promise.resolve();
  private readonly done = new Set<string>();
  eventsHandled = 0;
  eventsFailed = 0;
  /** Transactions answered 5xx (an event could not be stored): the homeserver sends them again. */
  transactionsRefused = 0;
  /** Transactions whose device part (to-device, key counts) failed to process. */
  deviceFailures = 0;

  constructor(private readonly o: AppserviceHttpOptions) {}

  async listen(): Promise<number> {
    this.server = createServer((req, res) => {
      this.route(req, res).catch((e: Error) => {
        this.o.log("error", "request failed", { url: req.url, error: e.message });
        if (!res.headersSent) json(res, 500, { errcode: "M_UNKNOWN", error: "internal error" });
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.o.port, this.o.bindAddress, () => resolve());
    });
    const a = this.server.address();
    return typeof a === "object" && a ? a.port : this.o.port;
  }

  async close(): Promise<void> {
    await this.chain.catch(() => {});
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
  }

  private authed(req: IncomingMessage, url: URL): boolean {
    const h = req.headers.authorization;
    const token = h?.startsWith("Bearer ") ? h.slice(7) : url.searchParams.get("access_token");
    return token === this.o.hsToken;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const p = url.pathname;
    if (req.method === "GET" && p === "/live") return json(res, 200, { ok: true });
    if (req.method === "GET" && p === "/ready") return json(res, this.o.ready() ? 200 : 503, { ready: this.o.ready() });
    if (req.method === "GET" && p === "/metrics" && this.o.metrics) {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      return void res.end(await this.o.metrics());
    }
    const feed = /^\/feeds\/([0-9a-f]{64})\.atom$/.exec(p);
    if (req.method === "GET" && feed && this.o.feed) {
      const host = req.headers.host;
      const body = this.o.feed(feed[1]!, host ? `http://${host}${p}` : null);
      if (body === null) return json(res, 404, { errcode: "M_NOT_FOUND", error: "no such pursuance here" });
      res.writeHead(200, { "content-type": "application/atom+xml; charset=utf-8" });
      return void res.end(body);
    }
    if (!p.startsWith("/_matrix/app/") && !p.startsWith("/transactions/") && !p.startsWith("/users/") && !p.startsWith("/rooms/")) {
      return json(res, 404, { errcode: "M_UNRECOGNIZED", error: "unknown endpoint" });
    }
    if (!this.authed(req, url)) return json(res, 403, { errcode: "M_FORBIDDEN", error: "bad hs_token" });
    const txn = /^(?:\/_matrix\/app\/v1)?\/transactions\/([^/]+)$/.exec(p);
    if (txn && req.method === "PUT") return this.transaction(decodeURIComponent(txn[1]!), await readBody(req), res);
    const user = /^(?:\/_matrix\/app\/v1)?\/users\/([^/]+)$/.exec(p);
    if (user && req.method === "GET") return json(res, this.o.isOurUser(decodeURIComponent(user[1]!)) ? 200 : 404, {});
    if (/^(?:\/_matrix\/app\/v1)?\/rooms\//.test(p)) return json(res, 404, { errcode: "M_NOT_FOUND" });
    if (p === "/_matrix/app/v1/ping" && req.method === "POST") return json(res, 200, {});
    return json(res, 404, { errcode: "M_UNRECOGNIZED", error: "unknown endpoint" });
  }

  private async transaction(id: string, body: string, res: ServerResponse): Promise<void> {
    if (this.done.has(id)) return json(res, 200, {});
    let events: unknown[];
    let devices: DeviceTransaction | null;
    try {
      const v = JSON.parse(body) as { events?: unknown };
      if (!Array.isArray(v.events)) throw new Error("events is not an array");
      events = v.events;
      devices = deviceTransactionOf(v as Record<string, unknown>);
    } catch (e) {
      return json(res, 400, { errcode: "M_BAD_JSON", error: (e as Error).message });
    }
    // onEvent only stores and queues (handling happens later, in the room's queue), so a throw
    // means the event is not safely stored: answer 5xx and the homeserver retries the transaction.
    // Events stored before the failure are recognised on the retry and not stored twice.
    const run = this.chain.then(async () => {
      // Keys first: a room key and the message it opens may come in the same transaction. A failure
      // here is logged, not answered 5xx: one bad to-device message must not wedge every room.
      if (devices && this.o.onDevices) {
        await this.o.onDevices(devices).catch((err: Error) => {
          this.deviceFailures++;
          this.o.log("error", "could not take the transaction's to-device messages and key counts", { txn: id, error: err.message });
        });
      }
      for (const e of events) {
        if (!isEvent(e)) continue;
        await this.o.onEvent(e);
        this.eventsHandled++;
      }
    });
    this.chain = run.catch(() => {});
    try {
      await run;
    } catch (err) {
      this.eventsFailed++;
      this.transactionsRefused++;
      this.o.log("error", "could not store an inbound event; the homeserver will retry", { txn: id, error: (err as Error).message });
      return json(res, 503, { errcode: "M_UNKNOWN", error: "could not store the transaction; retry" });
    }
    this.done.add(id);
    if (this.done.size > 10_000) this.done.delete(this.done.values().next().value as string);
    json(res, 200, {});
  }
}
