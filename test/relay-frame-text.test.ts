// The relay builds each live frame's text by hand (no JSON.stringify scan of
// the blob per frame); it must be byte-for-byte what JSON.stringify gives.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toB64 } from "../src/cwtch/bytes.js";
import { frameText, postedText } from "../src/cwtch/relay-connection.js";

describe("frameText", () => {
  it("equals JSON.stringify({ op, seq, tag, blob }) for any tag, seq and base64url blob", () => {
    fc.assert(
      fc.property(fc.string(), fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.uint8Array({ maxLength: 2048 }), (tag, seq, bytes) => {
        const blob = toB64(bytes);
        expect(frameText(tag, seq, blob)).toBe(JSON.stringify({ op: "frame", seq, tag, blob }));
      }),
      { numRuns: 500 },
    );
  });

  it("postedText equals JSON.stringify({ op, rid, seq, duplicate })", () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.boolean(), (rid, seq, duplicate) => {
        expect(postedText(rid, seq, duplicate)).toBe(JSON.stringify({ op: "posted", rid, seq, duplicate }));
      }),
    );
  });
});
