import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromB64Canonical, toB64 } from "../src/cwtch/bytes.js";

describe("fromB64Canonical", () => {
  it("accepts exactly the canonical spelling of some bytes", () => {
    const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=!+/ .".split("");
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...chars), { maxLength: 40 }), (cs) => {
        const s = cs.join("");
        const d = fromB64Canonical(s);
        // Accepted ⇔ re-encoding gives the very same string.
        const canonical = (() => {
          const b = Buffer.from(s, "base64url");
          return toB64(b) === s && /^[A-Za-z0-9_-]*$/.test(s);
        })();
        expect(d !== null).toBe(canonical);
        if (d) expect(toB64(d)).toBe(s);
      }),
      { numRuns: 5000, seed: 7 },
    );
  });

  it("round-trips random bytes of every length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(Buffer.compare(fromB64Canonical(toB64(b))!, Buffer.from(b))).toBe(0);
      }),
      { numRuns: 2000, seed: 8 },
    );
  });
});
