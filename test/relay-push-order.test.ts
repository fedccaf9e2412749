// Live frames and `posted` answers keep seq order (atk16): a post that had to
// evict awaited the eviction between storing and answering, so a later post
// that did not answered and was pushed first, and every subscriber saw seq
// S+1 before S (a reader resuming from the highest seq it saw would never
// fetch S). Two posts behind a ping in one TCP write, into a full store.
import { describe, expect, it } from "vitest";
import { relayFixture } from "./helpers/relay-fixture.js";
import { sendTogether, tagOf, type TestClient } from "./helpers/ws-client.js";

const { relay, client } = relayFixture({ powAdaptive: false, heartbeatMs: 0 });
const T = tagOf("the group");
const F = tagOf("filler");
const b64 = (n: number, id: number) => Buffer.alloc(n, id & 255).toString("base64url");


describe("relay: live frames in seq order", () => {
  it("when the first of two posts has to evict and the second does not", async () => {
    const r = await relay({ maxMessages: 10 });
    const all = await client(r);
    const tagged = await client(r);
    const poster = await client(r);
    all.ws.send(JSON.stringify({ op: "subscribe", rid: 1 }));
    tagged.ws.send(JSON.stringify({ op: "subscribe", rid: 1, tags: [T] }));
    await all.waitFor((f) => f.op === "subscribed");
    await tagged.waitFor((f) => f.op === "subscribed");
    for (let i = 0; i < 10; i++) poster.ws.send(JSON.stringify({ op: "post", rid: 100 + i, tag: F, blob: b64(8, i) }));
    await poster.waitFor((f) => f.op === "posted" && f.rid === 109);
    sendTogether(poster, [
      { op: "ping", rid: 1 },
      { op: "post", rid: 2, tag: T, blob: b64(8, 201) },
      { op: "post", rid: 3, tag: T, blob: b64(8, 202) },
    ]);
    const a2 = await poster.waitFor((f) => f.op === "posted" && f.rid === 2);
    const a3 = await poster.waitFor((f) => f.op === "posted" && f.rid === 3);
    expect(a3.seq).toBe((a2.seq as number) + 1);
    await all.waitFor((f) => f.op === "frame" && f.seq === a3.seq);
    await tagged.waitFor((f) => f.op === "frame" && f.seq === a3.seq);
    const seqs = (c: TestClient) => c.received.filter((f) => f.op === "frame" && f.tag === T).map((f) => f.seq);
    expect(seqs(all)).toEqual([a2.seq, a3.seq]);
    expect(seqs(tagged)).toEqual([a2.seq, a3.seq]);
    expect(poster.received.filter((f) => f.op === "posted" && (f.rid === 2 || f.rid === 3)).map((f) => f.rid)).toEqual([2, 3]);
  });
});
