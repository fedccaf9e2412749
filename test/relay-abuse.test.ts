// Relays that hold under abuse (issue 10): a client that stops reading while
// posting big frames is shed and the relay's own memory accounting stays
// bounded; a flood from many connections neither evicts an honest group's
// recent frames nor goes on for free (the proof-of-work difficulty rises and
// then decays); posts through a lossy path get through by re-sending.
// Real relays over real WebSockets, real libsodium.
import { afterEach, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { RelayClient, type RelayFrame } from "../src/cwtch/relay-client.js";
import { startRelay, type RelayOptions, type RelayServer } from "../src/cwtch/relay-server.js";
import { startAdversarialProxy, type AdversarialProxy } from "./helpers/adversarial-proxy.js";
import { b64, tagOf, TestClient } from "./helpers/ws-client.js";

const G = tagOf("honest-group");
let relays: RelayServer[] = [];
let raw: TestClient[] = [];
let clients: RelayClient[] = [];
let proxies: AdversarialProxy[] = [];
let crypto: Crypto;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function relay(opts: RelayOptions) {
  const r = await startRelay(opts);
  relays.push(r);
  return r;
}
async function rawClient(url: string) {
  const c = await TestClient.connect(url);
  raw.push(c);
  return c;
}
async function relayClient(url: string, extra: Partial<ConstructorParameters<typeof RelayClient>[0]> = {}) {
  crypto ??= await loadCrypto();
  const c = new RelayClient({ url, crypto, minBackoffMs: 50, maxBackoffMs: 500, ...extra }).start();
  clients.push(c);
  await c.ready();
  return c;
}
async function waitUntil(cond: () => boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
/** Junk a flooder posts: a random tag and blob each time, so nothing dedupes. */
function junk(i: number, size: number) {
  const blob = Buffer.alloc(size);
  blob.writeUInt32BE(i);
  blob.writeUInt32BE((Math.random() * 2 ** 32) >>> 0, 4);
  return { tag: b64(blob.subarray(0, 16)), blob: b64(blob) };
}

afterEach(async () => {
  for (const c of clients) c.close();
  for (const c of raw) c.ws.terminate();
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(relays.map((r) => r.close()));
  relays = [];
  raw = [];
  clients = [];
  proxies = [];
});

describe("a client that stops reading", () => {
  it("is shed once it holds more than its bound; the relay's accounting stays bounded and others keep working", async () => {
    const bound = 8 << 20;
    const r = await relay({ maxBufferedBytes: bound, maxTotalBufferedBytes: 64 << 20, powAdaptive: false });
    // History for the abuser's fetch to replay: more than the kernel buffers hold.
    const honest = await relayClient(r.url);
    const seen: RelayFrame[] = [];
    honest.on("frame", (f) => seen.push(f));
    await honest.subscribe([G]);
    const big = Buffer.alloc(90 * 1024, 7);
    for (let i = 0; i < 60; i++) big.writeUInt32BE(i), await honest.post(tagOf("history"), big);

    const abuser = await rawClient(r.url);
    abuser.sendRaw(JSON.stringify({ op: "subscribe", rid: 1 }));
    abuser.sendRaw(JSON.stringify({ op: "fetch", rid: 2, since: 0 }));
    abuser.ws.pause(); // never read again: the relay's answers pile up on its side
    let sent = 0;
    let honestPosts = 0;
    while (r.memory().shed === 0 && sent < 800) {
      const j = junk(sent, 96 * 1024);
      abuser.sendRaw(JSON.stringify({ op: "post", rid: 100 + sent, tag: j.tag, blob: j.blob }));
      sent++;
      if (sent % 20 === 0) {
        // The honest client posts and hears its own frame back throughout.
        const mine = Buffer.from(`honest ${honestPosts++}`);
        const p = await honest.post(G, mine);
        await waitUntil(() => seen.some((f) => f.seq === p.seq && f.blob === b64(mine)), 10_000, "honest frame pushed");
      }
      await sleep(2);
    }
    expect(r.memory().shed).toBe(1);
    // Shed long before the ~75 MiB the abuser sent: within the bound plus one fetch page and one frame.
    expect(sent * 96 * 1024).toBeLessThan(6 * bound);
    const slack = 6 * 2 ** 20 + 256 * 1024;
    expect(r.memory().peakConnectionBytes).toBeLessThanOrEqual(bound + slack);
    expect(r.memory().peakTotalBytes).toBeLessThanOrEqual(bound + slack);

    abuser.ws.resume();
    const closed = await abuser.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/^overloaded: holds \d+ bytes unread or unhandled/);
    expect(abuser.received.some((f) => f.op === "error" && f.code === "overloaded")).toBe(true);
    await waitUntil(() => r.memory().heldBytes < 1 << 20, 5000, "held bytes released");
    expect(await r.metricsText()).toContain("pursuance_relay_connections_shed_total 1");

    const after = Buffer.from("honest after");
    const p = await honest.post(G, after);
    await waitUntil(() => seen.some((f) => f.seq === p.seq), 5000, "honest frame after the shedding");
    expect(honestPosts).toBeGreaterThan(0);
  }, 60_000);
});

/** `n` connections posting junk as fast as the relay lets them, until stop(). */
async function flood(url: string, n: number, perConn: number, size = 512) {
  const conns = await Promise.all(Array.from({ length: n }, () => rawClient(url)));
  let stopped = false;
  const answers = { posted: 0, powRequired: 0, rateLimited: 0, namedBits: 0 };
  for (const c of conns) {
    c.ws.on("message", (d) => {
      const f = JSON.parse(d.toString());
      if (f.op === "posted") answers.posted++;
      else if (f.code === "pow-required") answers.powRequired++, (answers.namedBits = Math.max(answers.namedBits, f.powBits ?? 0));
      else if (f.code === "rate-limited") answers.rateLimited++;
      if (c.received.length > 64) c.received.splice(0); // keep the test's memory flat
    });
  }
  const done = Promise.all(
    conns.map(async (c, k) => {
      for (let i = 0; i < perConn && !stopped && c.ws.readyState === c.ws.OPEN; i++) {
        const j = junk(k * 1_000_000 + i, size);
        c.sendRaw(JSON.stringify({ op: "post", rid: i + 1, tag: j.tag, blob: j.blob }));
        if (i % 25 === 24) await sleep(100); // ~250 posts/s per connection, just over the rate limit
      }
    }),
  );
  return { answers, done, stop: () => void (stopped = true) };
}

describe("a flood from many connections", () => {
  it("does not evict an honest group's recent frames (eviction takes from the flooders first)", async () => {
    const r = await relay({ maxMessages: 2000, powAdaptive: false });
    const honest = await relayClient(r.url);
    const before = (await honest.ready()).latest;
    const mine: string[] = [];
    const post = async (i: number) => {
      const blob = Buffer.from(`honest frame ${i}`);
      mine.push(b64(blob));
      await honest.post(G, blob);
    };
    for (let i = 0; i < 10; i++) await post(i);
    const f = await flood(r.url, 16, 400);
    for (let i = 10; i < 30; i++) await post(i), await sleep(20);
    await f.done;
    await waitUntil(() => f.answers.posted + f.answers.rateLimited >= 16 * 400, 20_000, "flood answered");
    const st = await r.store.stats();
    expect(st.evictedThrough).toBeGreaterThan(before + 30); // the flood churned the cache past our frames

    const got: RelayFrame[] = [];
    const res = await honest.fetch([G], before, (fr) => got.push(fr));
    expect(res.prunedOldest).toBeUndefined();
    expect(got.map((x) => x.blob)).toEqual(mine);
    // A fetch of everything does see the loss (the flooders' own frames went).
    const all = await honest.fetch(null, before, () => {});
    expect(all.prunedOldest).toBeDefined();
  }, 60_000);

  it("raises the proof-of-work difficulty under flood, names it, lets an honest client post with stamps, and decays after", async () => {
    const r = await relay({ maxMessages: 2000, powMaxBits: 12, powPressurePostsPerSecond: 1000, powDecayMs: 300 });
    expect(r.pow().bits).toBe(0);
    const honest = await relayClient(r.url);
    expect(honest.powBits).toBe(0);
    const before = (await honest.ready()).latest;
    const f = await flood(r.url, 12, 100_000);
    await waitUntil(() => r.pow().bits > 0, 15_000, "difficulty to rise");
    // Honest posts during the flood: the client learns the difficulty from the rejection and stamps.
    const mine: string[] = [];
    for (let i = 0; i < 8; i++) {
      const blob = Buffer.from(`stamped honest ${i}`);
      const p = await honest.post(G, blob);
      expect(p.duplicate).toBe(false);
      mine.push(b64(blob));
    }
    expect(honest.powBits).toBeGreaterThan(0);
    const late = await rawClient(r.url);
    expect(late.hello.powBits).toBeGreaterThan(0); // announced in hello
    expect(r.pow().bits).toBeGreaterThan(0);
    // The flood's answers trail its posts under load: wait for the relay's word before judging it.
    await waitUntil(() => f.answers.powRequired > 0, 15_000, "the flood to be told the difficulty");
    f.stop();
    await f.done;
    expect(f.answers.powRequired).toBeGreaterThan(0);
    expect(f.answers.namedBits).toBeGreaterThan(0); // the rejection names the difficulty
    const peak = r.pow().peakBits;
    expect(peak).toBeGreaterThanOrEqual(10);
    expect(peak).toBeLessThanOrEqual(12);

    const got: RelayFrame[] = [];
    const res = await honest.fetch([G], before, (fr) => got.push(fr));
    expect(res.prunedOldest).toBeUndefined();
    expect(got.map((x) => x.blob)).toEqual(mine);

    // Calm again: the difficulty decays to the floor and posts are free.
    await waitUntil(() => r.pow().bits === 0, 20_000, "difficulty to decay");
    const calm = await rawClient(r.url);
    expect(calm.hello.powBits).toBe(0);
    expect((await calm.post(G, Buffer.from("free again"))).op).toBe("posted");
    expect(await r.metricsText()).toContain("pursuance_relay_pow_bits 0");
  }, 60_000);
});

describe("a lossy path to the only relay", () => {
  it("posts through a proxy that drops 15% of posts (no answer): re-sent until acknowledged", async () => {
    const r = await relay({});
    const proxy = await startAdversarialProxy({ target: r.url, seed: 15, faults: { toRelay: { drop: 0.15 } }, fakeAckDroppedPosts: false });
    proxies.push(proxy);
    const c = await relayClient(proxy.url, { requestTimeoutMs: 20_000, minResendMs: 200, maxResendMs: 1000 });
    const seqs: number[] = [];
    for (let i = 0; i < 40; i++) seqs.push((await c.post(G, Buffer.from(`invite part ${i}`))).seq);
    expect(proxy.stats.toRelay.dropped).toBeGreaterThan(0);
    expect(new Set(seqs).size).toBe(40);
    const direct = await rawClient(r.url);
    const got = await direct.fetch({ tags: [G] });
    expect(got.frames).toHaveLength(40);
  }, 60_000);
});
