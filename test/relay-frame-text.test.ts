// The relay builds each live frame's text by hand (no JSON.stringify scan of
// the blob per frame); it must be byte-for-byte what JSON.stringify gives.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toB64 } from "../src/cwtch/bytes.js";
import * as wsModule from "ws";
import { frameText, frameWire, postedText, postedWire } from "../src/cwtch/relay-connection.js";
import { wirePayload } from "../src/cwtch/relay-wire.js";
import { copyAndDigest } from "../src/cwtch/relay-store.js";

// ws's framing (untyped in @types/ws): what ws.send writes for a message.
const { Sender } = wsModule as unknown as { Sender: { frame(data: Buffer, o: Record<string, unknown>): Buffer[] } };

/** The bytes ws puts on the socket for `text` sent from a server (unmasked, one frame, no extension). */
function wsFrame(text: string): Buffer {
  return Buffer.concat(Sender.frame(Buffer.from(text, "utf8"), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));
}

describe("frameText", () => {
  it("equals JSON.stringify({ op, seq, tag, blob }) for any tag, seq and base64url blob, and frameWire ws's frame of it", () => {
    fc.assert(
      fc.property(fc.string(), fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.uint8Array({ maxLength: 2048 }), (tag, seq, bytes) => {
        const blob = toB64(bytes);
        expect(frameText(tag, seq, blob)).toBe(JSON.stringify({ op: "frame", seq, tag, blob }));
        // What the socket sends: ws's own frame of that text.
        expect(frameWire(tag, seq, blob).equals(wsFrame(JSON.stringify({ op: "frame", seq, tag, blob })))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("postedText equals JSON.stringify({ op, rid, seq, duplicate, ack })", () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.boolean(), fc.uint8Array({ minLength: 16, maxLength: 16 }), (rid, seq, duplicate, a) => {
        const ack = Buffer.from(a).toString("base64url");
        expect(postedText(rid, seq, duplicate, ack)).toBe(JSON.stringify({ op: "posted", rid, seq, duplicate, ack }));
        expect(postedWire(rid, seq, duplicate, ack).equals(wsFrame(JSON.stringify({ op: "posted", rid, seq, duplicate, ack })))).toBe(true);
      }),
    );
  });
});

describe("whole frames (relay-wire.ts)", () => {
  it("frame a text of each header size as ws does, and give back its payload", () => {
    const blob = (n: number) => Buffer.alloc(n, 0x41).toString("base64url");
    for (const n of [0, 1, 60, 95, 96, 200, 49_000, 49_200, 60_000, 120_000]) {
      const b = blob(n);
      const wire = frameWire("t", n, b);
      const text = frameText("t", n, b);
      expect(wire.equals(wsFrame(text))).toBe(true);
      expect(wirePayload(wire).toString("utf8")).toBe(text);
    }
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
