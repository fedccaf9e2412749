// A post reaches the store one of two ways (relay-connection.ts): at once,
// within its message event, when the store answers without I/O and nothing
// earlier is outstanding; or chained behind earlier requests. Both must give
// the same answers in the same order: seqs by arrival, duplicates named,
// acks that bind, and a fetch that sees every post sent before it. The
// memory store takes the first way; the same store with appendNow/evictNow
// hidden (as a store with I/O would be) takes the second.
import { afterEach, describe, expect, it } from "vitest";
import { MemoryRelayStore } from "../src/cwtch/relay-memory-store.js";
import { postAck } from "../src/cwtch/relay-protocol.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import type { RelayStore } from "../src/cwtch/relay-store.js";
import { tagOf, TestClient, type Frame } from "./helpers/ws-client.js";

/** The memory store as a store that must be waited for: only the Promise methods. */
function awaited(m: MemoryRelayStore): RelayStore {
  return {
    instance: m.instance,
    append: (...a) => m.append(...a),
    range: (...a) => m.range(...a),
    evict: (b) => m.evict(b),
    evictedThroughFor: (t) => m.evictedThroughFor(t),
    holds: (s) => m.holds(s),
    needsEviction: (b) => m.needsEviction(b),
    stats: () => m.stats(),
    close: () => m.close(),
  };
}

let relay: RelayServer | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

async function scenario(store: RelayStore): Promise<{ answers: Frame[]; fetched: Frame[]; blobs: Buffer[] }> {
  relay = await startRelay({ store, maxMessages: 6, postsPerSecond: 1e6, postBurst: 1e6, requestsPerSecond: 1e6, requestBurst: 1e6, heartbeatMs: 0, powAdaptive: false });
  const c = await TestClient.connect(relay.url);
  const tag = tagOf("paths");
  const blobs = Array.from({ length: 8 }, (_, i) => Buffer.from(`frame ${i}`));
  // Sent together, without waiting: posts, a repeat, a fetch between them, posts after it.
  const rids: number[] = [];
  const send = (f: Record<string, unknown>) => {
    const rid = c.nextRid();
    rids.push(rid);
    c.sendRaw(JSON.stringify({ ...f, rid }));
  };
  for (const b of blobs.slice(0, 4)) send({ op: "post", tag, blob: b.toString("base64url") });
  send({ op: "post", tag, blob: blobs[1]!.toString("base64url") });
  send({ op: "fetch", tags: [tag] });
  for (const b of blobs.slice(4)) send({ op: "post", tag, blob: b.toString("base64url") });
  const answers = await Promise.all(rids.map((rid) => c.waitFor((f) => f.rid === rid && ["posted", "caught-up", "error"].includes(f.op))));
  const fetchRid = rids[5]!;
  const fetched = c.received.filter((f) => f.rid === fetchRid);
  c.ws.close();
  return { answers, fetched, blobs };
}

describe("a post handled at once and a post chained behind others", () => {
  for (const [name, make] of [
    ["at once (memory store)", () => new MemoryRelayStore()],
    ["chained (a store to wait for)", () => awaited(new MemoryRelayStore())],
  ] as const) {
    it(`${name}: seqs by arrival, the repeat named a duplicate, acks bind, the fetch sees the posts before it, eviction keeps the bounds`, async () => {
      const { answers, fetched, blobs } = await scenario(make());
      const posted = answers.filter((a) => a.op === "posted");
      expect(answers.map((a) => a.op)).toEqual(["posted", "posted", "posted", "posted", "posted", "caught-up", "posted", "posted", "posted", "posted"]);
      expect(posted.map((a) => a.seq)).toEqual([1, 2, 3, 4, 2, 5, 6, 7, 8]);
      expect(posted.map((a) => a.duplicate)).toEqual([false, false, false, false, true, false, false, false, false]);
      const order = [0, 1, 2, 3, 1, 4, 5, 6, 7];
      posted.forEach((a, i) => expect(a.ack).toBe(postAck(a.seq, tagOf("paths"), blobs[order[i]!]!)));
      expect(fetched.filter((f) => f.op === "frame").map((f) => f.seq)).toEqual([1, 2, 3, 4]);
      expect(fetched.at(-1)).toMatchObject({ op: "caught-up", latest: 4 });
      const st = await relay!.store.stats();
      expect(st).toMatchObject({ count: 6, latest: 8 });
    });
  }
});
