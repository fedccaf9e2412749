import { describe, expect, it } from "vitest";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { mintPow, powDigest } from "../src/cwtch/pow.js";
import { leadingZeroBits } from "../src/cwtch/relay-protocol.js";
import type { RelayServer } from "../src/cwtch/relay-server.js";
import { relayFixture } from "./helpers/relay-fixture.js";
import { b64, tagOf, TestClient } from "./helpers/ws-client.js";

const A = tagOf("alpha");
const B = tagOf("beta");
const { relay, client } = relayFixture();
/** A second client on the same relay must be unaffected by whatever the first did. */
async function controlWorks(r: RelayServer, ctl: TestClient) {
  const blob = Buffer.from(`control ${Math.random()}`);
  const p = await ctl.post(B, blob);
  expect(p.op).toBe("posted");
  const got = await ctl.fetch({ tags: [B], since: p.seq - 1 });
  expect(got.frames.map((f) => f.blob)).toEqual([b64(blob)]);
  expect((await ctl.request({ op: "ping" })).op).toBe("pong");
}
async function httpGet(r: RelayServer, path: string) {
  const res = await fetch(r.httpUrl + path);
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}


describe("relay protocol", () => {
  it("posts, fetches by tag and since, fetch-all, and caught-up names the cursor", async () => {
    const r = await relay();
    const c = await client(r);
    expect(c.hello).toMatchObject({ op: "hello", version: 1, oldest: 0, latest: 0, powBits: 0, maxBlobBytes: 96 * 1024 });
    const seqs: number[] = [];
    for (let i = 0; i < 5; i++) seqs.push((await c.post(i % 2 ? B : A, Buffer.from(`m${i}`))).seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5]);

    const all = await c.fetch();
    expect(all.frames.map((f) => [f.seq, f.tag, Buffer.from(f.blob, "base64url").toString()])).toEqual([
      [1, A, "m0"], [2, B, "m1"], [3, A, "m2"], [4, B, "m3"], [5, A, "m4"],
    ]);
    expect(all.end).toMatchObject({ op: "caught-up", latest: 5 });
    expect(all.pruned).toBeUndefined();

    const onlyA = await c.fetch({ tags: [A], since: 1 });
    expect(onlyA.frames.map((f) => f.seq)).toEqual([3, 5]);
    expect(onlyA.end.latest).toBe(5);

    const limited = await c.fetch({ limit: 2, since: 1 });
    expect(limited.frames.map((f) => f.seq)).toEqual([2, 3]);
    expect(limited.end.latest).toBe(3); // resume cursor, not the relay's head
    const rest = await c.fetch({ since: limited.end.latest });
    expect(rest.frames.map((f) => f.seq)).toEqual([4, 5]);

    const c2 = await client(r);
    expect(c2.hello).toMatchObject({ oldest: 1, latest: 5 });
  });

  it("pages long replays without losing or reordering frames", async () => {
    const r = await relay({ fetchPageSize: 7, postBurst: 1000 });
    const c = await client(r);
    await Promise.all(Array.from({ length: 100 }, (_, i) => c.post(i % 3 ? A : B, Buffer.from(`p${i}`))));
    const all = await c.fetch();
    expect(all.frames.map((f) => f.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const bs = await c.fetch({ tags: [B] });
    expect(bs.frames.map((f) => f.seq)).toEqual(Array.from({ length: 34 }, (_, i) => i * 3 + 1));
  });

  it("pushes live frames to matching subscribers only, serialised once", async () => {
    const r = await relay();
    const [subA, subAll, poster] = [await client(r), await client(r), await client(r)];
    expect(await subA.request({ op: "subscribe", tags: [A] })).toMatchObject({ op: "subscribed", tags: 1 });
    expect(await subAll.request({ op: "subscribe" })).toMatchObject({ op: "subscribed", tags: "all" });
    await poster.post(B, Buffer.from("to b"));
    const pa = await poster.post(A, Buffer.from("to a"));
    const gotA = await subA.waitFor((f) => f.op === "frame");
    expect(gotA).toEqual({ op: "frame", seq: pa.seq, tag: A, blob: b64("to a") });
    await subAll.waitFor((f) => f.op === "frame" && f.seq === pa.seq);
    expect(subAll.received.filter((f) => f.op === "frame").map((f) => f.seq)).toEqual([1, 2]);
    expect(subA.received.filter((f) => f.op === "frame").map((f) => f.seq)).toEqual([2]);
    expect(await subA.request({ op: "unsubscribe", tags: [A] })).toMatchObject({ tags: 0 });
    await poster.post(A, Buffer.from("after"));
    await subAll.waitFor((f) => f.op === "frame" && f.seq === 3);
    expect(subA.received.filter((f) => f.op === "frame")).toHaveLength(1);
  });

  it("answers an identical post with the existing seq and stores it once", async () => {
    const r = await relay();
    const c = await client(r);
    const sub = await client(r);
    await sub.request({ op: "subscribe" });
    const first = await c.post(A, Buffer.from("same"));
    const again = await c.post(A, Buffer.from("same"));
    const otherTag = await c.post(B, Buffer.from("same"));
    expect(first).toMatchObject({ seq: 1, duplicate: false });
    expect(again).toMatchObject({ seq: 1, duplicate: true });
    expect(otherTag).toMatchObject({ seq: 2, duplicate: false });
    expect((await c.fetch()).frames).toHaveLength(2);
    await sub.waitFor((f) => f.op === "frame" && f.seq === 2);
    expect(sub.received.filter((f) => f.op === "frame")).toHaveLength(2);
  });
});

describe("relay cache bounds", () => {
  it("evicts by count and reports pruned with the oldest cursor", async () => {
    const r = await relay({ maxMessages: 3 });
    const c = await client(r);
    for (let i = 0; i < 5; i++) await c.post(A, Buffer.from(`c${i}`));
    const got = await c.fetch({ since: 1 });
    expect(got.pruned).toMatchObject({ op: "pruned", requested: 1, oldest: 3 });
    expect(got.frames.map((f) => f.seq)).toEqual([3, 4, 5]);
    expect((await c.fetch({ since: 2 })).pruned).toBeUndefined(); // nothing after 2 was lost
    expect((await client(r)).hello).toMatchObject({ oldest: 3, latest: 5 });
    // An evicted frame posted again is new: seqs are never reused.
    expect(await c.post(A, Buffer.from("c0"))).toMatchObject({ seq: 6, duplicate: false });
  });

  it("evicts by bytes", async () => {
    const r = await relay({ maxBytes: 3 * (A.length + 100) });
    const c = await client(r);
    for (let i = 0; i < 6; i++) await c.post(A, Buffer.alloc(100, i));
    const h = JSON.parse((await httpGet(r, "/healthz")).text);
    expect(h).toMatchObject({ frames: 3, bytes: 3 * (A.length + 100), oldest: 4, latest: 6 });
  });

  it("holds and answers a fresh frame that alone outweighs every other owner: settled frames make room", async () => {
    const r = await relay({ maxBytes: 20_000 });
    const xs = [await client(r), await client(r), await client(r)];
    const y = await client(r);
    const old: number[] = [];
    for (const [i, x] of xs.entries()) old.push((await x.post(A, Buffer.alloc(4000, i))).seq);
    // Y's frame alone makes Y the largest owner, but it is fresh: the oldest
    // settled frame (half the store posted after it) is what goes.
    const big = await y.post(B, Buffer.alloc(9500, 9));
    expect(big.op).toBe("posted");
    expect((await y.fetch({ since: 0 })).frames.map((f) => f.seq)).toEqual([old[1], old[2], big.seq]);
  });

  it("answers `posted` to a large frame while 40 one-frame connections fill the store, and keeps it while they post on", async () => {
    const r = await relay({ maxBytes: 200_000 });
    const sybils: TestClient[] = [];
    for (let i = 0; i < 40; i++) sybils.push(await client(r));
    for (const [i, s] of sybils.entries()) expect((await s.post(A, Buffer.alloc(5000 - A.length, i))).op).toBe("posted");
    const honest = await client(r);
    const mine = await honest.post(B, Buffer.alloc(60_000, 255));
    expect(mine.op).toBe("posted");
    // Less than half the store posted after it, from 20 fresh owners: still held.
    for (let i = 0; i < 20; i++) expect((await sybils[i]!.post(A, Buffer.alloc(4500, 100 + i))).op).toBe("posted");
    expect((await honest.fetch({ tags: [B], since: 0 })).frames.map((f) => f.seq)).toEqual([mine.seq]);
  });

  it("evicts by age with an injected clock, on append and on sweep", async () => {
    let t = 1_000_000;
    const r = await relay({ maxAgeMs: 60_000, now: () => t });
    const c = await client(r);
    await c.post(A, Buffer.from("old1"));
    await c.post(A, Buffer.from("old2"));
    t += 30_000;
    await c.post(A, Buffer.from("mid"));
    t += 40_000; // old1, old2 are now 70 s old
    await c.post(A, Buffer.from("new"));
    expect((await c.fetch()).frames.map((f) => f.seq)).toEqual([3, 4]);
    t += 61_000;
    expect(await r.sweep()).toBe(2);
    const got = await c.fetch({ since: 0 });
    expect(got.frames).toEqual([]);
    expect(got.pruned).toMatchObject({ requested: 0, oldest: 0 });
    expect(got.end.latest).toBe(4);
    expect((await client(r)).hello).toMatchObject({ oldest: 0, latest: 4 });
  });
});

describe("relay http", () => {
  it("serves healthz and Prometheus metrics with real values", async () => {
    const r = await relay({ maxMessages: 2 });
    const c = await client(r);
    await c.request({ op: "subscribe", tags: [A, B] });
    for (let i = 0; i < 3; i++) await c.post(A, Buffer.from(`h${i}`));
    await c.post(A, Buffer.from("h2")); // duplicate
    c.sendRaw("nope");
    await c.waitFor((f) => f.op === "error");
    const h = await httpGet(r, "/healthz");
    expect(h.status).toBe(200);
    expect(JSON.parse(h.text)).toEqual({ ok: true, frames: 2, bytes: 2 * (A.length + 2), oldest: 2, latest: 3 });
    const m = await httpGet(r, "/metrics");
    expect(m.type).toContain("text/plain");
    const lines = m.text.split("\n");
    for (const want of [
      "pursuance_relay_frames_stored 2",
      `pursuance_relay_bytes_stored ${2 * (A.length + 2)}`,
      "pursuance_relay_frames_evicted_total 1",
      "pursuance_relay_frames_accepted_total 4",
      'pursuance_relay_frames_rejected_total{reason="bad-frame"} 1',
      'pursuance_relay_frames_rejected_total{reason="rate-limited"} 0',
      "pursuance_relay_connections 1",
      "pursuance_relay_subscriptions 2",
      "# TYPE pursuance_relay_frames_rejected_total counter",
    ]) expect(lines).toContain(want);
    expect((await httpGet(r, "/nope")).status).toBe(404);
  });
});

describe("relay rejections", () => {
  it("rate-limits posts and requests per connection and keeps the connection", async () => {
    let t = 5_000;
    const r = await relay({ now: () => t, postsPerSecond: 10, postBurst: 5, requestsPerSecond: 1, requestBurst: 2 });
    const [c, ctl] = [await client(r), await client(r)];
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => c.post(A, Buffer.from(`r${i}`))));
    expect(answers.map((a) => a.op)).toEqual(["posted", "posted", "posted", "posted", "posted", "error", "error", "error"]);
    expect(answers[5]).toMatchObject({ code: "rate-limited", message: expect.stringContaining("posts/s") });
    const reqs = await Promise.all([1, 2, 3].map(() => c.request({ op: "ping" })));
    expect(reqs.map((a) => a.code ?? a.op)).toEqual(["pong", "pong", "rate-limited"]);
    await controlWorks(r, ctl);
    t += 1000; // refill
    expect((await c.post(A, Buffer.from("later"))).op).toBe("posted");
    expect((await c.request({ op: "ping" })).op).toBe("pong");
  });

  it("requires a valid proof-of-work stamp when configured", async () => {
    const crypto = await loadCrypto();
    const r = await relay({ powBits: 8, crypto });
    const [c, ctl] = [await client(r), await client(r)];
    expect(c.hello.powBits).toBe(8);
    const blob = Buffer.from("stamped");
    expect(await c.post(A, blob)).toMatchObject({ op: "error", code: "pow-required" });
    const pow = mintPow(crypto, A, blob, 8);
    expect(leadingZeroBits(powDigest(crypto, A, blob, Buffer.from(pow, "base64url")))).toBeGreaterThanOrEqual(8);
    // The stamp is bound to the frame: another blob or tag with it fails.
    expect(await c.post(A, Buffer.from("other"), pow)).toMatchObject({ op: "error", code: "pow-invalid" });
    expect(await c.post(B, blob, pow)).toMatchObject({ op: "error", code: "pow-invalid" });
    let bad = "AAAAAAAAAAAAAAAA";
    while (leadingZeroBits(powDigest(crypto, A, blob, Buffer.from(bad, "base64url"))) >= 8) bad = b64(crypto.randomBytes(12));
    expect(await c.post(A, blob, bad)).toMatchObject({ op: "error", code: "pow-invalid" });
    expect(await c.post(A, blob, pow)).toMatchObject({ op: "posted", seq: 1 });
    const ctlBlob = Buffer.from("control");
    expect(await ctl.post(B, ctlBlob, mintPow(crypto, B, ctlBlob, 8))).toMatchObject({ op: "posted", seq: 2 });
    expect((await ctl.fetch()).frames.map((f) => f.seq)).toEqual([1, 2]);
  });

  it("bounds subscriptions per connection", async () => {
    const r = await relay({ maxSubscriptionsPerConnection: 4 });
    const [c, ctl] = [await client(r), await client(r)];
    const tags = ["t1", "t2", "t3", "t4", "t5"].map(tagOf);
    expect(await c.request({ op: "subscribe", tags: tags.slice(0, 3) })).toMatchObject({ tags: 3 });
    const over = await c.request({ op: "subscribe", tags: tags.slice(2, 5) });
    expect(over).toMatchObject({ op: "error", code: "too-many-subscriptions", message: expect.stringContaining("at most 4") });
    expect(await c.request({ op: "subscribe", tags: tags.slice(3, 4) })).toMatchObject({ tags: 4 });
    expect(await c.request({ op: "subscribe", tags: [...tags, tagOf("t6")] })).toMatchObject({ code: "too-many-subscriptions" });
    await controlWorks(r, ctl);
  });

  it("rejects oversize blobs with too-large, and closes 1009 past the frame cap", async () => {
    const r = await relay({ maxBlobBytes: 1024 });
    const [c, ctl] = [await client(r), await client(r)];
    expect(c.hello.maxBlobBytes).toBe(1024);
    expect(await c.post(A, Buffer.alloc(1024, 1))).toMatchObject({ op: "posted" });
    expect(await c.post(A, Buffer.alloc(1025, 1))).toMatchObject({ op: "error", code: "too-large" });
    expect(await c.post(A, Buffer.alloc(10_000, 1))).toMatchObject({ op: "error", code: "too-large" });
    await controlWorks(r, ctl);
    c.sendRaw(JSON.stringify({ op: "post", rid: 9, tag: A, blob: "A".repeat(200_000) }));
    expect((await c.closed).code).toBe(1009);
    await controlWorks(r, ctl);
    expect((await httpGet(r, "/metrics")).text).toContain('pursuance_relay_frames_rejected_total{reason="too-large"} 3');
  });

  it("drops a subscriber that stops reading instead of buffering without bound", async () => {
    const r = await relay({ maxBufferedBytes: 256 * 1024 });
    const [slow, poster, ctl] = [await client(r), await client(r), await client(r)];
    await slow.request({ op: "subscribe" });
    slow.ws.pause(); // stop reading: the kernel buffers fill, then the relay's
    const big = Buffer.alloc(90 * 1024);
    for (let i = 0; i < 300 && slow.ws.readyState === slow.ws.OPEN; i++) {
      big.writeUInt32BE(i);
      expect((await poster.post(A, big)).op).toBe("posted");
      if (i % 20 === 19) await new Promise((res) => setTimeout(res, 10));
    }
    slow.ws.resume();
    // Shed with a reason: the close frame (or, if it never gets through, the terminate) ends it.
    expect([1008, 1006]).toContain((await slow.closed).code);
    expect(r.memory().shed).toBe(1);
    await controlWorks(r, ctl);
  });

  it("names malformed JSON, binary messages, unknown ops and bad fields", async () => {
    const r = await relay();
    const [c, ctl] = [await client(r), await client(r)];
    const cases: [string | Buffer, string, string][] = [
      ["{not json", "bad-frame", "not JSON"],
      [Buffer.from([1, 2, 3]), "bad-frame", "binary"],
      [JSON.stringify({ op: "explode", rid: 1 }), "unknown-op", "explode"],
      [JSON.stringify([1, 2]), "bad-frame", "object"],
      [JSON.stringify({ op: "post", rid: -1, tag: A, blob: "AA" }), "bad-frame", "rid"],
      [JSON.stringify({ op: "post", rid: 2, tag: "bad tag!", blob: "AA" }), "bad-frame", "tag"],
      [JSON.stringify({ op: "post", rid: 3, tag: A, blob: "AB" }), "bad-frame", "canonical"],
      [JSON.stringify({ op: "fetch", rid: 4, since: 1e300 }), "bad-frame", "since"],
      [JSON.stringify({ op: "fetch", rid: 5, tags: "x" }), "bad-frame", "tags"],
    ];
    for (const [raw, code, words] of cases) {
      const from = c.received.length;
      c.sendRaw(raw);
      const e = await c.waitFor((f) => f.op === "error", 2000, from);
      expect(e.code, String(raw)).toBe(code);
      expect(e.message.toLowerCase()).toContain(words.toLowerCase());
      await controlWorks(r, ctl);
    }
    expect((await c.request({ op: "ping" })).op).toBe("pong");
  });
});
