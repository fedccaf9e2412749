// A fetch is told of every frame of its tags that the relay lost after its
// `since`: fair eviction takes frames out of seq order and from ahead of a
// slow fetch's cursor, and neither may hide a loss (attacks atk7 #1 and #4).
import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { relayFixture } from "./helpers/relay-fixture.js";
import { tagOf } from "./helpers/ws-client.js";

const T = tagOf("the group");
const U = tagOf("someone else");
const { relay, client } = relayFixture({ powAdaptive: false, heartbeatMs: 0 });
const blob = (n: number, id: number) => {
  const b = Buffer.alloc(n, id & 255);
  b.writeUInt16BE(id & 0xffff, 0);
  return b;
};

describe("relay fetch: every loss among the asked tags is reported", () => {
  it("after evictions out of seq order (a tag's mark is the highest seq it lost, never lowered)", async () => {
    const r = await relay({ maxMessages: 10 });
    const x = await client(r);
    const y = await client(r);
    const reader = await client(r);
    expect((await x.post(T, blob(200, 1))).op).toBe("posted");
    const first = await reader.fetch({ tags: [T], since: 0 });
    const cursor = first.end.latest as number;
    expect((await y.post(T, blob(5000, 2))).op).toBe("posted"); // the largest owner's: it goes first
    for (let i = 0; i < 10; i++) expect((await (await client(r)).post(U, blob(10, 100 + i))).op).toBe("posted");
    const again = await reader.fetch({ tags: [T], since: cursor });
    expect(again.frames).toEqual([]);
    expect(again.pruned).toBeDefined();
  });

  it("when eviction takes frames ahead of a slow fetch's cursor", async () => {
    const r = await relay({ maxMessages: 40, maxBytes: 1_000_000_000, maxBlobBytes: 1_000_000, fetchPageSize: 4 });
    const x = await client(r);
    const y = await client(r);
    const flood = await client(r);
    const reader = await client(r);
    for (let i = 0; i < 10; i++) expect((await x.post(T, blob(1_000_000, i))).op).toBe("posted");
    for (let i = 0; i < 20; i++) expect((await y.post(T, blob(1_000_000, 100 + i))).op).toBe("posted");
    reader.sendRaw(JSON.stringify({ op: "fetch", rid: 77, tags: [T], since: 0 }));
    await reader.waitFor((f) => f.rid === 77 && f.op === "frame");
    const sock = (reader.ws as unknown as { _socket: Socket })._socket;
    sock.pause(); // the reader's network stalls mid-fetch
    await new Promise((res) => setTimeout(res, 300));
    for (let i = 0; i < 30; i++) expect((await flood.post(U, blob(8, 1000 + i))).op).toBe("posted");
    sock.resume();
    const end = await reader.waitFor((f) => f.rid === 77 && f.op === "caught-up", 60_000);
    const got = new Set(reader.received.filter((f) => f.rid === 77 && f.op === "frame").map((f) => f.seq as number));
    const missing = [...Array(30).keys()].map((i) => i + 1).filter((s) => !got.has(s));
    expect(missing.length).toBeGreaterThan(0); // the flood did take frames the fetch had not sent yet
    expect(end.latest).toBeGreaterThan(Math.max(...missing));
    expect(reader.received.find((f) => f.rid === 77 && f.op === "pruned")).toBeDefined();
  }, 60_000);

  it("a fetch of everything (no tags) is told too, when eviction takes frames ahead of its cursor", async () => {
    const r = await relay({ maxMessages: 200, fetchPageSize: 1 });
    const poster = await client(r);
    for (let i = 0; i < 200; i++) expect((await poster.post(T, blob(90_000, i))).op).toBe("posted");
    const reader = await client(r);
    const sock = (reader.ws as unknown as { _socket: Socket })._socket;
    sock.pause(); // a slow reader
    reader.sendRaw(JSON.stringify({ op: "fetch", rid: 7, since: 0 }));
    await new Promise((res) => setTimeout(res, 500));
    for (let i = 200; i < 350; i++) expect((await poster.post(T, blob(90_000, i))).op).toBe("posted");
    sock.resume();
    const end = await reader.waitFor((f) => f.rid === 7 && f.op === "caught-up", 60_000);
    const got = new Set(reader.received.filter((f) => f.rid === 7 && f.op === "frame").map((f) => f.seq as number));
    const missing = [...Array(end.latest as number).keys()].map((i) => i + 1).filter((s) => !got.has(s));
    expect(missing.length).toBeGreaterThan(0);
    expect(reader.received.find((f) => f.rid === 7 && f.op === "pruned")).toBeDefined();
  }, 60_000);
});
