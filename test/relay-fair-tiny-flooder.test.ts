// Fair eviction against one flooder posting tiny frames (atk16): its frames
// cost over 1 KiB each in the ranking, so it is by far the largest owner, but
// they stayed fresh by bytes (half the store's bytes not yet posted after
// them), and every eviction fell through to the oldest frame: the honest
// group's. An owner holding more than half the store now loses its own
// fresh frames first; an honest group keeps every frame.
import { describe, expect, it } from "vitest";
import { relayFixture } from "./helpers/relay-fixture.js";
import { sendTogether, tagOf } from "./helpers/ws-client.js";

const { relay, client } = relayFixture({ powAdaptive: false, heartbeatMs: 0 });


describe("relay: one flooder of tiny frames", () => {
  it("evicts its own frames, never the honest group's", async () => {
    const r = await relay({ maxBytes: 128 * 1024, postsPerSecond: 1e6, postBurst: 1e6, maxPendingPerConnection: 100_000 });
    const honest = await client(r);
    const flooder = await client(r);
    const T = tagOf("the honest group");
    // Ten frames of ~12,000 bytes: about 92% of the store's bytes.
    for (let i = 0; i < 10; i++) honest.ws.send(JSON.stringify({ op: "post", rid: i + 1, tag: T, blob: Buffer.alloc(12_000 - T.length, i).toString("base64url") }));
    await honest.waitFor((f) => f.op === "posted" && f.rid === 10);
    // 6,000 frames of 9 bytes each from one connection.
    const posts = Array.from({ length: 6000 }, (_, i) => ({ op: "post", rid: i + 1, tag: `f${i.toString(36).padStart(7, "0")}`, blob: "AA" }));
    for (let i = 0; i < posts.length; i += 500) sendTogether(flooder, posts.slice(i, i + 500));
    await flooder.waitFor((f) => f.op === "posted" && f.rid === 6000, 30_000);
    expect(flooder.received.filter((f) => f.op === "error")).toEqual([]);
    const reader = await client(r);
    reader.ws.send(JSON.stringify({ op: "fetch", rid: 1, since: 0 }));
    await reader.waitFor((f) => f.op === "caught-up" && f.rid === 1, 30_000);
    const frames = reader.received.filter((f) => f.op === "frame");
    expect(frames.filter((f) => f.tag === T)).toHaveLength(10);
    // The flooder lost frames of its own to make room.
    expect(frames.filter((f) => f.tag !== T).length).toBeLessThan(6000);
  }, 60_000);
});
