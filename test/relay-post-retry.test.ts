// A lossy relay slows a member down and never fails them: every post is
// re-sent (with backoff) until the relay acknowledges it or the post's
// deadline passes; the relay's answer to a repeat (`duplicate`) is success;
// an acknowledgement bent on the way (wrong rid, wrong seq) or the answer to
// a copy tampered on the way in is not. Real relays over real WebSockets
// behind the adversarial proxy, real libsodium.
import { createServer, type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { Group } from "../src/cwtch/group.js";
import { GroupSession } from "../src/cwtch/group-session.js";
import { RelayClient } from "../src/cwtch/relay-client.js";
import { postAck } from "../src/cwtch/relay-protocol.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { startAdversarialProxy, type AdversarialProxy } from "./helpers/adversarial-proxy.js";
import { tagOf, TestClient } from "./helpers/ws-client.js";

const G = tagOf("lossy-group");
let relays: RelayServer[] = [];
let clients: RelayClient[] = [];
let proxies: AdversarialProxy[] = [];
let raw: TestClient[] = [];
let crypto: Crypto;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function relayClient(url: string, extra: Partial<ConstructorParameters<typeof RelayClient>[0]> = {}) {
  crypto ??= await loadCrypto();
  const c = new RelayClient({ url, crypto, minBackoffMs: 50, maxBackoffMs: 500, ...extra }).start();
  clients.push(c);
  return c;
}
async function held(url: string): Promise<Map<string, number>> {
  const c = await TestClient.connect(url);
  raw.push(c);
  const got = await c.fetch({ tags: [G] });
  const n = new Map<string, number>();
  for (const f of got.frames) n.set(f.blob as string, (n.get(f.blob as string) ?? 0) + 1);
  return n;
}
/** A port nothing listens on: a relay that is down. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

afterEach(async () => {
  for (const c of clients) c.close();
  for (const c of raw) c.ws.terminate();
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(relays.map((r) => r.close()));
  relays = [];
  clients = [];
  proxies = [];
  raw = [];
});

describe("the relay's answer to a repeated post", () => {
  it("is an explicit acknowledgement: posted, the same seq, duplicate, bound to the frame", async () => {
    const r = await startRelay({});
    relays.push(r);
    const c = await TestClient.connect(r.url);
    raw.push(c);
    expect(c.hello.acks).toBe(1);
    const blob = Buffer.from("said twice");
    const first = await c.post(G, blob);
    const again = await c.post(G, blob);
    expect(first).toMatchObject({ op: "posted", duplicate: false, ack: postAck(first.seq, G, blob) });
    expect(again).toMatchObject({ op: "posted", seq: first.seq, duplicate: true, ack: postAck(first.seq, G, blob) });
    expect((await c.fetch({ tags: [G] })).frames).toHaveLength(1);
  });
});

describe("posting through a relay path that loses, repeats, bends and invents frames", () => {
  it("every post ends acknowledged, none fails, and the relay holds each exactly once", async () => {
    const r = await startRelay({});
    relays.push(r);
    const proxy = await startAdversarialProxy({
      target: r.url,
      seed: 4242,
      // Posts: lost, doubled, bent and garbage injected; acknowledgements: lost, doubled, bent, late.
      faults: { toRelay: { drop: 0.15, duplicate: 0.1, tamper: 0.08, truncate: 0.04, garbage: 0.1, replay: 0.05 } },
      fakeAckDroppedPosts: false,
      acks: { drop: 0.15, duplicate: 0.1, tamper: 0.1, reorder: 0.1 },
      // Greetings, fetches, subscriptions and their answers are lost too.
      dropOther: 0.15,
    });
    proxies.push(proxy);
    const c = await relayClient(proxy.url, { requestTimeoutMs: 60_000, minResendMs: 100, maxResendMs: 800 });
    await c.ready();
    const blobs = Array.from({ length: 60 }, (_, i) => Buffer.from(`post ${i} `.padEnd(64, "."), "utf8"));
    const answers: Array<{ seq: number; duplicate: boolean }> = [];
    // Ten at a time, so a bent rid often lands on another pending post.
    for (let i = 0; i < blobs.length; i += 10) answers.push(...(await Promise.all(blobs.slice(i, i + 10).map((b) => c.post(G, b)))));
    const s = proxy.stats;
    expect(s.toRelay.dropped).toBeGreaterThan(0);
    expect(s.toRelay.tampered + s.toRelay.truncated).toBeGreaterThan(0);
    expect(s.acks.dropped).toBeGreaterThan(0);
    expect(s.acks.tamperedRid).toBeGreaterThan(0);
    expect(s.acks.tamperedSeq).toBeGreaterThan(0);
    // A repost of a frame the relay already held was answered `duplicate` and counted as success.
    expect(answers.some((a) => a.duplicate)).toBe(true);
    const holds = await held(r.url);
    const want = new Map<number, string>();
    for (const [i, b] of blobs.entries()) {
      expect(holds.get(b.toString("base64url")), `post ${i}`).toBe(1);
      want.set(answers[i]!.seq, b.toString("base64url"));
    }
    // Each post's seq is the one the relay gave that very frame.
    const direct = await TestClient.connect(r.url);
    raw.push(direct);
    const frames = (await direct.fetch({ tags: [G] })).frames;
    for (const [seq, blob] of want) expect(frames.find((f) => f.seq === seq)?.blob).toBe(blob);
  }, 120_000);

  it("a bent acknowledgement (wrong rid or wrong seq) is not taken as success", async () => {
    const r = await startRelay({});
    relays.push(r);
    const proxy = await startAdversarialProxy({ target: r.url, seed: 7, acks: { tamper: 1 } });
    proxies.push(proxy);
    const c = await relayClient(proxy.url, { requestTimeoutMs: 30_000, minResendMs: 100, maxResendMs: 300 });
    await c.ready();
    const a = Buffer.from("first frame");
    const b = Buffer.from("second frame");
    let settled = 0;
    const pa = c.post(G, a).finally(() => settled++);
    const pb = c.post(G, b).finally(() => settled++);
    // Every answer is bent: for a while (several re-sends) neither post may count as held.
    for (let i = 0; i < 20 && proxy.stats.acks.tamperedRid === 0; i++) await sleep(100);
    await sleep(800);
    expect(proxy.stats.acks.tamperedRid).toBeGreaterThan(0);
    expect(proxy.stats.acks.tamperedSeq).toBeGreaterThan(0);
    expect(settled).toBe(0);
    proxy.setAckFaults({});
    const [ra, rb] = await Promise.all([pa, pb]);
    const frames = (await (async () => {
      const d = await TestClient.connect(r.url);
      raw.push(d);
      return d.fetch({ tags: [G] });
    })()).frames;
    expect(frames.find((f) => f.seq === ra.seq)?.blob).toBe(a.toString("base64url"));
    expect(frames.find((f) => f.seq === rb.seq)?.blob).toBe(b.toString("base64url"));
  }, 60_000);
});

describe("a relay whose greeting or answers to reads are lost", () => {
  it("a lost hello: the client reconnects instead of waiting mute, and its post goes through", async () => {
    const r = await startRelay({});
    relays.push(r);
    const proxy = await startAdversarialProxy({ target: r.url, seed: 3, dropOther: 1 });
    proxies.push(proxy);
    const c = await relayClient(proxy.url, { requestTimeoutMs: 20_000, helloTimeoutMs: 500 });
    const posted = c.post(G, Buffer.from("after a lost hello"));
    for (let i = 0; i < 50 && !proxy.stats.otherDropped["toClient:hello"]; i++) await sleep(50);
    expect(proxy.stats.otherDropped["toClient:hello"]).toBeGreaterThan(0);
    proxy.setDropOther(0);
    expect((await posted).duplicate).toBe(false);
    expect(proxy.stats.connections).toBeGreaterThan(1);
  }, 30_000);

  it("a lost fetch or caught-up: the fetch is asked again and completes", async () => {
    const r = await startRelay({});
    relays.push(r);
    const proxy = await startAdversarialProxy({ target: r.url, seed: 5 });
    proxies.push(proxy);
    const c = await relayClient(proxy.url, { requestTimeoutMs: 20_000, minResendMs: 100, maxResendMs: 300 });
    await c.ready();
    for (let i = 0; i < 5; i++) await c.post(G, Buffer.from(`held ${i}`));
    proxy.setDropOther(1);
    const seen = new Set<number>();
    const fetched = c.fetch([G], 0, (f) => seen.add(f.seq));
    for (let i = 0; i < 50 && !proxy.stats.otherDropped["toRelay:fetch"]; i++) await sleep(50);
    expect(proxy.stats.otherDropped["toRelay:fetch"]).toBeGreaterThan(0);
    proxy.setDropOther(0);
    expect((await fetched).latest).toBe(5);
    expect(seen.size).toBe(5);
  }, 30_000);
});

describe("a post whose deadline passes", () => {
  it("fails with a message naming the relay and the deadline, through the group", async () => {
    crypto ??= await loadCrypto();
    const url = `ws://127.0.0.1:${await deadPort()}`;
    const relay = await relayClient(url, { requestTimeoutMs: 1500 });
    const identity = crypto.signKeyPair();
    const session = new GroupSession({ crypto, identity, groupId: crypto.randomBytes(32), epochs: [{ epoch: 0, key: crypto.randomBytes(32) }], now: () => Date.now() });
    const group = new Group({ session, relays: [relay] });
    try {
      const err = await group.publish(Buffer.from("nobody hears this")).then(
        () => null,
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toContain(url);
      expect(err!.message).toMatch(/deadline of 1\.5 s/);
    } finally {
      group.close();
    }
  }, 30_000);

  it("a relay that accepts the connection and then says nothing: the post fails at its deadline, naming both", async () => {
    // A relay that greets and then swallows every post (and every re-send).
    const r = await startRelay({});
    relays.push(r);
    const proxy = await startAdversarialProxy({ target: r.url, seed: 1, faults: { toRelay: { drop: 1 } }, fakeAckDroppedPosts: false });
    proxies.push(proxy);
    const c = await relayClient(proxy.url, { requestTimeoutMs: 1200, minResendMs: 100, maxResendMs: 200 });
    await c.ready();
    const err = await c.post(G, Buffer.from("lost")).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toContain(proxy.url);
    expect(err?.message).toMatch(/no acknowledgement .*deadline of 1\.2 s/);
    expect(proxy.stats.toRelay.dropped).toBeGreaterThan(1); // it was re-sent before giving up
  }, 30_000);
});
