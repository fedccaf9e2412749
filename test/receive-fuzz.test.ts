// Hostile input to GroupSession.receive: random and mutated frames, tags and
// strings. It must never throw, never stall, never deliver (or even hold as
// pending) anything but the valid original events, and must account for every
// drop by reason.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { concat, toB64, toHex, utf8 } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto, type SignKeyPair } from "../src/cwtch/crypto.js";
import { deriveEpochKeys, pad, sealFrame, type EpochKeys } from "../src/cwtch/envelope.js";
import { GroupSession, type DropReason, type ReceiveOutcome } from "../src/cwtch/group-session.js";
import { signEvent } from "../src/cwtch/message.js";
import { encodeHeads, encodeWant } from "../src/cwtch/sync-controls.js";
import { prng as mulberry32 } from "../harness/prng.js";

const groupId = new Uint8Array(32).fill(0x77);
const K0 = new Uint8Array(32).fill(0x10);
const K1 = new Uint8Array(32).fill(0x11);
const KX = new Uint8Array(32).fill(0x12); // an epoch key the receiver never learns


interface Original {
  tag: string;
  blob: Uint8Array;
  /** Plaintext message bytes. */
  msg: Uint8Array;
  epoch: number;
  kind: "event" | "control";
  id?: string;
}

let crypto: Crypto;
let A: SignKeyPair;
let B: SignKeyPair;
let C: SignKeyPair;
let keys: Record<number, EpochKeys>;
let keysX: EpochKeys;
const originals: Original[] = [];
const validIds = new Set<string>();
const validControls = new Set<string>();

beforeAll(async () => {
  crypto = await loadCrypto();
  A = crypto.signKeyPair(new Uint8Array(32).fill(0xa));
  B = crypto.signKeyPair(new Uint8Array(32).fill(0xb));
  C = crypto.signKeyPair(new Uint8Array(32).fill(0xc));
  keys = { 0: deriveEpochKeys(crypto, 0, K0), 1: deriveEpochKeys(crypto, 1, K1) };
  keysX = deriveEpochKeys(crypto, 7, KX);
  let t = 1_700_000_000_000;
  const now = () => ++t;
  const sA = new GroupSession({ crypto, identity: A, groupId, epochs: [{ epoch: 0, key: K0 }], now });
  const sC = new GroupSession({ crypto, identity: C, groupId, epochs: [{ epoch: 0, key: K0 }], now });
  const push = (f: { tag: string; blob: Uint8Array }, msg: Uint8Array, epoch: number, kind: "event" | "control", id?: string) => {
    originals.push({ tag: f.tag, blob: f.blob, msg, epoch, kind, ...(id ? { id } : {}) });
    if (id) validIds.add(id);
    else validControls.add(toHex(msg));
  };
  for (let i = 0; i < 6; i++) {
    const author = i % 2 === 0 ? sA : sC;
    const other = author === sA ? sC : sA;
    const body = i === 3 ? new Uint8Array(700).fill(i) : utf8.encode(`event ${i}`);
    const c = author.compose(body);
    other.receive(c.frame.tag, c.frame.blob);
    push(c.frame, c.event.bytes, c.event.epoch, "event", toHex(c.event.id));
    if (i === 3) {
      sA.addEpoch(1, K1);
      sC.addEpoch(1, K1);
    }
  }
  const heads = encodeHeads({ heads: [{ author: sA.me, seq: 3 }] });
  const want = encodeWant({ ids: [...validIds].slice(0, 2), ranges: [{ author: sC.me, from: 1, to: 3 }] });
  for (const [ctype, payload] of [["heads", heads], ["want", want]] as const) {
    const f = sA.control(ctype, payload);
    // Recover the plaintext to know the control's exact bytes.
    const probe = new GroupSession({ crypto, identity: B, groupId, epochs: [{ epoch: 0, key: K0 }, { epoch: 1, key: K1 }], now });
    const o = probe.receive(f.tag, f.blob);
    if (o.type !== "control") throw new Error("control did not round-trip");
    push(f, o.control.bytes, 1, "control");
  }
});

