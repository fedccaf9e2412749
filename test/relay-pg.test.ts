// Needs PostgreSQL at postgres://postgres@127.0.0.1:5432/test (override with
// PURSUANCE_TEST_PG). Each run works in its own throw-away database.
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { openPgRelayStore } from "../src/store/relay-pg-store.js";
import { tagOf, TestClient } from "./helpers/ws-client.js";

const ADMIN_URL = process.env.PURSUANCE_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
const created: string[] = [];
let url = "";

// A fresh database per test: each starts from empty migrations and its own clock.
beforeEach(async () => {
  const name = `relay_test_${randomBytes(6).toString("hex")}`;
  await admin.unsafe(`create database ${name}`);
  created.push(name);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  url = u.toString();
});
afterAll(async () => {
  for (const name of created) await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
});

async function pgRelay(opts: Parameters<typeof startRelay>[0] = {}): Promise<RelayServer> {
  return startRelay({ store: await openPgRelayStore(url), postBurst: 10_000, postsPerSecond: 10_000, ...opts });
}

describe("relay on PostgreSQL", () => {
  it("keeps every acknowledged frame and its seq across a restart mid-stream", async () => {
    const T = tagOf("restart");
    let relay = await pgRelay();
    const acked = new Map<number, string>();
    const stream = async (r: RelayServer, from: number, n: number) => {
      const c = await TestClient.connect(r.url);
      const window: Promise<void>[] = [];
      for (let i = from; i < from + n; i++) {
        const blob = Buffer.from(`frame ${i} ${"x".repeat(i % 50)}`).toString("base64url");
        // Up to 8 posts in flight, so the restart lands while some are unanswered.
        window.push(c.request({ op: "post", tag: T, blob }, 3000).then(
          (p) => void (p.op === "posted" && acked.set(p.seq, blob)),
          () => {},
        ));
        if (window.length >= 8) await window.shift();
      }
      await Promise.all(window);
      return c;
    };
    const streaming = stream(relay, 0, 400);
    while (acked.size < 150) await new Promise((r) => setTimeout(r, 5));
    await relay.close(); // mid-stream: later posts fail or go unanswered
    const first = await streaming;
    first.ws.terminate();
    const ackedBefore = acked.size;
    expect(ackedBefore).toBeGreaterThanOrEqual(150);
    expect(ackedBefore).toBeLessThan(400);
    const maxBefore = Math.max(...acked.keys());

    relay = await pgRelay();
    const c = await TestClient.connect(relay.url);
    expect(c.hello.latest).toBeGreaterThanOrEqual(maxBefore);
    const got = await c.fetch({ tags: [T] });
    const bySeq = new Map(got.frames.map((f) => [f.seq as number, f.blob as string]));
    for (const [seq, blob] of acked) expect(bySeq.get(seq), `seq ${seq}`).toBe(blob);
    expect(got.pruned).toBeUndefined();

    // Identical posts racing into one batch are stored once.
    const same = Buffer.from("twin").toString("base64url");
    const twins = await Promise.all([1, 2, 3].map(() => c.request({ op: "post", tag: T, blob: same })));
    expect(new Set(twins.map((p) => p.seq)).size).toBe(1);
    expect(twins.map((p) => p.duplicate)).toEqual([false, true, true]);

    // Seqs continue after the restart; re-posting an old frame is a duplicate.
    const [oldSeq, oldBlob] = [...acked][0]!;
    expect(await c.request({ op: "post", tag: T, blob: oldBlob })).toMatchObject({ op: "posted", seq: oldSeq, duplicate: true });
    const next = await c.request({ op: "post", tag: T, blob: Buffer.from("after restart").toString("base64url") });
    expect(next.seq).toBeGreaterThan(c.hello.latest);
    c.ws.terminate();
    await relay.close();
  });

  it("holds the cache bounds under a flood of 5,000 frames and remembers eviction after restart", async () => {
    const maxMessages = 1000;
    const maxBytes = 120_000;
    // These unstamped posters are the flood: adaptive proof-of-work would (rightly) start refusing them.
    let relay = await pgRelay({ maxMessages, maxBytes, powAdaptive: false });
    const clients = await Promise.all([0, 1, 2, 3].map(() => TestClient.connect(relay.url)));
    const T = tagOf("flood");
    let rejected = 0;
    await Promise.all(clients.map(async (c, k) => {
      for (let i = 0; i < 1250; i += 25) {
        const batch = Array.from({ length: 25 }, (_, j) => c.post(T, Buffer.from(`flood ${k} ${i + j} `.padEnd(40 + ((i + j) % 200), "."))));
        for (const p of await Promise.all(batch)) if (p.op !== "posted") rejected++;
      }
    }));
    expect(rejected).toBe(0);
    const st = await relay.store.stats();
    expect(st.count).toBeLessThanOrEqual(maxMessages);
    expect(st.bytes).toBeLessThanOrEqual(maxBytes);
    expect(st.count).toBeGreaterThan(0);
    const health = await (await fetch(relay.httpUrl + "/healthz")).json();
    expect(health).toMatchObject({ ok: true, frames: st.count, bytes: st.bytes, oldest: st.oldest, latest: st.latest });
    // The cached counters must agree with the table itself.
    const db = postgres(url, { max: 1 });
    const [row] = await db`select count(*)::int as n, sum(size)::int as b, min(seq)::int as lo from relay_frames`;
    await db.end();
    expect(row).toEqual({ n: st.count, b: st.bytes, lo: st.oldest });
    const instance = (clients[0]!.hello as unknown as { instance: string }).instance;
    expect(instance).toMatch(/^[0-9a-f]{24}$/);
    for (const c of clients) c.ws.terminate();
    await relay.close();

    relay = await pgRelay({ maxMessages, maxBytes });
    const c = await TestClient.connect(relay.url);
    // Same database, same numbering: the instance a client keys its cursor by survives the restart.
    expect(c.hello).toMatchObject({ oldest: st.oldest, latest: st.latest, instance });
    const all = await c.fetch({ tags: [T], since: 0 });
    expect(all.pruned).toMatchObject({ requested: 0, oldest: st.oldest });
    expect(all.frames.length).toBe(st.count);
    expect(all.frames.every((f, i, a) => i === 0 || f.seq > a[i - 1]!.seq)).toBe(true);
    c.ws.terminate();
    await relay.close();
  });

  it("evicts by age on PostgreSQL with an injected clock", async () => {
    let t = 10_000_000;
    const relay = await pgRelay({ maxAgeMs: 1000, now: () => t });
    const c = await TestClient.connect(relay.url);
    const T = tagOf("age");
    const a = await c.post(T, Buffer.from("aged 1"));
    t += 2000;
    const b = await c.post(T, Buffer.from("aged 2"));
    const got = await c.fetch({ tags: [T], since: a.seq - 1 });
    expect(got.frames.map((f) => f.seq)).toEqual([b.seq]);
    expect(got.pruned).toMatchObject({ requested: a.seq - 1 });
    c.ws.terminate();
    await relay.close();
  });
});
