// A hostile network between relay clients and a real relay: a WebSocket
// man-in-the-middle that, driven by a seeded PRNG, drops, holds back,
// duplicates, tampers with, truncates, replays and re-tags the frames that
// carry group traffic (`frame` relay→client, `post` client→relay), and
// injects garbage. Everything else (hello, posted, caught-up, subscribe, …)
// passes untouched, so what it attacks is exactly what the group protocol
// must defend on its own.
//
// Decisions come from FaultEngine, a pure function of (seed, the sequence of
// frames it is shown): the same seed and the same frame sequence give the
// same faults, byte for byte. Over real sockets only timing (which frame is
// shown first) can vary.
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import { prng } from "../../harness/prng.js";
import { postAck } from "../../src/cwtch/relay-protocol.js";

export type Direction = "toClient" | "toRelay";

export interface Faults {
  /** Swallow the frame (a dropped post is answered with a fake `posted`, see fakeAckDroppedPosts). */
  drop: number;
  /** Hold the frame back and release it after 1..reorderWindow later frames (or maxHoldMs). */
  reorder: number;
  /** Send it twice. */
  duplicate: number;
  /** Flip bytes of the blob (or a character of the tag). */
  tamper: number;
  /** Cut the blob short. */
  truncate: number;
  /** After this frame, re-send an older frame seen in this direction. */
  replay: number;
  /** After this frame, re-send an older frame under another tag seen on this proxy (cross-group replay). */
  crossTag: number;
  /** After this frame, inject garbage (random JSON, bad base64, random text/binary, forged frames under a real tag). */
  garbage: number;
}

export const NO_FAULTS: Faults = { drop: 0, reorder: 0, duplicate: 0, tamper: 0, truncate: 0, replay: 0, crossTag: 0, garbage: 0 };

export type GarbageKind = "json" | "base64" | "text" | "binary" | "forged";
const GARBAGE_KINDS: GarbageKind[] = ["json", "base64", "text", "binary", "forged"];

export interface DirectionStats {
  /** Faultable frames shown to the engine (frame pushes / fetch replays, or posts). */
  seen: number;
  /** Faultable frames passed on unchanged, at once. */
  passed: number;
  dropped: number;
  reordered: number;
  duplicated: number;
  tampered: number;
  truncated: number;
  replayed: number;
  crossTagged: number;
  garbage: number;
  /** Dropped posts answered with a fake `posted` (the client believes the relay holds them). */
  fakeAcks: number;
}

/** Faults on the relay's acknowledgements (`posted`, relay→client); off unless EngineOptions.acks names them. */
export interface AckFaults {
  /** Swallow the acknowledgement (the relay holds the frame; the client does not hear so). */
  drop: number;
  /** Send it twice. */
  duplicate: number;
  /** Rewrite its rid (to a neighbouring request's) or its seq. */
  tamper: number;
  /** Hold it back behind 1..reorderWindow later acknowledgements (or maxHoldMs). */
  reorder: number;
}

export interface AckStats {
  seen: number;
  dropped: number;
  duplicated: number;
  tamperedRid: number;
  tamperedSeq: number;
  reordered: number;
}

export interface ProxyStats {
  connections: number;
  /** Other frames (not posts, pushed frames or acks) dropped under dropOther, by op. */
  otherDropped: Record<string, number>;
  /** Acknowledgements (`posted`) seen and faulted, when acks are attacked. */
  acks: AckStats;
  toClient: DirectionStats;
  toRelay: DirectionStats;
  garbageKinds: Record<GarbageKind, number>;
  /** Distinct tags observed (the proxy forges and re-tags with these). */
  tags: number;
}

const emptyDir = (): DirectionStats => ({
  seen: 0, passed: 0, dropped: 0, reordered: 0, duplicated: 0, tampered: 0, truncated: 0, replayed: 0, crossTagged: 0, garbage: 0, fakeAcks: 0,
});

/** Sum of one counter over both directions. */
export function total(s: ProxyStats, k: keyof DirectionStats): number {
  return s.toClient[k] + s.toRelay[k];
}


