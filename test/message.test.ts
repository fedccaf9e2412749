// Canonical encoding of signed messages: round trips, every structural fault
// is a DecodeError (even when correctly signed), every single-bit flip is
// rejected, and random fields survive encode → decode unchanged.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { concat, toHex, utf8 } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto, type SignKeyPair } from "../src/cwtch/crypto.js";
import {
  DecodeError,
  decodeAndVerify,
  EncodeError,
  MAX_BODY_BYTES,
  MAX_DEPS,
  signControl,
  signEvent,
  sortDeps,
  type ControlFields,
  type EventFields,
  type SignedControl,
  type SignedEvent,
} from "../src/cwtch/message.js";

let crypto: Crypto;
let A: SignKeyPair;
let B: SignKeyPair;
const SIG_DOMAIN = utf8.encode("pursuance/msg/v1\0");
const group = new Uint8Array(32).fill(0x47);
const h = (b: number) => new Uint8Array(32).fill(b);

// Field offsets (README): event
const OFF = { kind: 0, version: 1, group: 2, epoch: 34, author: 38, seq: 70, prev: 74, ts: 106, ndeps: 114, deps: 116 };
// control
const COFF = { ts: 70, ctype: 78, len: 79, payload: 83 };

beforeAll(async () => {
  crypto = await loadCrypto();
  A = crypto.signKeyPair(new Uint8Array(32).fill(1));
  B = crypto.signKeyPair(new Uint8Array(32).fill(2));
});

function ev(over: Partial<EventFields> = {}): SignedEvent {
  return signEvent(
    crypto,
    { group, epoch: 3, author: A.publicKey, seq: 2, prev: h(0x99), ts: 1_700_000_000_123, deps: [h(0x30), h(0x10), h(0x20)], body: utf8.encode("body!"), ...over },
    A.secretKey,
  );
}
function ctl(over: Partial<ControlFields> = {}): SignedControl {
  return signControl(
    crypto,
    { group, epoch: 3, author: A.publicKey, ts: 1_700_000_000_456, ctype: "want", payload: utf8.encode('{"ids":[]}'), ...over },
    A.secretKey,
  );
}
/** Re-sign a hand-edited encoding (sig dropped and recomputed), so only structure can reject it. */
function resign(withoutSig: Uint8Array, kp: SignKeyPair = A): Uint8Array {
  return concat(withoutSig, crypto.sign(concat(SIG_DOMAIN, withoutSig), kp.secretKey));
}
function unsigned(m: { bytes: Uint8Array }): Uint8Array {
  return m.bytes.slice(0, m.bytes.length - 64);
}
function put32(b: Uint8Array, off: number, v: number) {
  new DataView(b.buffer, b.byteOffset).setUint32(off, v);
}
function put16(b: Uint8Array, off: number, v: number) {
  new DataView(b.buffer, b.byteOffset).setUint16(off, v);
}
function decodeErr(b: Uint8Array): DecodeError {
  try {
    decodeAndVerify(crypto, b);
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return e as DecodeError;
  }
  throw new Error("expected DecodeError, decode succeeded");
}

