// What the memory relay store keeps alive per frame beyond what it accounts
// for. A post's tag reaches the store as a slice of the message it came in
// (parsePostFast), and V8 keeps such a slice as a view of its whole parent:
// a store holding that string with each frame held every post's full text
// too, unbounded by maxBytes (which counts tag + blob).
import { randomBytes } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { MemoryRelayStore } from "../src/cwtch/relay-memory-store.js";
import { parsePostFast } from "../src/cwtch/relay-post-fast.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe("memory relay store: memory held per frame", () => {
  it("does not keep the message text a frame's tag was sliced from", () => {
    const s = new MemoryRelayStore();
    const n = 200;
    const textChars = 64 * 1024;
    // One ~64 KiB text per frame, flat (decoded at once, as a socket's message is);
    // half the frames share one tag, half bring a tag new to the store.
    const shared = randomBytes(16).toString("base64url");
    const before = heapAfterGc();
    for (let i = 0; i < n; i++) {
      const text = randomBytes((textChars * 3) / 4).toString("base64url");
      const tag = i % 2 ? text.slice(1000, 1022) : (shared + text).slice(0, shared.length);
      s.appendNow(tag, randomBytes(32), 1, "o");
    }
    const grown = heapAfterGc() - before;
    // Holding the texts would be n × 64 Ki characters (12.8 MB); the frames alone are well under 1 MB.
    expect(grown).toBeLessThan((n * textChars) / 8);
  });

  it("holds a tag equal to the one posted, from the fast path too", async () => {
    const s = new MemoryRelayStore();
    const tag = randomBytes(16).toString("base64url");
    const text = JSON.stringify({ op: "post", rid: 1, tag, blob: randomBytes(64).toString("base64url") });
    const p = parsePostFast(text, 1000)!;
    s.appendNow(p.frame.tag, p.bytes.blob, 1, "o", p.bytes.digest());
    const [f] = await s.range(0, new Set([tag]), 10);
    expect(f?.tag).toBe(tag);
    expect(Buffer.from(f!.blob).equals(p.bytes.blob)).toBe(true);
  });
});