describe("receive fuzz", () => {
  it("12,000 random and mutated frames: no throw, no stall, nothing but originals, every drop counted", () => {
    const rnd = mulberry32(0xc0ffee);
    const int = (n: number) => Math.floor(rnd() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
    /** Flip k distinct bits (a bit flipped twice would give the original back). */
    const flipBits = (b: Uint8Array, k: number) => {
      const t = Uint8Array.from(b);
      const at = new Set<number>();
      while (at.size < Math.min(k, b.length * 8)) at.add(int(b.length * 8));
      for (const bit of at) t[bit >> 3]! ^= 1 << (bit & 7);
      return t;
    };
    const tags = [keys[0]!.tag, keys[1]!.tag, keysX.tag];
    const B64CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=!. \n\u00e9\u0000";
    const garbage = (n: number) => Array.from({ length: n }, () => B64CHARS[int(B64CHARS.length)]).join("");
    const reseal = (msg: Uint8Array, epoch: number) => ({ tag: keys[epoch]!.tag, blob: sealFrame(crypto, keys[epoch]!, msg) });

    type Gen = () => { tag: string; blob: Uint8Array | string };
    const gens: Record<string, Gen> = {
      "blob bit flips": () => {
        const o = pick(originals);
        return { tag: o.tag, blob: flipBits(o.blob, 1 + int(4)) };
      },
      "blob truncation": () => {
        const o = pick(originals);
        return { tag: o.tag, blob: o.blob.subarray(0, int(o.blob.length)) };
      },
      "blob extension": () => {
        const o = pick(originals);
        return { tag: o.tag, blob: concat(o.blob, bytes(1 + int(600))) };
      },
      "swapped tag": () => {
        const o = pick(originals);
        return { tag: o.tag === keys[0]!.tag ? keys[1]!.tag : keys[0]!.tag, blob: o.blob };
      },
      "random tag": () => ({ tag: pick([garbage(int(30)), toB64(bytes(16)), ""]), blob: pick(originals).blob }),
      "random bytes": () => ({ tag: pick(tags), blob: bytes(pick([0, 1, 40, 551, 552, 1064, int(3000)])) }),
      "base64 garbage": () => ({ tag: pick(tags), blob: pick([garbage(int(1000)), toB64(pick(originals).blob) + garbage(1 + int(3)), garbage(736)]) }),
      "base64 of mutated blob": () => {
        const o = pick(originals);
        return { tag: o.tag, blob: toB64(flipBits(o.blob, 1)) };
      },
      "inner bit flips, resealed": () => {
        const o = pick(originals);
        return reseal(flipBits(o.msg, 1 + int(3)), o.epoch);
      },
      "inner truncation/extension, resealed": () => {
        const o = pick(originals);
        const m = rnd() < 0.5 ? o.msg.subarray(0, int(o.msg.length)) : concat(o.msg, bytes(1 + int(64)));
        return reseal(m, o.epoch);
      },
      "inner random bytes, resealed": () => reseal(bytes(int(1500)), int(2)),
      "inner sig from another message": () => {
        const o = pick(originals);
        const p = pick(originals.filter((x) => x !== o));
        return reseal(concat(o.msg.subarray(0, o.msg.length - 64), p.msg.subarray(p.msg.length - 64)), o.epoch);
      },
      "bad padding, valid AEAD": () => {
        const o = pick(originals);
        const k = keys[o.epoch]!;
        const padded = pad(o.msg);
        const which = int(3);
        if (which === 0) padded[padded.length - 1 - int(padded.length - 4 - o.msg.length)] = 1 + int(255);
        else if (which === 1) new DataView(padded.buffer).setUint32(0, padded.length - 3 + int(2 ** 31));
        const plain = which === 2 ? padded.subarray(0, padded.length - 1 - int(100)) : padded;
        const nonce = crypto.randomBytes(24);
        return { tag: k.tag, blob: concat(nonce, crypto.aeadEncrypt(plain, k.ad, nonce, k.encKey)) };
      },
      "length prefix takes in padding zeros": () => {
        const o = pick(originals);
        const k = keys[o.epoch]!;
        const padded = pad(o.msg);
        new DataView(padded.buffer).setUint32(0, o.msg.length + 1 + int(padded.length - 4 - o.msg.length));
        const nonce = crypto.randomBytes(24);
        return { tag: k.tag, blob: concat(nonce, crypto.aeadEncrypt(padded, k.ad, nonce, k.encKey)) };
      },
      "right key, wrong epoch in message": () => {
        const o = pick(originals);
        return reseal(o.msg, 1 - o.epoch);
      },
      "validly signed, other group": () => {
        const ev = signEvent(
          crypto,
          { group: new Uint8Array(32).fill(int(256) === 0x77 ? 0 : 0x78), epoch: 0, author: A.publicKey, seq: 1, prev: new Uint8Array(32), ts: 1, deps: [], body: bytes(int(50)) },
          A.secretKey,
        );
        return reseal(ev.bytes, 0);
      },
      "forged author": () => {
        const ev = signEvent(
          crypto,
          { group: groupId, epoch: 0, author: A.publicKey, seq: 2 + int(3), prev: new Uint8Array(32).fill(1), ts: 1, deps: [], body: bytes(int(50)) },
          B.secretKey,
        );
        return reseal(ev.bytes.slice(), 0);
      },
      "unknown epoch key": () => {
        const o = pick(originals);
        return { tag: keysX.tag, blob: sealFrame(crypto, keysX, o.msg) };
      },
      "original, verbatim": () => {
        const o = pick(originals);
        return { tag: o.tag, blob: rnd() < 0.5 ? o.blob : toB64(o.blob) };
      },
    };
    const genNames = Object.keys(gens);

    // Is this input, once base64url-decoded, byte-identical to an original frame?
    const originalFrames = new Map(originals.map((o) => [toHex(o.blob), o.tag]));
    const isOriginalFrame = (tag: string, blob: Uint8Array | string) => {
      if (typeof blob === "string") {
        if (!/^[A-Za-z0-9_-]*$/.test(blob)) return false;
        blob = new Uint8Array(Buffer.from(blob, "base64url"));
      }
      return originalFrames.get(toHex(blob)) === tag;
    };
    let nonCanonicalB64 = 0;

    const sB = new GroupSession({ crypto, identity: B, groupId, epochs: [{ epoch: 0, key: K0 }, { epoch: 1, key: K1 }], now: () => 0 });
    const counts = new Map<string, number>();
    const byGen = new Map<string, Map<string, number>>();
    const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
    const N = 12_000;
    let slowest = 0;
    const started = performance.now();
    for (let i = 0; i < N; i++) {
      const g = genNames[i % genNames.length]!;
      const input = gens[g]!();
      const t0 = performance.now();
      let o: ReceiveOutcome;
      try {
        o = sB.receive(input.tag, input.blob);
      } catch (e) {
        throw new Error(`case ${i} (${g}) threw: ${String(e)}`);
      }
      slowest = Math.max(slowest, performance.now() - t0);
      const key = o.type === "dropped" ? o.reason : o.type === "event" ? `event:${o.status}` : "control";
      bump(counts, key);
      if (!byGen.has(g)) byGen.set(g, new Map());
      bump(byGen.get(g)!, key);
      if (o.type !== "dropped") {
        // Accepted ⇒ the input was an original frame (verbatim, or a base64url spelling of one).
        if (!isOriginalFrame(input.tag, input.blob)) throw new Error(`case ${i} (${g}): accepted a non-original frame`);
        if (typeof input.blob === "string" && input.blob !== toB64(Buffer.from(input.blob, "base64url"))) nonCanonicalB64++;
      }
      if (o.type === "event") {
        if (!validIds.has(o.id)) throw new Error(`case ${i} (${g}): non-original event ${o.id} reached the log`);
        if (o.status === "delivered") for (const e of o.delivered) expect(validIds.has(toHex(e.id))).toBe(true);
      } else if (o.type === "control") {
        if (!validControls.has(toHex(o.control.bytes))) throw new Error(`case ${i} (${g}): non-original control accepted`);
      }
    }
    const elapsed = performance.now() - started;

    // The session's own counters agree with ours, and every drop has a reason.
    const reasons: DropReason[] = ["unknown-tag", "undecryptable", "malformed", "bad-signature", "wrong-group", "wrong-epoch"];
    for (const r of reasons) {
      expect(sB.drops.get(r) ?? 0).toBe(counts.get(r) ?? 0);
      expect(counts.get(r) ?? 0).toBeGreaterThan(0);
    }
    const dropped = reasons.reduce((s, r) => s + (counts.get(r) ?? 0), 0);
    const accepted = (counts.get("event:delivered") ?? 0) + (counts.get("event:pending") ?? 0) + (counts.get("event:duplicate") ?? 0) + (counts.get("control") ?? 0);
    expect(dropped + accepted).toBe(N);
    // Only verbatim originals are accepted.
    const verbatim = byGen.get("original, verbatim")!;
    expect(verbatim.get("undecryptable") ?? 0).toBe(0);
    expect(verbatim.get("malformed") ?? 0).toBe(0);
    // Every other generator (bar base64 spellings, see nonCanonicalB64) only produces drops.
    for (const [g, m] of byGen) {
      if (g === "original, verbatim" || g === "base64 garbage") continue;
      expect([...m.keys()].filter((k) => k.startsWith("event") || k === "control").map((k) => `${g} → ${k}`)).toEqual([]);
    }
    // Specific generators land on their specific reason.
    expect([...byGen.get("swapped tag")!.keys()]).toEqual(["undecryptable"]);
    expect([...byGen.get("bad padding, valid AEAD")!.keys()]).toEqual(["undecryptable"]);
    expect([...byGen.get("unknown epoch key")!.keys()]).toEqual(["unknown-tag"]);
    expect([...byGen.get("length prefix takes in padding zeros")!.keys()]).toEqual(["malformed"]);
    expect([...byGen.get("validly signed, other group")!.keys()]).toEqual(["wrong-group"]);
    expect([...byGen.get("forged author")!.keys()]).toEqual(["bad-signature"]);
    expect([...byGen.get("right key, wrong epoch in message")!.keys()]).toEqual(["wrong-epoch"]);
    expect([...byGen.get("blob bit flips")!.keys()]).toEqual(["undecryptable"]);
    expect(byGen.get("inner bit flips, resealed")!.get("malformed")! + byGen.get("inner bit flips, resealed")!.get("bad-signature")!).toBe(
      [...byGen.get("inner bit flips, resealed")!.values()].reduce((a, b) => a + b, 0),
    );

    // The log holds only originals, in causal order, and is not wedged: posting
    // every original once more completes it.
    for (const e of sB.log.events()) expect(validIds.has(toHex(e.id))).toBe(true);
    for (const o of originals) sB.receive(o.tag, o.blob);
    expect(sB.log.size).toBe(validIds.size);
    expect(sB.log.pendingCount).toBe(0);
    expect(new Set(sB.log.events().map((e) => toHex(e.id)))).toEqual(validIds);

    expect(slowest).toBeLessThan(1000);
    expect(elapsed).toBeLessThan(15_000);
    console.log(
      `receive fuzz: ${N} inputs in ${elapsed.toFixed(0)} ms (slowest ${slowest.toFixed(1)} ms); ` +
        `${nonCanonicalB64} non-canonical base64url spellings of originals accepted\n` +
        [...counts].sort().map(([k, v]) => `  ${k.padEnd(18)} ${v}`).join("\n"),
    );
  }, 20_000);

  it("fast-check: arbitrary tag and blob (bytes or string) never throw and are dropped", () => {
    const sB = new GroupSession({ crypto, identity: B, groupId, epochs: [{ epoch: 0, key: K0 }, { epoch: 1, key: K1 }], now: () => 0 });
    const tagArb = fc.oneof(fc.string(), fc.constantFrom(keys[0]!.tag, keys[1]!.tag));
    const blobArb = fc.oneof(fc.uint8Array({ maxLength: 1200 }), fc.string({ maxLength: 1200 }), fc.base64String({ maxLength: 1200 }));
    fc.assert(
      fc.property(tagArb, blobArb, (tag, blob) => {
        const o = sB.receive(tag, blob);
        expect(o.type).toBe("dropped");
      }),
      { numRuns: 2000 },
    );
    expect(sB.log.size).toBe(0);
    expect([...sB.drops.values()].reduce((a, b) => a + b, 0)).toBe(2000);
  });
});