describe("round trip", () => {
  it("event: every field, deps sorted, id = BLAKE2b-256(bytes)", () => {
    const e = ev();
    expect(e.bytes.length).toBe(116 + 3 * 32 + 4 + 5 + 64);
    expect(e.deps.map((d) => d[0])).toEqual([0x10, 0x20, 0x30]);
    const d = decodeAndVerify(crypto, e.bytes);
    expect(d).not.toBeNull();
    if (!d || d.kind !== "event") throw new Error("kind");
    expect(toHex(d.group)).toBe(toHex(group));
    expect(d.epoch).toBe(3);
    expect(toHex(d.author)).toBe(toHex(A.publicKey));
    expect(d.seq).toBe(2);
    expect(toHex(d.prev)).toBe("99".repeat(32));
    expect(d.ts).toBe(1_700_000_000_123);
    expect(d.deps.map(toHex)).toEqual(["10", "20", "30"].map((x) => x.repeat(32)));
    expect(utf8.decode(d.body)).toBe("body!");
    expect(toHex(d.sig)).toBe(toHex(e.sig));
    expect(toHex(d.id)).toBe(toHex(e.id));
    expect(toHex(d.id)).toBe(toHex(crypto.hash(e.bytes, 32)));
    expect(d.bytes).toEqual(e.bytes);
  });

  it("event: seq 1, no deps, empty body; duplicate deps collapse", () => {
    const e = ev({ seq: 1, prev: new Uint8Array(32), deps: [], body: new Uint8Array(0) });
    expect(e.bytes.length).toBe(116 + 4 + 64);
    const d = decodeAndVerify(crypto, e.bytes);
    expect(d?.kind === "event" && d.seq === 1 && d.body.length === 0 && d.deps.length === 0).toBe(true);
    const dup = ev({ deps: [h(5), h(5), h(4)] });
    expect(dup.deps.map((x) => x[0])).toEqual([4, 5]);
    expect(toHex(dup.bytes.subarray(OFF.ndeps, OFF.ndeps + 2))).toBe("0002");
    expect(decodeAndVerify(crypto, dup.bytes)).not.toBeNull();
  });

  it("event: deps order given does not change the bytes", () => {
    expect(toHex(ev({ deps: [h(3), h(1), h(2)] }).bytes)).toBe(toHex(ev({ deps: [h(1), h(2), h(3)] }).bytes));
  });

  it("event: limits exactly at the maximum", () => {
    const deps = Array.from({ length: MAX_DEPS }, (_, i) => h(i + 1));
    const e = ev({ deps, body: new Uint8Array(MAX_BODY_BYTES).fill(0xab) });
    const d = decodeAndVerify(crypto, e.bytes);
    expect(d?.kind === "event" && d.deps.length === MAX_DEPS && d.body.length === MAX_BODY_BYTES).toBe(true);
    const big = ev({ ts: Number.MAX_SAFE_INTEGER, seq: 0xffffffff, epoch: 0xffffffff });
    const d2 = decodeAndVerify(crypto, big.bytes);
    expect(d2?.ts).toBe(Number.MAX_SAFE_INTEGER);
    expect(d2?.epoch).toBe(0xffffffff);
  });

  it("control: both types", () => {
    for (const ctype of ["want", "heads"] as const) {
      const c = ctl({ ctype, payload: utf8.encode(`{"${ctype}":1}`) });
      expect(c.bytes[COFF.ctype]).toBe(ctype === "want" ? 1 : 2);
      const d = decodeAndVerify(crypto, c.bytes);
      expect(d).not.toBeNull();
      if (!d || d.kind !== "control") throw new Error("kind");
      expect(d.ctype).toBe(ctype);
      expect(utf8.decode(d.payload)).toBe(`{"${ctype}":1}`);
      expect(d.ts).toBe(1_700_000_000_456);
      expect(d.epoch).toBe(3);
      expect(toHex(d.sig)).toBe(toHex(c.sig));
    }
  });

  it("a signature by another key → null, not a throw", () => {
    const u = unsigned(ev());
    expect(decodeAndVerify(crypto, resign(u, B))).toBeNull();
    expect(decodeAndVerify(crypto, resign(unsigned(ctl()), B))).toBeNull();
    // Sign the event bytes without the domain separator: also rejected.
    expect(decodeAndVerify(crypto, concat(u, crypto.sign(u, A.secretKey)))).toBeNull();
  });
});

describe("encode rejects bad fields (EncodeError)", () => {
  it.each<[string, Partial<EventFields>]>([
    ["seq 0", { seq: 0, prev: new Uint8Array(32) }],
    ["seq 1 with prev", { seq: 1, prev: h(1) }],
    ["seq 2 with zero prev", { seq: 2, prev: new Uint8Array(32) }],
    ["negative epoch", { epoch: -1 }],
    ["epoch over u32", { epoch: 2 ** 32 }],
    ["seq over u32", { seq: 2 ** 32 }],
    ["fractional ts", { ts: 1.5 }],
    ["ts over 2^53", { ts: 2 ** 53 }],
    ["short group", { group: new Uint8Array(31) }],
    ["short author", { author: new Uint8Array(31) }],
    ["long prev", { prev: new Uint8Array(33).fill(1) }],
    ["short dep", { deps: [new Uint8Array(31)] }],
    ["too many deps", { deps: Array.from({ length: MAX_DEPS + 1 }, (_, i) => h(i)) }],
    ["body too long", { body: new Uint8Array(MAX_BODY_BYTES + 1) }],
  ])("%s", (_n, over) => {
    expect(() => ev(over)).toThrow(EncodeError);
  });

  it("control: unknown ctype (including prototype names), payload too long", () => {
    expect(() => ctl({ ctype: "nope" as never })).toThrow(EncodeError);
    expect(() => ctl({ ctype: "toString" as never })).toThrow(EncodeError);
    expect(() => ctl({ payload: new Uint8Array(MAX_BODY_BYTES + 1) })).toThrow(EncodeError);
  });

  it("sortDeps sorts bytewise and dedups", () => {
    const s = sortDeps([h(0xff), h(0x01), h(0x80), h(0x01)]);
    expect(s.map((d) => d[0])).toEqual([0x01, 0x80, 0xff]);
  });
});

