// Adversarial input over real sockets: mutated valid frames, random JSON,
// wrong types, huge numbers, deep nesting, binary. The relay must answer every
// frame on a connection that stays open with exactly one terminal reply (or
// drop it with the connection, for frames ws itself refuses), never hang, and
// keep serving a well-behaved client.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { tagOf, TestClient } from "./helpers/ws-client.js";
import { prng as rng } from "../harness/prng.js";

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const TERMINAL = new Set(["posted", "caught-up", "subscribed", "pong", "error"]);
const TAGS = ["f1", "f2", "f3", "f4"].map(tagOf);
let relay: RelayServer;


function generator(seed: number) {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const json = fc.sample(fc.jsonValue({ maxDepth: 6 }), { numRuns: 400, seed });
  const anyVals = fc.sample(fc.anything({ maxDepth: 3 }), { numRuns: 200, seed: seed + 1 });
  const blob = () => Buffer.from(Array.from({ length: 1 + int(300) }, () => int(256))).toString("base64url");
  const valid = (): Record<string, unknown> => {
    const rid = int(1000);
    switch (int(5)) {
      case 0: case 1: return { op: "post", rid, tag: pick(TAGS), blob: blob() };
      case 2: return { op: "fetch", rid, since: int(50), ...(r() < 0.5 ? { tags: [pick(TAGS)] } : {}), ...(r() < 0.5 ? { limit: 1 + int(20) } : {}) };
      case 3: return { op: pick(["subscribe", "unsubscribe"]), rid, ...(r() < 0.7 ? { tags: TAGS.slice(0, 1 + int(4)) } : {}) };
      default: return { op: "ping", rid };
    }
  };
  const mutate = (s: string): Buffer => {
    const b = [...Buffer.from(s)];
    for (let k = 1 + int(4); k > 0 && b.length > 0; k--) {
      const i = int(b.length);
      switch (int(5)) {
        case 0: b[i] = int(256); break;
        case 1: b.splice(i, 0, int(256)); break;
        case 2: b.splice(i, 1 + int(3)); break;
        case 3: b.splice(i, 0, ...b.slice(int(b.length), int(b.length) + 8)); break;
        default: b.length = i;
      }
    }
    return Buffer.from(b);
  };
  const huge = [2 ** 53, -1, 1e308, 1.5, -0, Number.MAX_SAFE_INTEGER, "1e400", "NaN", null, true, [], {}, "9".repeat(400)];
  const wrongTypes = (): string => {
    const f = valid();
    const key = pick(["op", "rid", "tag", "blob", "tags", "since", "limit", "pow"]);
    const v = pick<unknown>([...huge, "x", 7, [1, 2], { a: 1 }, pick(anyVals)]);
    const literal = v === "1e400" || v === "NaN"; // literals JSON.stringify cannot write
    let raw: string;
    try {
      raw = JSON.stringify({ ...f, [key]: literal ? "__RAW__" : v });
    } catch {
      raw = JSON.stringify({ ...f, [key]: "unserialisable" });
    }
    return literal ? raw.replace('"__RAW__"', v) : raw;
  };
  const deep = (): string => {
    // Up to ~130 KB: deep but under the frame cap, so the relay must parse it.
    if (r() < 0.5) {
      const n = 1000 + int(64_000);
      return "[".repeat(n) + "]".repeat(n);
    }
    const n = 1000 + int(20_000);
    return '{"a":'.repeat(n) + "1" + "}".repeat(n);
  };
  return (): { data: string | Buffer; binary?: boolean } => {
    const k = r();
    if (k < 0.35) {
      const m = mutate(JSON.stringify(valid()));
      // Valid UTF-8 goes out as-is; otherwise as the same bytes read as latin1.
      return { data: Buffer.from(m.toString("utf8")).equals(m) ? m.toString("utf8") : m.toString("latin1") };
    }
    if (k < 0.55) return { data: JSON.stringify(pick(json)) ?? "null" };
    if (k < 0.75) return { data: wrongTypes() };
    if (k < 0.8) return { data: deep() };
    if (k < 0.83) return { data: Buffer.from(Array.from({ length: int(64) }, () => int(256))), binary: true };
    if (k < 0.86) return { data: JSON.stringify({ op: "post", rid: int(10), tag: pick(TAGS), blob: blob(), pow: pick(["", "!!", "A".repeat(30), "AAAA"]) }) };
    return { data: JSON.stringify(valid()) };
  };
}

beforeAll(async () => {
  relay = await startRelay({ maxMessages: 200, postsPerSecond: 1e6, postBurst: 1e6, requestsPerSecond: 1e6, requestBurst: 1e6, maxSubscriptionsPerConnection: 3 });
});
afterAll(async () => {
  await relay?.close();
});

describe(`relay fuzz (FUZZ_SEED=${SEED})`, () => {
  it("answers 12,000 hostile frames one for one and keeps serving", async () => {
    const control = await TestClient.connect(relay.url);
    await control.request({ op: "subscribe", tags: [TAGS[0]!] });
    const conns = await Promise.all([0, 1, 2, 3].map(() => TestClient.connect(relay.url)));
    const perConn = 3000;
    await Promise.all(conns.map(async (c, k) => {
      const next = generator(SEED + k);
      let sent = 0;
      const terminalCount = () => c.received.filter((f) => TERMINAL.has(f.op)).length;
      for (let i = 0; i < perConn; i += 250) {
        for (let j = 0; j < 250; j++, sent++) {
          const { data, binary } = next();
          c.ws.send(data, { binary: binary ?? false });
        }
        // Barrier: a ping is answered only after everything sent before it.
        const from = c.received.length;
        const pong = await c.request({ op: "ping", rid: 1_000_000 + i }, 20_000);
        expect(pong.op).toBe("pong");
        sent++;
        expect(c.received.slice(from).length).toBeGreaterThanOrEqual(1);
        expect(terminalCount(), `connection ${k} after ${sent} frames`).toBe(sent);
      }
      expect(c.ws.readyState).toBe(c.ws.OPEN);
    }));

    // Frames ws itself refuses close only their own connection.
    const utf = await TestClient.connect(relay.url);
    utf.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await utf.closed).code).toBe(1007);
    const big = await TestClient.connect(relay.url);
    big.sendRaw("[" + "1,".repeat(100_000) + "1]");
    expect((await big.closed).code).toBe(1009);
    const quitter = await TestClient.connect(relay.url);
    for (let i = 0; i < 50; i++) quitter.sendRaw(JSON.stringify({ op: "fetch", rid: i }));
    quitter.ws.terminate();

    const blob = Buffer.from(`control after fuzz ${SEED}`);
    const p = await control.post(TAGS[0]!, blob);
    expect(p).toMatchObject({ op: "posted", duplicate: false });
    const pushed = await control.waitFor((f) => f.op === "frame" && f.seq === p.seq);
    expect(pushed.blob).toBe(blob.toString("base64url"));
    const got = await control.fetch({ tags: [TAGS[0]!], since: p.seq - 1 });
    expect(got.frames.map((f) => f.seq)).toEqual([p.seq]);
    const health = await (await fetch(`${relay.httpUrl}/healthz`)).json();
    expect(health).toMatchObject({ ok: true, latest: p.seq });
    expect(health.frames).toBeLessThanOrEqual(200);
    const metrics = await (await fetch(`${relay.httpUrl}/metrics`)).text();
    const bad = Number(/rejected_total\{reason="bad-frame"\} (\d+)/.exec(metrics)?.[1]);
    expect(bad).toBeGreaterThan(3000);
    for (const c of [...conns, control]) await c.close();
  });
});