export interface EngineOutput {
  /** Send these now, in order, in the frame's direction (Buffers as binary messages). */
  now: Array<string | Buffer>;
  /** Hold this frame back until `after` later faultable frames went by in this direction. */
  hold?: { data: string; after: number };
  /** Send this back the other way (a fake `posted` for a dropped post). */
  reply?: string;
  /** Whether the input was a faultable frame (counts towards releasing held frames). */
  faultable: boolean;
}

type Json = Record<string, unknown>;
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Injected client→relay requests use rids far above any real client's, so answers to them match nothing. */
const INJECTED_RID_BASE = 1_000_000_000;

export interface EngineOptions {
  seed: number;
  faults?: Partial<Faults> | { toClient?: Partial<Faults>; toRelay?: Partial<Faults> };
  /** Which directions are attacked; the other passes untouched. Default both. */
  direction?: "both" | Direction;
  /** Max later frames a reordered frame waits for. Default 4. */
  reorderWindow?: number;
  /** Answer dropped posts with a fake `posted`, like a lying relay. Default true. */
  fakeAckDroppedPosts?: boolean;
  /** How many recent frames per direction are kept for replays. Default 256. */
  historySize?: number;
  /**
   * Also drop this share of every other JSON frame, both ways: hello, fetch, caught-up,
   * subscribe, subscribed, ping, pong, errors (a separate roll, like acks).
   */
  dropOther?: number;
  /** Also attack the relay's `posted` acknowledgements (a separate roll, so other seeded streams stay as they were). */
  acks?: Partial<AckFaults>;
}

function isPerDirection(f: EngineOptions["faults"]): f is { toClient?: Partial<Faults>; toRelay?: Partial<Faults> } {
  return !!f && ("toClient" in f || "toRelay" in f);
}

/** The deterministic heart of the proxy: frames in, actions out. */
export class FaultEngine {
  readonly stats: ProxyStats = { connections: 0, otherDropped: {}, acks: { seen: 0, dropped: 0, duplicated: 0, tamperedRid: 0, tamperedSeq: 0, reordered: 0 }, toClient: emptyDir(), toRelay: emptyDir(), garbageKinds: { json: 0, base64: 0, text: 0, binary: 0, forged: 0 }, tags: 0 };
  private readonly rand: () => number;
  private readonly faults: Record<Direction, Faults> = { toClient: { ...NO_FAULTS }, toRelay: { ...NO_FAULTS } };
  private readonly history: Record<Direction, Json[]> = { toClient: [], toRelay: [] };
  private readonly tagSet = new Set<string>();
  private readonly tagList: string[] = [];
  private lastSeq = 0;
  private injectedRid = INJECTED_RID_BASE;
  private readonly reorderWindow: number;
  private readonly fakeAck: boolean;
  private readonly historySize: number;
  private ackFaults: AckFaults;
  /** Acks roll on their own stream: switching them on leaves the frame faults of a seed unchanged. */
  private readonly ackRand: () => number;
  private dropOther: number;
  private readonly otherRand: () => number;

  constructor(o: EngineOptions) {
    this.rand = prng(o.seed);
    this.ackRand = prng(o.seed ^ 0x5eed_ac4);
    this.otherRand = prng(o.seed ^ 0x07e_0d0);
    this.dropOther = o.dropOther ?? 0;
    this.ackFaults = { drop: 0, duplicate: 0, tamper: 0, reorder: 0, ...(o.acks ?? {}) };
    this.reorderWindow = Math.max(1, o.reorderWindow ?? 4);
    this.fakeAck = o.fakeAckDroppedPosts ?? true;
    this.historySize = o.historySize ?? 256;
    this.setFaults(o.faults ?? {}, o.direction ?? "both");
  }

  /** Replace the fault probabilities of one or both directions (unnamed faults become 0). */
  setFaults(f: EngineOptions["faults"], direction: "both" | Direction = "both"): void {
    if (isPerDirection(f)) {
      if (f.toClient) this.faults.toClient = { ...NO_FAULTS, ...f.toClient };
      if (f.toRelay) this.faults.toRelay = { ...NO_FAULTS, ...f.toRelay };
      return;
    }
    for (const d of ["toClient", "toRelay"] as const) {
      this.faults[d] = direction === "both" || direction === d ? { ...NO_FAULTS, ...(f ?? {}) } : { ...NO_FAULTS };
    }
  }

  /** Replace the share of other frames dropped (see EngineOptions.dropOther). */
  setDropOther(p: number): void {
    this.dropOther = p;
  }