describe("structural faults → DecodeError (even when correctly signed)", () => {
  it("truncation at every length", () => {
    for (const m of [ev(), ev({ seq: 1, prev: new Uint8Array(32), deps: [] }), ctl()]) {
      for (let n = 0; n < m.bytes.length; n++) decodeErr(m.bytes.subarray(0, n));
    }
  });

  it("trailing bytes", () => {
    for (const m of [ev(), ctl()]) {
      for (const extra of [Uint8Array.of(0), Uint8Array.of(1, 2, 3), new Uint8Array(64)]) {
        expect(decodeErr(concat(m.bytes, extra)).message).toMatch(/trailing/);
      }
    }
  });

  it("bad version", () => {
    for (const v of [0, 2, 0xff]) {
      for (const m of [ev(), ctl()]) {
        const u = unsigned(m);
        u[OFF.version] = v;
        expect(decodeErr(resign(u)).message).toMatch(/version/);
      }
    }
  });

  it("unknown kind", () => {
    for (const k of [0, 3, 0x80, 0xff]) {
      const u = unsigned(ev());
      u[OFF.kind] = k;
      expect(decodeErr(resign(u)).message).toMatch(/kind/);
    }
  });

  it("unknown control type", () => {
    for (const t of [0, 3, 0xff]) {
      const u = unsigned(ctl());
      u[COFF.ctype] = t;
      expect(decodeErr(resign(u)).message).toMatch(/control type/);
    }
  });

  it("unsorted and duplicate deps", () => {
    const base = unsigned(ev());
    // swap first two deps → descending pair
    const u = Uint8Array.from(base);
    u.set(base.subarray(OFF.deps + 32, OFF.deps + 64), OFF.deps);
    u.set(base.subarray(OFF.deps, OFF.deps + 32), OFF.deps + 32);
    expect(decodeErr(resign(u)).message).toMatch(/ascending/);
    const d = Uint8Array.from(base);
    d.set(base.subarray(OFF.deps, OFF.deps + 32), OFF.deps + 32); // dep[1] = dep[0]
    expect(decodeErr(resign(d)).message).toMatch(/ascending/);
  });

  it("more than MAX_DEPS deps", () => {
    const e = ev({ deps: [] });
    const u = unsigned(e);
    const n = MAX_DEPS + 1;
    const deps = Array.from({ length: n }, (_, i) => h(i + 1));
    const built = concat(u.subarray(0, OFF.ndeps), Uint8Array.of(0, n), ...deps, u.subarray(OFF.ndeps + 2));
    expect(decodeErr(resign(built)).message).toMatch(/too many deps/);
  });

  it("seq 0", () => {
    const u = unsigned(ev({ seq: 1, prev: new Uint8Array(32) }));
    put32(u, OFF.seq, 0);
    expect(decodeErr(resign(u)).message).toMatch(/seq 0/);
  });

  it("non-zero prev at seq 1, zero prev at seq > 1", () => {
    const a = unsigned(ev({ seq: 1, prev: new Uint8Array(32) }));
    a[OFF.prev + 31] = 1;
    expect(decodeErr(resign(a)).message).toMatch(/prev/);
    const b = unsigned(ev({ seq: 7, prev: h(1) }));
    b.fill(0, OFF.prev, OFF.prev + 32);
    expect(decodeErr(resign(b)).message).toMatch(/prev/);
  });

  it("ts beyond 2^53", () => {
    const u = unsigned(ev());
    new DataView(u.buffer).setBigUint64(OFF.ts, 2n ** 53n);
    expect(decodeErr(resign(u)).message).toMatch(/2\^53/);
    const c = unsigned(ctl());
    new DataView(c.buffer).setBigUint64(COFF.ts, 2n ** 64n - 1n);
    expect(decodeErr(resign(c)).message).toMatch(/2\^53/);
  });

  it("oversize body/payload length field", () => {
    const e = ev({ deps: [] });
    const u = unsigned(e);
    const lenAt = OFF.deps;
    put32(u, lenAt, MAX_BODY_BYTES + 1);
    expect(decodeErr(resign(u)).message).toMatch(/body too long/);
    put32(u, lenAt, 0xffffffff);
    expect(decodeErr(resign(u)).message).toMatch(/body too long/);
    // A length within the limit but past the end is truncation.
    put32(u, lenAt, MAX_BODY_BYTES);
    expect(decodeErr(resign(u)).message).toMatch(/truncated/);
    const c = unsigned(ctl());
    put32(c, COFF.len, MAX_BODY_BYTES + 1);
    expect(decodeErr(resign(c)).message).toMatch(/payload too long/);
  });

  it("ndeps larger than present → truncated", () => {
    const u = unsigned(ev());
    put16(u, OFF.ndeps, 10);
    decodeErr(resign(u));
  });
});

