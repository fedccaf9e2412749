// What the atk15 attacker (docs and public APIs only) won against the receive
// pipeline after issue 19's speed work, each now refused: receiveMany judged
// frames' tags ahead of time (an epoch learnt between two frames lost the
// later ones), the event log's equivocation records depended on arrival order
// and counted every relay's copy of an invalid event, the pool's canaries
// were of one size (a worker wrong only on real-sized messages passed them),
// and the fold's string sharing threw on frozen PEvents after holding them.
import { describe, expect, it } from "vitest";
import { deriveEpochKeys } from "../src/cwtch/envelope.js";
import { VerifyPool, withVerifyPool } from "../src/cwtch/verify-pool.js";
import type { PEvent } from "../src/pursuance/apply-common.js";
import { Fold } from "../src/pursuance/fold.js";
import { Author, frameOf, setup } from "./helpers/frames.js";

describe("receiveMany is receive in order", () => {
  it("an epoch key learnt from an earlier frame's outcome reaches the frames after it", async () => {
    const { crypto, groupId, keys, alice, bob, session } = await setup();
    const k1 = new Uint8Array(32).fill(5);
    const keys1 = deriveEpochKeys(crypto, 1, k1);
    const A0 = new Author(crypto, alice, groupId, 0);
    const e1 = A0.next("rotation (epoch 0)");
    const A1 = new Author(crypto, alice, groupId, 1);
    A1.seq = A0.seq;
    A1.prev = A0.prev;
    const e2 = A1.next("first event in epoch 1", [e1.id]);
    const frames = [frameOf(crypto, keys, e1.bytes), frameOf(crypto, keys1, e2.bytes)];

    const s1 = session(bob);
    for (const f of frames) {
      const r = s1.receive(f.tag, f.blob);
      if (r.type === "event" && !s1.hasEpoch(1)) s1.addEpoch(1, k1);
    }
    const pool = new VerifyPool(crypto, { size: 0 });
    const s2 = session(bob, withVerifyPool(crypto, pool));
    const out = await s2.receiveMany(frames, {
      each: (r) => {
        if (r.type === "event" && !s2.hasEpoch(1)) s2.addEpoch(1, k1);
      },
    });
    await pool.close();
    expect(s1.log.size).toBe(2);
    expect(out[1]).toMatchObject({ type: "event", status: "delivered" });
    expect(s2.log.size).toBe(2);
    expect(s2.drops.size).toBe(0);
  });

  it("a key learnt while a batch waits on the pool reaches every later frame", async () => {
    const { crypto, groupId, keys, alice, bob, session } = await setup();
    const k1 = new Uint8Array(32).fill(6);
    const keys1 = deriveEpochKeys(crypto, 1, k1);
    const A0 = new Author(crypto, alice, groupId, 0);
    const A1 = new Author(crypto, alice, groupId, 1);
    const frames = [];
    for (let i = 0; i < 300; i++) frames.push(frameOf(crypto, keys, A0.next("e0-" + i).bytes));
    for (let i = 0; i < 20; i++) frames.push(frameOf(crypto, keys1, A1.next("e1-" + i).bytes));
    const pool = new VerifyPool(crypto, { size: 1, minItems: 2 });
    const s = session(bob, withVerifyPool(crypto, pool));
    const out = await s.receiveMany(frames, {
      each: (_r, i) => {
        if (i === 10 && !s.hasEpoch(1)) s.addEpoch(1, k1);
      },
    });
    await pool.close();
    expect(out.filter((r) => r.type === "event")).toHaveLength(320);
    expect(s.drops.get("unknown-tag") ?? 0).toBe(0);
  });
});