  /** Replace the acknowledgement faults (unnamed ones become 0). */
  setAckFaults(f: Partial<AckFaults>): void {
    this.ackFaults = { drop: 0, duplicate: 0, tamper: 0, reorder: 0, ...f };
  }

  private processAck(f: Json, text: string): EngineOutput {
    const st = this.stats.acks;
    const p = this.ackFaults;
    st.seen++;
    const out: EngineOutput = { now: [], faultable: false };
    const r = this.ackRand();
    let acc = 0;
    if (r < (acc += p.drop)) st.dropped++;
    else if (r < (acc += p.tamper)) {
      // A wrong id lands on a neighbouring request (often another pending post); a wrong seq names another frame.
      if (this.ackRand() < 0.5 && typeof f.rid === "number") {
        st.tamperedRid++;
        out.now.push(JSON.stringify({ ...f, rid: f.rid + (this.ackRand() < 0.5 ? 1 : -1) }));
      } else {
        st.tamperedSeq++;
        out.now.push(JSON.stringify({ ...f, seq: (f.seq as number) + 1 + Math.floor(this.ackRand() * 5) }));
      }
    } else if (r < (acc += p.reorder)) {
      st.reordered++;
      out.hold = { data: text, after: 1 + Math.floor(this.ackRand() * this.reorderWindow) };
    } else if (r < (acc += p.duplicate)) {
      st.duplicated++;
      out.now.push(text, text);
    } else out.now.push(text);
    return out;
  }

  /** Watch relay frames that are not attacked (hello, posted) to keep forged seqs plausible. */
  private observe(v: Json) {
    if (v.op === "hello" && typeof v.latest === "number") this.lastSeq = Math.max(this.lastSeq, v.latest);
    if ((v.op === "posted" || v.op === "frame") && typeof v.seq === "number") this.lastSeq = Math.max(this.lastSeq, v.seq);
  }

  private learnTag(tag: unknown) {
    if (typeof tag === "string" && !this.tagSet.has(tag)) {
      this.tagSet.add(tag);
      this.tagList.push(tag);
      this.stats.tags = this.tagList.length;
    }
  }

  process(dir: Direction, text: string): EngineOutput {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return { now: [text], faultable: false };
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) return { now: [text], faultable: false };
    const f = v as Json;
    if (dir === "toClient") this.observe(f);
    const a = this.ackFaults;
    if (dir === "toClient" && f.op === "posted" && typeof f.seq === "number" && a.drop + a.duplicate + a.tamper + a.reorder > 0) return this.processAck(f, text);
    const faultable = dir === "toClient" ? f.op === "frame" : f.op === "post";
    if (!faultable && f.op !== "posted" && this.dropOther > 0 && this.otherRand() < this.dropOther) {
      const k = `${dir}:${String(f.op)}`;
      this.stats.otherDropped[k] = (this.stats.otherDropped[k] ?? 0) + 1;
      return { now: [], faultable: false };
    }
    if (!faultable || typeof f.blob !== "string" || typeof f.tag !== "string") return { now: [text], faultable: false };
    this.learnTag(f.tag);

