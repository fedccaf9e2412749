// GroupSession.receiveMany (signatures verified in batches, on a worker pool
// when the crypto port has one) against receive frame by frame, and a pool
// whose workers fail or lie.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toB64, toHex } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto, type SignKeyPair } from "../src/cwtch/crypto.js";
import { deriveEpochKeys, sealFrame } from "../src/cwtch/envelope.js";
import { GroupSession, type InFrame, type ReceiveOutcome } from "../src/cwtch/group-session.js";
import { signControl, signEvent, type SignedEvent } from "../src/cwtch/message.js";
import { VerifyPool, withVerifyPool } from "../src/cwtch/verify-pool.js";

let crypto: Crypto;
let ids: SignKeyPair[];
const groupId = new Uint8Array(32).fill(0x61);
const K0 = new Uint8Array(32).fill(0xa0);
const K1 = new Uint8Array(32).fill(0xa1);
let clock = 1_700_000_000_000;
const now = () => ++clock;
const pools: VerifyPool[] = [];

beforeAll(async () => {
  crypto = await loadCrypto("sodium-native");
  ids = [0, 1, 2].map(() => crypto.signKeyPair());
});
afterAll(async () => {
  for (const p of pools) await p.close();
});

function session(c: Crypto): GroupSession {
  return new GroupSession({ crypto: c, identity: ids[0]!, groupId, epochs: [{ epoch: 0, key: K0 }, { epoch: 1, key: K1 }], now });
}

/** Every kind of frame receive tells apart, shuffled with a fixed seed, some as base64url text. */
function mixedFrames(): InFrame[] {
  const k0 = deriveEpochKeys(crypto, 0, K0);
  const chains = ids.map((): { seq: number; prev: Uint8Array } => ({ seq: 0, prev: new Uint8Array(32) }));
  const evs: SignedEvent[] = [];
  for (let i = 0; i < 90; i++) {
    const a = i % 3;
    const ch = chains[a]!;
    const ev = signEvent(crypto, { group: groupId, epoch: 0, author: ids[a]!.publicKey, seq: ++ch.seq, prev: ch.prev, ts: now(), deps: evs.length > 0 && i % 4 === 0 ? [evs[evs.length - 1]!.id] : [], body: crypto.randomBytes(40 + i) }, ids[a]!.secretKey);
    ch.prev = ev.id;
    evs.push(ev);
  }
  const seal = (b: Uint8Array, keys = k0) => ({ tag: keys.tag, blob: sealFrame(crypto, keys, b) });
  const frames: InFrame[] = evs.map((e) => seal(e.bytes));
  // Bad signature: a flipped bit in the signature.
  const bad = evs[5]!.bytes.slice();
  bad[bad.length - 3]! ^= 1;
  frames.push(seal(bad));
  // Tampered ciphertext, malformed plaintext, unknown tag, not base64url.
  const t = seal(evs[6]!.bytes);
  t.blob = (t.blob as Uint8Array).slice();
  (t.blob as Uint8Array)[40]! ^= 1;
  frames.push(t, seal(new Uint8Array([1, 1, 2, 3])), { tag: "nope", blob: (frames[0]!.blob as Uint8Array) }, { tag: k0.tag, blob: "+not/base64" });
  // Wrong group, wrong epoch (signed for epoch 0, sealed in epoch 1's frame).
  const other = signEvent(crypto, { group: new Uint8Array(32).fill(9), epoch: 0, author: ids[1]!.publicKey, seq: 1, prev: new Uint8Array(32), ts: now(), deps: [], body: new Uint8Array(3) }, ids[1]!.secretKey);
  frames.push(seal(other.bytes), seal(evs[7]!.bytes, deriveEpochKeys(crypto, 1, K1)));
  // Duplicates, an equivocation (a second seq 4 of author 2), controls (one good, one badly signed).
  frames.push(seal(evs[8]!.bytes), seal(evs[8]!.bytes));
  const fork = signEvent(crypto, { group: groupId, epoch: 0, author: ids[2]!.publicKey, seq: 4, prev: evs[8]!.id, ts: now(), deps: [], body: new Uint8Array([7]) }, ids[2]!.secretKey);
  frames.push(seal(fork.bytes));
  const ctl = signControl(crypto, { group: groupId, epoch: 0, author: ids[1]!.publicKey, ts: now(), ctype: "heads", payload: new Uint8Array(0) }, ids[1]!.secretKey);
  const badCtl = ctl.bytes.slice();
  badCtl[badCtl.length - 1]! ^= 1;
  frames.push(seal(ctl.bytes), seal(badCtl));
  // Shuffled (out of order: many wait as pending), a third as text.
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  for (let i = frames.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [frames[i], frames[j]] = [frames[j]!, frames[i]!];
  }
  return frames.map((f, i) => (i % 3 === 0 && typeof f.blob !== "string" && f.tag !== "nope" ? { tag: f.tag, blob: toB64(f.blob) } : f));
}

