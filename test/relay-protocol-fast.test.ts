// The relay's fast paths for posts must accept and refuse exactly what the
// generic ones do: PostBytes (decode straight into the post's own buffer,
// hashes over slices of it) against fromB64Canonical, frameDigest and postAck.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromB64Canonical } from "../src/cwtch/bytes.js";
import { PostBytes } from "../src/cwtch/relay-post-bytes.js";
import { postAck } from "../src/cwtch/relay-protocol.js";
import { frameDigest } from "../src/cwtch/relay-store.js";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** What a blob's text may hold besides its alphabet, as clients (or attackers) spell it. */
const ODD = ["=", "==", "+", "/", "\\", '"', " ", "\n", "\t", "\r", "\u0000", "\u001f", ".", "é", "Ł", "İ", "\u2028", "\ud800", "\\u0041", "A=", "~"];

/** Strings near base64url: canonical blobs, with a few odd characters put in, or cut short. */
const nearB64 = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString("base64url")),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString("base64")),
  fc.tuple(fc.uint8Array({ maxLength: 64 }), fc.array(fc.tuple(fc.nat(), fc.constantFrom(...ODD)), { maxLength: 3 })).map(([b, odd]) => {
    let s = Buffer.from(b).toString("base64url");
    for (const [at, c] of odd) s = s.slice(0, at % (s.length + 1)) + c + s.slice(at % (s.length + 1));
    return s;
  }),
  fc.string({ unit: fc.constantFrom(...ALPHABET.split(""), ...ODD), maxLength: 24 }),
);

describe("PostBytes", () => {
  it("decodes exactly the strings fromB64Canonical decodes, to the same bytes", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), nearB64, (tag, s) => {
        const want = fromB64Canonical(s);
        const got = PostBytes.decode(tag, s);
        if (want === null) expect(got).toBeNull();
        else expect(got && Buffer.from(got.blob).equals(want)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("digest is frameDigest and ack(seq) is postAck, for any seq, however often asked", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.uint8Array({ maxLength: 2048 }), fc.array(fc.nat({ max: Number.MAX_SAFE_INTEGER }), { minLength: 1, maxLength: 3 }), (tag, bytes, seqs) => {
        const p = PostBytes.decode(tag, Buffer.from(bytes).toString("base64url"))!;
        expect(p.digest().equals(frameDigest(tag, bytes))).toBe(true);
        for (const seq of seqs) expect(p.ack(seq)).toBe(postAck(seq, tag, bytes));
        expect(p.digest().equals(frameDigest(tag, bytes))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("its blob is its own: not a view into a pooled buffer other allocations share", () => {
    const p = PostBytes.decode("t", Buffer.from("hello").toString("base64url"))!;
    expect(p.blob.buffer.byteLength).toBeLessThan(64 + 5);
  });
});