    const st = this.stats[dir];
    const p = this.faults[dir];
    st.seen++;
    const out: EngineOutput = { now: [], faultable: true };
    let forwarded = true;
    // One roll picks at most one of the exclusive faults, so each has exactly its probability.
    const r = this.rand();
    let acc = 0;
    if (r < (acc += p.drop)) {
      st.dropped++;
      forwarded = false;
      if (dir === "toRelay" && this.fakeAck && typeof f.rid === "number") {
        st.fakeAcks++;
        // A lying relay: it knows the frame, so it can bind its false acknowledgement to it.
        const seq = ++this.lastSeq;
        out.reply = JSON.stringify({ op: "posted", rid: f.rid, seq, duplicate: false, ack: postAck(seq, f.tag as string, Buffer.from(f.blob as string, "base64url")) });
      }
    } else if (r < (acc += p.tamper)) {
      st.tampered++;
      forwarded = false;
      out.now.push(JSON.stringify(this.tamper(f)));
    } else if (r < (acc += p.truncate)) {
      st.truncated++;
      forwarded = false;
      out.now.push(JSON.stringify({ ...f, blob: this.truncate(f.blob as string) }));
    } else if (r < (acc += p.reorder)) {
      st.reordered++;
      out.hold = { data: text, after: 1 + Math.floor(this.rand() * this.reorderWindow) };
    } else if (r < (acc += p.duplicate)) {
      st.duplicated++;
      out.now.push(text, text);
    } else {
      st.passed++;
      out.now.push(text);
    }
    if (forwarded) {
      const h = this.history[dir];
      h.push(f);
      if (h.length > this.historySize) h.shift();
    }
    if (this.rand() < p.replay && this.history[dir].length > 1) {
      st.replayed++;
      out.now.push(JSON.stringify(this.again(dir, this.pick(this.history[dir]))));
    }
    if (this.rand() < p.crossTag && this.tagList.length > 1 && this.history[dir].length > 0) {
      const old = this.pick(this.history[dir]);
      const others = this.tagList.filter((t) => t !== old.tag);
      st.crossTagged++;
      out.now.push(JSON.stringify(this.again(dir, { ...old, tag: this.pick(others) })));
    }
    if (this.rand() < p.garbage) {
      st.garbage++;
      const kind = this.pick(GARBAGE_KINDS);
      this.stats.garbageKinds[kind]++;
      out.now.push(this.garbage(dir, kind));
    }
    return out;
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  private bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.rand() * 256);
    return b;
  }

  /** A frame re-sent later: a push (no rid) towards the client, a fresh request towards the relay. */
  private again(dir: Direction, f: Json): Json {
    if (dir === "toClient") {
      const { rid: _rid, ...push } = f;
      return push;
    }
    return { ...f, rid: this.injectedRid++ };
  }

  private tamper(f: Json): Json {
    if (this.rand() < 0.2) {
      // Change one character of the tag to another valid one: the frame goes astray.
      const tag = f.tag as string;
      const i = Math.floor(this.rand() * tag.length);
      const c = B64[(B64.indexOf(tag[i]!) + 1 + Math.floor(this.rand() * 63)) % 64]!;
      return { ...f, tag: tag.slice(0, i) + c + tag.slice(i + 1) };
    }
    const b = Buffer.from(f.blob as string, "base64url");
    const flips = 1 + Math.floor(this.rand() * 3);
    for (let k = 0; k < flips && b.length > 0; k++) {
      const i = Math.floor(this.rand() * b.length);
      b[i] = b[i]! ^ (1 + Math.floor(this.rand() * 255));
    }
    return { ...f, blob: b.toString("base64url") };
  }

  private truncate(blob: string): string {
    const b = Buffer.from(blob, "base64url");
    const n = Math.max(1, Math.floor(this.rand() * (b.length - 1)));
    return b.subarray(0, n).toString("base64url");
  }

  private garbage(dir: Direction, kind: GarbageKind): string | Buffer {
    const tag = this.tagList.length > 0 ? this.pick(this.tagList) : "AAAAAAAAAAAAAAAAAAAAAA";
    const seq = Math.max(1, this.lastSeq);
    switch (kind) {
      case "json": {
        const choices: unknown[] = [
          {}, [], 42, "frame", null, { op: "frame" }, { op: "frame", seq: -1, tag, blob: 7 },
          { op: this.bytes(4).toString("hex") }, { op: "frame", seq, tag: "not a tag!", blob: "AAAA" },
          { op: "post", tag, blob: "AAAA" }, { nested: { deep: [1, { op: "frame" }] } },
        ];
        return JSON.stringify(this.pick(choices));
      }
      case "base64":
        return JSON.stringify(dir === "toClient" ? { op: "frame", seq, tag, blob: "!!not*base64~~" } : { op: "post", rid: this.injectedRid++, tag, blob: "!!not*base64~~" });
      case "text":
        return this.bytes(8 + Math.floor(this.rand() * 200)).toString("latin1");
      case "binary":
        return this.bytes(8 + Math.floor(this.rand() * 200));
      case "forged": {
        // Looks exactly like group traffic: a real tag and a blob of a plausible size.
        const blob = this.bytes(24 + 16 + 512 * (1 + Math.floor(this.rand() * 2))).toString("base64url");
        return JSON.stringify(dir === "toClient" ? { op: "frame", seq, tag, blob } : { op: "post", rid: this.injectedRid++, tag, blob });
      }
    }
  }
}

