// The relay builds each live frame's text by hand (no JSON.stringify scan of
// the blob per frame); it must be byte-for-byte what JSON.stringify gives.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toB64 } from "../src/cwtch/bytes.js";
import { frameMessage, frameText, postedMessage, postedText } from "../src/cwtch/relay-connection.js";
import { copyAndDigest } from "../src/cwtch/relay-store.js";

describe("frameText", () => {
  it("equals JSON.stringify({ op, seq, tag, blob }) for any tag, seq and base64url blob, and frameMessage its UTF-8", () => {
    fc.assert(
      fc.property(fc.string(), fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.uint8Array({ maxLength: 2048 }), (tag, seq, bytes) => {
        const blob = toB64(bytes);
        expect(frameText(tag, seq, blob)).toBe(JSON.stringify({ op: "frame", seq, tag, blob }));
        // What the socket sends: those bytes, the text's UTF-8 (lone surrogates in a tag as the socket would encode them).
        expect(frameMessage(tag, seq, blob).equals(Buffer.from(JSON.stringify({ op: "frame", seq, tag, blob }), "utf8"))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("postedText equals JSON.stringify({ op, rid, seq, duplicate, ack })", () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.boolean(), fc.uint8Array({ minLength: 16, maxLength: 16 }), (rid, seq, duplicate, a) => {
        const ack = Buffer.from(a).toString("base64url");
        expect(postedText(rid, seq, duplicate, ack)).toBe(JSON.stringify({ op: "posted", rid, seq, duplicate, ack }));
        expect(postedMessage(rid, seq, duplicate, ack).equals(Buffer.from(JSON.stringify({ op: "posted", rid, seq, duplicate, ack }), "utf8"))).toBe(true);
      }),
    );
  });
});

describe("copyAndDigest", () => {
  it("digests tag ‖ NUL ‖ blob with SHA-256 into a 32-byte Buffer, and copies the blob", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/), fc.uint8Array({ maxLength: 2048 }), (tag, blob) => {
        const { copy, digest } = copyAndDigest(tag, blob);
        expect(Buffer.isBuffer(digest)).toBe(true);
        expect(digest.equals(createHash("sha256").update(tag).update("\0").update(blob).digest())).toBe(true);
        expect(Buffer.from(copy).equals(Buffer.from(blob))).toBe(true);
        if (blob.length > 0) expect(copy.buffer).not.toBe(blob.buffer);
      }),
      { numRuns: 300 },
    );
  });
});