describe("the event log does not depend on arrival order", () => {
  it("a hidden fork parked before its prev leaves no equivocation record once refused; each relay's copy is refused once", async () => {
    const { crypto, groupId, keys, mallory, bob, alice, session } = await setup();
    const M = new Author(crypto, mallory, groupId);
    const m1 = M.next("m1");
    const m2 = M.next("m2");
    const x = M.next("x", [], { seq: 3, prev: m1.id }); // prev has seq 1, expected 2
    const y = M.next("y");
    const feed = (s: ReturnType<typeof session>, evs: (typeof m1)[]) => evs.forEach((e) => s.receive(keys.tag, frameOf(crypto, keys, e.bytes).blob));
    const c1 = session(bob);
    feed(c1, [m1, m2, x, y]);
    const c2 = session(alice);
    feed(c2, [x, y, m1, m2]);
    expect(c2.log.size).toBe(3);
    expect(c2.log.equivocations).toEqual(c1.log.equivocations);
    expect(c2.log.equivocations).toHaveLength(0);
    expect([...c2.log.equivocators]).toEqual([...c1.log.equivocators]);
    const c3 = session(bob);
    feed(c3, [m1, m2, x, x, x, y]);
    expect(c3.log.invalidEvents).toHaveLength(1);
    expect(c1.log.invalidEvents).toHaveLength(1);
  });

  it("a real equivocation beside a refused fork is still recorded", async () => {
    const { crypto, groupId, keys, mallory, bob, session } = await setup();
    const M = new Author(crypto, mallory, groupId);
    const m1 = M.next("m1");
    const m2 = M.next("m2");
    const x = M.next("x", [], { seq: 3, prev: m1.id });
    const y = M.next("y");
    const z = M.next("z", [], { seq: 3, prev: m2.id }); // a second valid seq 3: a real equivocation
    const s = session(bob);
    for (const e of [x, y, z, m1, m2]) s.receive(keys.tag, frameOf(crypto, keys, e.bytes).blob);
    const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
    expect(s.log.equivocations.map((e) => e.ids)).toEqual([[hex(y.id), hex(z.id)].sort()]);
  });
});

const SIZE_FAULT = `
const { parentPort, workerData } = require("node:worker_threads");
const s = require(workerData.sodium);
parentPort.on("message", (m) => {
  const u8 = new Uint8Array(m.buf), dv = new DataView(m.buf), out = new Uint8Array(m.n);
  for (let i = 0; i < m.n; i++) {
    const at = dv.getUint32(4 * i, true), end = dv.getUint32(4 * (i + 1), true);
    out[i] = end - at - 96 > 64 ? 1 : s.crypto_sign_verify_detached(u8.subarray(at, at + 64), u8.subarray(at + 96, end), u8.subarray(at + 64, at + 96)) ? 1 : 0;
  }
  parentPort.postMessage({ id: m.id, out }, [out.buffer]);
});`;

describe("the verify pool's canaries", () => {
  it("catch a worker that is wrong only on messages the size of real ones: forged events never reach the log", async () => {
    const { crypto, groupId, keys, alice, bob, mallory, session } = await setup();
    const A = new Author(crypto, alice, groupId);
    const frames = [];
    for (let i = 0; i < 40; i++) frames.push(frameOf(crypto, keys, A.next("honest " + i).bytes));
    const F = new Author(crypto, { publicKey: alice.publicKey, secretKey: mallory.secretKey }, groupId);
    for (let i = 0; i < 5; i++) frames.push(frameOf(crypto, keys, F.next("forged " + i, [], { seq: 100 + i, prev: new Uint8Array(32).fill(1) }).bytes));
    const pool = new VerifyPool(crypto, { size: 1, minItems: 2, workerSource: SIZE_FAULT });
    const s = session(bob, withVerifyPool(crypto, pool));
    const out = await s.receiveMany(frames);
    await pool.close();
    expect(pool.failures).toBeGreaterThan(0);
    expect(out.slice(40).every((r) => r.type === "dropped" && r.reason === "bad-signature")).toBe(true);
    expect(s.log.pendingCount).toBe(0);
    expect(s.log.size).toBe(40);
  });
});

describe("the fold's string sharing", () => {
  it("leaves frozen PEvents as they are and folds them", async () => {
    const { crypto } = await setup();
    const h = (c: string) => c.repeat(64);
    const mk = (id: string, parents: string[], seq: number, author: string): PEvent => ({ id, author, seq, ts: 1, parents, body: { t: "leave" } });
    const freeze = (e: PEvent) => (Object.freeze(e.parents), Object.freeze(e));
    const a = freeze(mk(h("1"), [], 1, h("a")));
    const b = freeze(mk(h("2"), [h("1")], 2, [...h("a")].join("")));
    const f = new Fold({ crypto });
    f.add([a]);
    expect(() => f.add([b])).not.toThrow();
    expect(f.verdict(b.id)).not.toBeUndefined();
  });
});