/** What can be compared of an outcome: events by id. */
function shape(o: ReceiveOutcome): unknown {
  if (o.type === "control") return { type: "control", bytes: toHex(o.control.bytes) };
  if (o.type === "event" && o.status === "delivered") return { ...o, delivered: o.delivered.map((e) => toHex(e.id)) };
  return o;
}
function stateOf(s: GroupSession) {
  return {
    order: s.log.events().map((e) => toHex(e.id)),
    pending: s.log.pendingCount,
    gaps: s.log.gaps(),
    drops: [...s.drops.entries()],
    equivocations: s.log.equivocations,
    invalid: s.log.invalidEvents,
  };
}

describe("receiveMany", () => {
  it("gives the outcomes, log, drops and equivocations of receive in order: in-thread, and with a pool", async () => {
    const frames = mixedFrames();
    const one = session(crypto);
    const expected = frames.map((f) => shape(one.receive(f.tag, f.blob)));
    const kinds = new Set(expected.map((o) => JSON.stringify((o as { type: string; reason?: string; status?: string }).reason ?? (o as { status?: string }).status ?? (o as { type: string }).type)));
    for (const k of ["bad-signature", "undecryptable", "malformed", "unknown-tag", "wrong-group", "wrong-epoch", "duplicate", "pending", "delivered", "control"]) expect(kinds).toContain(JSON.stringify(k));
    expect(one.log.equivocations.length).toBeGreaterThan(0);

    const pool = new VerifyPool(crypto, { size: 2, batch: 16, minItems: 1 });
    pools.push(pool);
    for (const c of [crypto, withVerifyPool(crypto, pool)]) {
      const many = session(c);
      const seen: number[] = [];
      const out = await many.receiveMany(frames, { each: (_, i) => seen.push(i) });
      expect(out.map(shape)).toEqual(expected);
      expect(seen).toEqual(frames.map((_, i) => i));
      expect(stateOf(many)).toEqual(stateOf(one));
    }
    expect(pool.failures).toBe(0);
    expect(pool.running).toBe(2);
  });

  it("stops before a frame once asked to, leaving the rest unreceived", async () => {
    const frames = mixedFrames();
    const s = session(crypto);
    let n = 0;
    const out = await s.receiveMany(frames, { stop: () => n >= 10, each: () => n++ });
    expect(out.length).toBe(10);
  });
});

describe("a verify pool that fails", () => {
  // Workers that answer "verified" to everything, die at once, or answer for too few items.
  const liar = `const { parentPort } = require("node:worker_threads");
parentPort.on("message", (m) => { const out = new Uint8Array(m.n).fill(1); parentPort.postMessage({ id: m.id, out }, [out.buffer]); });`;
  const dies = `process.exit(3);`;
  const short = `const { parentPort } = require("node:worker_threads");
parentPort.on("message", (m) => { const out = new Uint8Array(m.n - 1); parentPort.postMessage({ id: m.id, out }, [out.buffer]); });`;
  const silent = `require("node:worker_threads").parentPort.on("message", () => {});`;

  for (const [name, src, opts] of [["answers every signature good", liar, {}], ["exits", dies, {}], ["answers for fewer items", short, {}], ["never answers", silent, { timeoutMs: 200 }]] as const) {
    it(`lets no unverified event into the log when a worker ${name}`, async () => {
      const frames = mixedFrames();
      const one = session(crypto);
      const expected = frames.map((f) => shape(one.receive(f.tag, f.blob)));
      const pool = new VerifyPool(crypto, { size: 2, batch: 16, minItems: 1, workerSource: src, ...opts });
      pools.push(pool);
      const many = session(withVerifyPool(crypto, pool));
      const out = await many.receiveMany(frames);
      expect(out.map(shape)).toEqual(expected);
      expect(stateOf(many)).toEqual(stateOf(one));
      expect(many.drops.get("bad-signature")).toBe(2);
      expect(pool.failures).toBeGreaterThan(0);
      expect(pool.running).toBe(0);
      await pool.close();
    });
  }

  it("verifies on this thread after close()", async () => {
    const pool = new VerifyPool(crypto, { size: 1, minItems: 1 });
    await pool.close();
    const kp = crypto.signKeyPair();
    const m = crypto.randomBytes(10);
    const sig = crypto.sign(m, kp.secretKey);
    expect(await pool.verifyMany([{ sig, message: m, publicKey: kp.publicKey }, { sig, message: crypto.randomBytes(10), publicKey: kp.publicKey }])).toEqual([true, false]);
    expect(pool.running).toBe(0);
  });
});