describe("single-bit flips", () => {
  function flipAll(bytes: Uint8Array, original: string) {
    let decodeErrors = 0;
    let badSigs = 0;
    for (let i = 0; i < bytes.length * 8; i++) {
      const b = Uint8Array.from(bytes);
      b[i >> 3]! ^= 1 << (i & 7);
      let r: ReturnType<typeof decodeAndVerify>;
      try {
        r = decodeAndVerify(crypto, b);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw new Error(`bit ${i}: non-DecodeError ${String(e)}`);
        decodeErrors++;
        continue;
      }
      if (r !== null) throw new Error(`bit ${i}: flipped message accepted (${toHex(r.bytes) === original ? "same" : "different"})`);
      badSigs++;
    }
    return { decodeErrors, badSigs };
  }

  it("event: every flip throws DecodeError or fails the signature", () => {
    const e = ev({ body: utf8.encode("a longer body to flip bits in") });
    const { decodeErrors, badSigs } = flipAll(e.bytes, toHex(e.bytes));
    expect(decodeErrors + badSigs).toBe(e.bytes.length * 8);
    // Both outcomes occur: structural (kind, version, lengths…) and cryptographic.
    expect(decodeErrors).toBeGreaterThan(20);
    expect(badSigs).toBeGreaterThan(1000);
  });

  it("seq-1 event and control: same", () => {
    for (const m of [ev({ seq: 1, prev: new Uint8Array(32), deps: [h(9)] }), ctl(), ctl({ ctype: "heads", payload: new Uint8Array(0) })]) {
      const { decodeErrors, badSigs } = flipAll(m.bytes, toHex(m.bytes));
      expect(decodeErrors + badSigs).toBe(m.bytes.length * 8);
      expect(decodeErrors).toBeGreaterThan(0);
    }
  });
});

describe("property: encode → decode is the identity", () => {
  const b32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const nonZero32 = b32.filter((b) => b.some((x) => x !== 0));

  it("events", () => {
    const arb = fc
      .record({
        group: b32,
        epoch: fc.integer({ min: 0, max: 0xffffffff }),
        seq: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 0xffffffff })),
        prevRaw: nonZero32,
        ts: fc.maxSafeNat(),
        deps: fc.array(b32, { maxLength: MAX_DEPS }),
        body: fc.uint8Array({ maxLength: 3000 }),
        signer: fc.constantFrom(0, 1),
      })
      .map(({ prevRaw, ...r }) => ({ ...r, prev: r.seq === 1 ? new Uint8Array(32) : prevRaw }));
    fc.assert(
      fc.property(arb, (r) => {
        const kp = r.signer === 0 ? A : B;
        const f: EventFields = { group: r.group, epoch: r.epoch, author: kp.publicKey, seq: r.seq, prev: r.prev, ts: r.ts, deps: r.deps, body: r.body };
        const e = signEvent(crypto, f, kp.secretKey);
        const d = decodeAndVerify(crypto, Uint8Array.from(e.bytes));
        if (!d || d.kind !== "event") return false;
        const want = [...new Set(r.deps.map(toHex))].sort();
        expect(d.deps.map(toHex)).toEqual(want);
        expect(toHex(d.group)).toBe(toHex(r.group));
        expect(toHex(d.author)).toBe(toHex(kp.publicKey));
        expect(toHex(d.prev)).toBe(toHex(r.prev));
        expect(toHex(d.body)).toBe(toHex(r.body));
        expect([d.epoch, d.seq, d.ts]).toEqual([r.epoch, r.seq, r.ts]);
        expect(toHex(d.id)).toBe(toHex(e.id));
        expect(toHex(d.bytes)).toBe(toHex(e.bytes));
        expect(e.bytes.length).toBe(116 + 32 * want.length + 4 + r.body.length + 64);
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it("controls", () => {
    fc.assert(
      fc.property(
        b32,
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.maxSafeNat(),
        fc.constantFrom("want" as const, "heads" as const),
        fc.uint8Array({ maxLength: 2000 }),
        (g, epoch, ts, ctype, payload) => {
          const c = signControl(crypto, { group: g, epoch, author: B.publicKey, ts, ctype, payload }, B.secretKey);
          const d = decodeAndVerify(crypto, c.bytes);
          expect(d?.kind).toBe("control");
          if (d?.kind !== "control") return;
          expect([toHex(d.group), d.epoch, d.ts, d.ctype, toHex(d.payload)]).toEqual([toHex(g), epoch, ts, ctype, toHex(payload)]);
          expect(c.bytes.length).toBe(83 + payload.length + 64);
        },
      ),
      { numRuns: 200 },
    );
  });
});