export interface AdversarialProxyOptions extends EngineOptions {
  /** ws:// URL of the real relay. */
  target: string;
  host?: string;
  port?: number;
  /** A held (reordered) frame is released after this long even if no later frame comes. Default 150 ms. */
  maxHoldMs?: number;
}

export interface AdversarialProxy {
  readonly url: string;
  readonly stats: ProxyStats;
  setFaults(f: EngineOptions["faults"], direction?: "both" | Direction): void;
  setAckFaults(f: Partial<AckFaults>): void;
  setDropOther(p: number): void;
  /** Drop every open connection (clients will reconnect); the proxy keeps listening. */
  disconnectAll(): void;
  close(): Promise<void>;
}

interface Held {
  data: string;
  after: number;
  timer: NodeJS.Timeout;
}

export async function startAdversarialProxy(o: AdversarialProxyOptions): Promise<AdversarialProxy> {
  const engine = new FaultEngine(o);
  const maxHold = o.maxHoldMs ?? 150;
  const wss = new WebSocketServer({ host: o.host ?? "127.0.0.1", port: o.port ?? 0 });
  await new Promise<void>((res, rej) => {
    wss.once("listening", res);
    wss.once("error", rej);
  });
  wss.on("error", () => {});
  const conns = new Set<{ down: WebSocket; up: WebSocket; held: Record<Direction, Held[]> }>();

  wss.on("connection", (down, req) => {
    engine.stats.connections++;
    const up = new WebSocket(o.target + (req.url && req.url !== "/" ? req.url : ""));
    const held: Record<Direction, Held[]> = { toClient: [], toRelay: [] };
    const conn = { down, up, held };
    conns.add(conn);
    const early: Array<string | Buffer> = [];

    const send = (dir: Direction, data: string | Buffer) => {
      const ws = dir === "toClient" ? down : up;
      if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: typeof data !== "string" });
      else if (ws === up && ws.readyState === WebSocket.CONNECTING) early.push(data);
    };
    const release = (dir: Direction, h: Held) => {
      clearTimeout(h.timer);
      const list = held[dir];
      const i = list.indexOf(h);
      if (i >= 0) list.splice(i, 1);
      send(dir, h.data);
    };
    const handle = (dir: Direction, data: RawData, isBinary: boolean) => {
      if (isBinary) return send(dir, Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer));
      const out = engine.process(dir, data.toString());
      for (const d of out.now) send(dir, d);
      if (out.reply) send(dir === "toClient" ? "toRelay" : "toClient", out.reply);
      if (out.faultable) {
        for (const h of [...held[dir]]) if (--h.after <= 0) release(dir, h);
      }
      if (out.hold) {
        const h: Held = { data: out.hold.data, after: out.hold.after, timer: setTimeout(() => release(dir, h), maxHold) };
        held[dir].push(h);
      }
    };
    const teardown = () => {
      for (const d of ["toClient", "toRelay"] as const) for (const h of held[d].splice(0)) clearTimeout(h.timer);
      conns.delete(conn);
      down.terminate();
      up.terminate();
    };

    up.on("open", () => {
      for (const d of early.splice(0)) up.send(d, { binary: typeof d !== "string" });
    });
    up.on("message", (data, isBinary) => handle("toClient", data, isBinary));
    down.on("message", (data, isBinary) => handle("toRelay", data, isBinary));
    up.on("close", teardown);
    down.on("close", teardown);
    up.on("error", teardown);
    down.on("error", teardown);
  });

  const port = (wss.address() as AddressInfo).port;
  return {
    url: `ws://${o.host ?? "127.0.0.1"}:${port}`,
    stats: engine.stats,
    setFaults: (f, d) => engine.setFaults(f, d),
    setAckFaults: (f) => engine.setAckFaults(f),
    setDropOther: (p) => engine.setDropOther(p),
    disconnectAll: () => {
      for (const c of [...conns]) c.down.terminate();
    },
    close: async () => {
      for (const c of [...conns]) {
        for (const d of ["toClient", "toRelay"] as const) for (const h of c.held[d].splice(0)) clearTimeout(h.timer);
        c.down.terminate();
        c.up.terminate();
      }
      conns.clear();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}
