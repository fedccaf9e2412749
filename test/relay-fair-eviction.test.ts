// Fair eviction in the memory relay store against owners that cost nothing to
// multiply (attack atk6 of the last stop: 40 one-frame connections made an
// honest large frame "the largest owner", so it was refused or evicted at once).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MemoryRelayStore } from "../src/cwtch/relay-memory-store.js";
import { ownerOf } from "../src/cwtch/relay-owner.js";
import type { EvictBounds } from "../src/cwtch/relay-store.js";

const T = "t".repeat(16);
const bounds = (maxBytes: number, maxMessages = 1_000_000): EvictBounds => ({ maxBytes, maxMessages, olderThan: 0 });
let n = 0;
const blob = (size: number) => {
  const b = Buffer.alloc(size, 7);
  b.writeUInt32BE(++n, 0); // distinct, or the store takes it as a duplicate
  return b;
};

async function post(s: MemoryRelayStore, b: EvictBounds, size: number, owner: string): Promise<number> {
  const { seq } = await s.append(T, blob(size), 1, owner);
  await s.evict(b);
  return seq;
}

describe("memory relay store: fair eviction cannot be turned against an honest poster", () => {
  it("holds a large honest frame posted into a store that many one-frame owners fill", async () => {
    const s = new MemoryRelayStore();
    const b = bounds(200_000);
    const sybils: number[] = [];
    for (let i = 0; i < 40; i++) sybils.push(await post(s, b, 5_000 - T.length, `sybil${i}`));
    const honest = await post(s, b, 60_000, "honest");
    expect(s.holds(honest)).toBe(true);
    expect((await s.stats()).bytes).toBeLessThanOrEqual(200_000);
    // What made room were the oldest settled frames, not the newest.
    expect(sybils.filter((q) => !s.holds(q)).length).toBeGreaterThan(0);
    expect(s.holds(sybils.at(-1)!)).toBe(true);
  });

  it("keeps an honest frame while less than half the store is posted after it, by however many owners", async () => {
    const s = new MemoryRelayStore();
    const b = bounds(200_000);
    for (let i = 0; i < 40; i++) await post(s, b, 4_500, `filler${i}`);
    const honest = await post(s, b, 30_000, "honest");
    let after = 0;
    for (let i = 0; after + 4_500 + T.length < 100_000; i++) {
      await post(s, b, 4_500, `sybil${i}`);
      after += 4_500 + T.length;
      expect(s.holds(honest), `after ${after} bytes from ${i + 1} new owners`).toBe(true);
    }
  });

  it("still takes a single flooder's settled frames before an honest owner's older ones", async () => {
    const s = new MemoryRelayStore();
    const b = bounds(100_000);
    const mine: number[] = [];
    for (let i = 0; i < 10; i++) mine.push(await post(s, b, 500, "honest"));
    for (let i = 0; i < 2_000; i++) await post(s, b, 1_000, "flooder");
    expect(mine.every((q) => s.holds(q))).toBe(true);
    expect((await s.stats()).evictedThrough).toBeGreaterThan(mine.at(-1)!);
  });

  it("ranks owners by all they hold under the count bound: one flooder's frames go first, fresh or not", async () => {
    const s = new MemoryRelayStore();
    const b = bounds(1 << 30, 100);
    const mine: number[] = [];
    for (let i = 0; i < 40; i++) mine.push(await post(s, b, 100, "honest"));
    for (let i = 0; i < 300; i++) await post(s, b, 100, "flooder");
    expect(mine.filter((q) => s.holds(q))).toEqual(mine);
  });

  it("counts frames, not bytes, when the count bound breaks: a flood of tiny frames does not evict an owner of large ones", async () => {
    const s = new MemoryRelayStore();
    const b = bounds(64 << 20, 1_000);
    const mine: number[] = [];
    for (let i = 0; i < 100; i++) mine.push(await post(s, b, 20_000, "honest"));
    for (let i = 0; i < 5_000; i++) await post(s, b, 4, "flooder");
    expect(mine.filter((q) => s.holds(q)).length).toBe(100);
  });

  it("a one-frame store (maxMessages 1) keeps the newest frame, not an earlier poster's", async () => {
    const s = new MemoryRelayStore();
    const b = bounds(1 << 30, 1);
    const theirs = await post(s, b, 4, "attacker");
    for (let i = 0; i < 5; i++) {
      const seq = await post(s, b, 500, "honest");
      expect(s.holds(seq)).toBe(true);
    }
    expect(s.holds(theirs)).toBe(false);
  });

  it("property: a fetch of some tags (the per-tag index) returns exactly what a walk of the whole store would", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ tag: fc.integer({ min: 0, max: 5 }), size: fc.integer({ min: 4, max: 400 }), owner: fc.integer({ min: 0, max: 4 }) }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 3, max: 40 }),
        fc.subarray([0, 1, 2, 3, 4, 5, 9], { minLength: 1 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 50 }),
        async (posts, maxMessages, asked, since, limit) => {
          const s = new MemoryRelayStore();
          const b = bounds(6_000, maxMessages);
          for (const p of posts) {
            await s.append(`tag${p.tag}`, blob(p.size), 1, `o${p.owner}`);
            await s.evict(b);
          }
          const tags = new Set(asked.map((t) => `tag${t}`));
          const walked = (await s.range(since, null, Number.MAX_SAFE_INTEGER)).filter((f) => tags.has(f.tag)).slice(0, limit);
          expect((await s.range(since, tags, limit)).map((f) => f.seq)).toEqual(walked.map((f) => f.seq));
        },
      ),
      { numRuns: 80 },
    );
  });

  it("property: the newest frame is always held, the bounds hold, and no frame goes before half the store was posted after it unless its owner held more than half the store", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2_000, max: 40_000 }),
        fc.integer({ min: 4, max: 60 }),
        fc.array(fc.record({ size: fc.integer({ min: 4, max: 900 }), owner: fc.integer({ min: 0, max: 30 }) }), { minLength: 1, maxLength: 300 }),
        async (maxBytes, maxMessages, posts) => {
          const s = new MemoryRelayStore();
          const b = bounds(maxBytes, maxMessages);
          const at = new Map<number, { bytes: number; frames: number; owner: number; size: number }>();
          let bytes = 0;
          let frames = 0;
          // What each owner holds (frames, and bytes with the store's 1 KiB a frame), and the store in all.
          const cost = (size: number) => size + T.length + 1024;
          const holding = (owner: number | null) => {
            let n = 0;
            let c = 0;
            for (const f of at.values()) if (owner === null || f.owner === owner) (n++, (c += cost(f.size)));
            return { n, c };
          };
          for (const p of posts) {
            const seq = await post(s, b, p.size, `o${p.owner}`);
            bytes += p.size + T.length;
            frames++;
            at.set(seq, { bytes, frames, owner: p.owner, size: p.size });
            // Each owner's holding with this post in, before its evictions: the most it held during them.
            const before = new Map<number, { n: number; c: number }>();
            for (const f of at.values()) if (!before.has(f.owner)) before.set(f.owner, holding(f.owner));
            expect(s.holds(seq)).toBe(true);
            const st = await s.stats();
            expect(st.bytes).toBeLessThanOrEqual(maxBytes);
            expect(st.count).toBeLessThanOrEqual(maxMessages);
            const gone: Array<[number, { bytes: number; frames: number; owner: number; size: number }]> = [];
            for (const [q, mark] of at) if (!s.holds(q)) gone.push([q, mark]);
            for (const [q] of gone) at.delete(q);
            const after = holding(null);
            for (const [q, mark] of gone) {
              const settled = bytes - mark.bytes >= Math.floor(maxBytes / 2) || frames - mark.frames >= Math.floor(maxMessages / 2);
              if (settled) continue;
              // Fresh, so its owner held more than half the store when it went: at most what it held before
              // this post's evictions, of at least what the store holds after them plus the frame itself.
              const o = before.get(mark.owner)!;
              const half = 2 * o.n > after.n + 1 || 2 * o.c > after.c + cost(mark.size);
              expect(half, `seq ${q} (owner o${mark.owner}, holding ${o.n} frames / ${o.c}) evicted with ${bytes - mark.bytes} bytes / ${frames - mark.frames} frames after it`).toBe(true);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("the owner a relay charges", () => {
  it("is the connection over loopback (Tor, tests) and the address otherwise; an IPv6 client is its /64", () => {
    expect(ownerOf("127.0.0.1", "c1")).toBe("c1");
    expect(ownerOf("::1", "c2")).toBe("c2");
    expect(ownerOf("::ffff:127.0.0.1", "c3")).toBe("c3");
    expect(ownerOf(undefined, "c4")).toBe("c4");
    expect(ownerOf("203.0.113.9", "c5")).toBe(ownerOf("203.0.113.9", "c6"));
    expect(ownerOf("::ffff:203.0.113.9", "c7")).toBe("203.0.113.9");
    expect(ownerOf("2001:db8:1:2::5", "a")).toBe(ownerOf("2001:0db8:0001:0002:ffff::1", "b"));
    expect(ownerOf("2001:db8:1:2::5", "a")).not.toBe(ownerOf("2001:db8:1:3::5", "a"));
  });
});
