// The receive pipeline of GroupSession and the causal EventLog behind it.
import fc from "fast-check";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { toB64, toHex, utf8 } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto, type SignKeyPair } from "../src/cwtch/crypto.js";
import { deriveEpochKeys, sealFrame } from "../src/cwtch/envelope.js";
import { EventLog } from "../src/cwtch/event-log.js";
import { GroupSession, type OutFrame, type ReceiveOutcome } from "../src/cwtch/group-session.js";
import { signEvent, type EventFields, type SignedEvent } from "../src/cwtch/message.js";
import { decodeHeads, decodeWant, encodeHeads, encodeWant } from "../src/cwtch/sync-controls.js";
import { prng as mulberry32 } from "../harness/prng.js";

let crypto: Crypto;
let A: SignKeyPair;
let B: SignKeyPair;
let C: SignKeyPair;
const groupId = new Uint8Array(32).fill(0x61);
const otherGroup = new Uint8Array(32).fill(0x62);
const K0 = new Uint8Array(32).fill(0xa0);
const K1 = new Uint8Array(32).fill(0xa1);
let clock = 1_700_000_000_000;
const now = () => ++clock;


function session(id: SignKeyPair, epochs: Array<{ epoch: number; key: Uint8Array }> = [{ epoch: 0, key: K0 }]) {
  return new GroupSession({ crypto, identity: id, groupId, epochs, now });
}
const hex = toHex;
function expectDropped(o: ReceiveOutcome, reason: string) {
  expect(o.type === "dropped" ? o.reason : `${o.type}`).toBe(reason);
}
function delivered(o: ReceiveOutcome): string[] {
  if (o.type !== "event" || o.status !== "delivered") throw new Error(`not delivered: ${JSON.stringify(o.type === "event" ? o.status : o)}`);
  return o.delivered.map((e) => hex(e.id));
}
function equivocationOf(o: ReceiveOutcome) {
  return o.type === "event" && (o.status === "pending" || o.status === "delivered") ? o.equivocation : undefined;
}
function sealAs(ev: { bytes: Uint8Array }, epoch: number, key: Uint8Array): OutFrame {
  const keys = deriveEpochKeys(crypto, epoch, key);
  return { tag: keys.tag, blob: sealFrame(crypto, keys, ev.bytes) };
}

beforeAll(async () => {
  crypto = await loadCrypto();
  A = crypto.signKeyPair(new Uint8Array(32).fill(0x0a));
  B = crypto.signKeyPair(new Uint8Array(32).fill(0x0b));
  C = crypto.signKeyPair(new Uint8Array(32).fill(0x0c));
});

describe("GroupSession receive pipeline", () => {
  let sA: GroupSession;
  let sB: GroupSession;
  beforeEach(() => {
    sA = session(A);
    sB = session(B);
  });

  it("A composes, B receives → delivered with the same id and body", () => {
    const { event, frame, result } = sA.compose(utf8.encode("first"));
    expect(result.status).toBe("delivered");
    expect(event.seq).toBe(1);
    expect(hex(event.prev)).toBe("00".repeat(32));
    expect(frame.tag).toBe(sA.tagOf(0));
    expect(frame.blob.length).toBe(24 + 512 + 16);
    const o = sB.receive(frame.tag, frame.blob);
    expect(delivered(o)).toEqual([hex(event.id)]);
    expect(sB.log.size).toBe(1);
    expect(utf8.decode(sB.log.events()[0]!.body)).toBe("first");
    expect(sB.log.head(sA.me)).toEqual({ seq: 1, id: hex(event.id) });
    expect(sB.drops.size).toBe(0);
  });

  it("chains prev and cites the others' tips as deps; frames as base64url strings work", () => {
    const a1 = sA.compose(utf8.encode("a1"));
    expect(delivered(sB.receive(a1.frame.tag, toB64(a1.frame.blob)))).toHaveLength(1);
    const b1 = sB.compose(utf8.encode("b1"));
    expect(b1.event.deps.map(hex)).toEqual([hex(a1.event.id)]);
    expect(delivered(sA.receive(b1.frame.tag, b1.frame.blob))).toEqual([hex(b1.event.id)]);
    const a2 = sA.compose(utf8.encode("a2"));
    expect(a2.event.seq).toBe(2);
    expect(hex(a2.event.prev)).toBe(hex(a1.event.id));
    expect(a2.event.deps.map(hex)).toEqual([hex(b1.event.id)]);
    expect(delivered(sB.receive(a2.frame.tag, a2.frame.blob))).toEqual([hex(a2.event.id)]);
    expect(sA.log.events().map((e) => hex(e.id))).toEqual(sB.log.events().map((e) => hex(e.id)));
  });

  it("duplicate (same frame, or re-sealed with a fresh nonce) → duplicate, log unchanged", () => {
    const { event, frame } = sA.compose(utf8.encode("x"));
    delivered(sB.receive(frame.tag, frame.blob));
    const again = sB.receive(frame.tag, frame.blob);
    expect(again).toEqual({ type: "event", status: "duplicate", id: hex(event.id) });
    const resealed = sA.frameFor(event);
    expect(hex(resealed.blob)).not.toBe(hex(frame.blob));
    expect(sB.receive(resealed.tag, resealed.blob)).toMatchObject({ type: "event", status: "duplicate" });
    expect(sB.log.size).toBe(1);
  });

  it("a message signed for another group, sealed with our epoch key → wrong-group", () => {
    const ev = signEvent(
      crypto,
      { group: otherGroup, epoch: 0, author: A.publicKey, seq: 1, prev: new Uint8Array(32), ts: 1, deps: [], body: utf8.encode("elsewhere") },
      A.secretKey,
    );
    const f = sealAs(ev, 0, K0);
    expect(f.tag).toBe(sB.tagOf(0));
    expectDropped(sB.receive(f.tag, f.blob), "wrong-group");
    expect(sB.drops.get("wrong-group")).toBe(1);
    expect(sB.log.size).toBe(0);
    expect(sB.log.pendingCount).toBe(0);
  });

  it("signed epoch ≠ the frame's epoch → wrong-epoch (both directions)", () => {
    const s = session(B, [
      { epoch: 0, key: K0 },
      { epoch: 1, key: K1 },
    ]);
    const base: EventFields = { group: groupId, epoch: 0, author: A.publicKey, seq: 1, prev: new Uint8Array(32), ts: 1, deps: [], body: new Uint8Array(0) };
    const says0 = signEvent(crypto, base, A.secretKey);
    const says1 = signEvent(crypto, { ...base, epoch: 1 }, A.secretKey);
    const f1 = sealAs(says0, 1, K1);
    expectDropped(s.receive(f1.tag, f1.blob), "wrong-epoch");
    const f0 = sealAs(says1, 0, K0);
    expectDropped(s.receive(f0.tag, f0.blob), "wrong-epoch");
    expect(s.drops.get("wrong-epoch")).toBe(2);
    // Correct pairings are delivered (they are two different events with seq 1: an equivocation).
    const ok0 = sealAs(says0, 0, K0);
    expect(delivered(s.receive(ok0.tag, ok0.blob))).toEqual([hex(says0.id)]);
    const ok1 = sealAs(says1, 1, K1);
    const r = s.receive(ok1.tag, ok1.blob);
    expect(delivered(r)).toEqual([hex(says1.id)]);
    expect(equivocationOf(r)?.seq).toBe(1);
  });

  it("unknown tag → unknown-tag (random tag, or an epoch we were never given)", () => {
    const { frame } = sA.compose(utf8.encode("x"));
    expectDropped(sB.receive("AAAAAAAAAAAAAAAAAAAAAA", frame.blob), "unknown-tag");
    expectDropped(sB.receive("", frame.blob), "unknown-tag");
    const sA1 = session(A, [
      { epoch: 0, key: K0 },
      { epoch: 1, key: K1 },
    ]);
    const later = sA1.compose(utf8.encode("epoch 1"));
    expect(later.event.epoch).toBe(1);
    expect(later.frame.tag).toBe(sA1.tagOf(1));
    expectDropped(sB.receive(later.frame.tag, later.frame.blob), "unknown-tag");
    expect(sB.drops.get("unknown-tag")).toBe(3);
    // After the key arrives (rotation / key share), the same frame is accepted.
    sB.addEpoch(1, K1);
    expect(sB.currentEpoch).toBe(1);
    expect(delivered(sB.receive(later.frame.tag, later.frame.blob))).toEqual([hex(later.event.id)]);
    expect(() => sB.addEpoch(1, K0)).toThrow(/conflicting/);
  });

  it("tampering with any of 200 random bytes → undecryptable, never delivered", () => {
    const { event, frame } = sA.compose(utf8.encode("do not touch"));
    const rnd = mulberry32(1234);
    const positions = new Set<number>();
    while (positions.size < 200) positions.add(Math.floor(rnd() * frame.blob.length));
    expect(Math.min(...positions)).toBeLessThan(24); // some nonce bytes
    expect(Math.max(...positions)).toBeGreaterThanOrEqual(frame.blob.length - 16); // some tag bytes
    for (const p of positions) {
      const t = Uint8Array.from(frame.blob);
      t[p]! ^= 1 + Math.floor(rnd() * 255);
      expectDropped(sB.receive(frame.tag, t), "undecryptable");
    }
    expect(sB.drops.get("undecryptable")).toBe(200);
    expect(sB.log.size).toBe(0);
    expect(sB.log.pendingCount).toBe(0);
    expect(delivered(sB.receive(frame.tag, frame.blob))).toEqual([hex(event.id)]);
  });

  it("truncated or extended blob → undecryptable", () => {
    const { frame } = sA.compose(utf8.encode("x"));
    const n = frame.blob.length;
    const cuts = [0, 1, 23, 24, 40, 24 + 16 + 511, 24 + 16 + 512 - 1, n >> 1, n - 16, n - 1];
    for (const c of cuts) expectDropped(sB.receive(frame.tag, frame.blob.subarray(0, c)), "undecryptable");
    expectDropped(sB.receive(frame.tag, new Uint8Array([...frame.blob, 0])), "undecryptable");
    expect(sB.drops.get("undecryptable")).toBe(cuts.length + 1);
    expect(sB.log.size).toBe(0);
  });

  it("forged author (signed by C, claims A) → bad-signature", () => {
    const forged = signEvent(
      crypto,
      { group: groupId, epoch: 0, author: A.publicKey, seq: 1, prev: new Uint8Array(32), ts: 1, deps: [], body: utf8.encode("I am A") },
      C.secretKey,
    );
    const f = sealAs(forged, 0, K0);
    expectDropped(sB.receive(f.tag, f.blob), "bad-signature");
    expect(sB.drops.get("bad-signature")).toBe(1);
    expect(sB.log.size).toBe(0);
    expect(sB.log.has(hex(forged.id))).toBe(false);
  });

  it("garbage inside a valid frame → malformed; non-base64url string → malformed", () => {
    const keys = deriveEpochKeys(crypto, 0, K0);
    expectDropped(sB.receive(keys.tag, sealFrame(crypto, keys, crypto.randomBytes(100))), "malformed");
    expectDropped(sB.receive(keys.tag, sealFrame(crypto, keys, new Uint8Array(0))), "malformed");
    const { event, frame } = sA.compose(utf8.encode("x"));
    expectDropped(sB.receive(keys.tag, sealFrame(crypto, keys, event.bytes.subarray(0, event.bytes.length - 1))), "malformed");
    const o = sB.receive(frame.tag, toB64(frame.blob) + "!");
    expectDropped(o, "malformed");
    expect(o.type === "dropped" && o.detail).toMatch(/base64url/);
    expect(sB.drops.get("malformed")).toBe(4);
  });

  it("controls: heads and want arrive as controls, not events", () => {
    sA.compose(utf8.encode("x"));
    const heads = sA.control("heads", encodeHeads({ heads: [{ author: sA.me, seq: 1 }] }));
    const o = sB.receive(heads.tag, heads.blob);
    expect(o.type).toBe("control");
    if (o.type !== "control") return;
    expect(o.control.ctype).toBe("heads");
    expect(hex(o.control.author)).toBe(sA.me);
    expect(decodeHeads(o.control.payload)).toEqual({ heads: [{ author: sA.me, seq: 1 }] });
    const want = sB.control("want", encodeWant({ ids: ["ab".repeat(32)], ranges: [{ author: sA.me, from: 1, to: 1 }] }));
    const w = sA.receive(want.tag, want.blob);
    expect(w.type === "control" && decodeWant(w.control.payload)).toEqual({ ids: ["ab".repeat(32)], ranges: [{ author: sA.me, from: 1, to: 1 }] });
    expect(sB.log.size).toBe(0);
  });

  it("reverse order: pending until the first arrives, then all delivered in causal order", () => {
    const evs = [1, 2, 3, 4, 5].map((i) => sA.compose(utf8.encode(`e${i}`)));
    const ids = evs.map((e) => hex(e.event.id));
    for (let i = 4; i >= 1; i--) {
      const o = sB.receive(evs[i]!.frame.tag, evs[i]!.frame.blob);
      expect(o).toEqual({ type: "event", status: "pending", id: ids[i], missing: [ids[i - 1]] });
    }
    expect(sB.log.size).toBe(0);
    expect(sB.log.pendingCount).toBe(4);
    expect(delivered(sB.receive(evs[0]!.frame.tag, evs[0]!.frame.blob))).toEqual(ids);
    expect(sB.log.events().map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(sB.log.pendingCount).toBe(0);
    expect(sB.log.gaps()).toEqual({ ids: [], ranges: [] });
    expect(sB.log.head(sA.me)).toEqual({ seq: 5, id: ids[4] });
  });

  it("gaps(): missing ids and seq ranges, shrinking as repairs arrive", () => {
    const evs = [1, 2, 3, 4, 5, 6].map((i) => sA.compose(utf8.encode(`e${i}`)));
    const ids = evs.map((e) => hex(e.event.id));
    const recv = (i: number) => sB.receive(evs[i - 1]!.frame.tag, evs[i - 1]!.frame.blob);
    recv(6);
    recv(5);
    recv(3);
    let g = sB.log.gaps();
    expect([...g.ids].sort()).toEqual([ids[3], ids[1]].sort()); // e4 (wanted by e5), e2 (wanted by e3); e5 is held
    expect(g.ranges).toEqual([{ author: sA.me, from: 1, to: 2 }]);
    expect(delivered(recv(1))).toEqual([ids[0]]);
    expect(delivered(recv(2))).toEqual([ids[1], ids[2]]);
    g = sB.log.gaps();
    expect(g).toEqual({ ids: [ids[3]], ranges: [{ author: sA.me, from: 4, to: 4 }] });
    expect(delivered(recv(4))).toEqual([ids[3], ids[4], ids[5]]);
    expect(sB.log.gaps()).toEqual({ ids: [], ranges: [] });
  });

  it("gaps(): a cross-author dep we lack is reported by id", () => {
    const a1 = sA.compose(utf8.encode("a1"));
    delivered(sB.receive(a1.frame.tag, a1.frame.blob));
    const b1 = sB.compose(utf8.encode("b1 cites a1"));
    const sC = session(C);
    const o = sC.receive(b1.frame.tag, b1.frame.blob);
    expect(o).toEqual({ type: "event", status: "pending", id: hex(b1.event.id), missing: [hex(a1.event.id)] });
    expect(sC.log.gaps()).toEqual({ ids: [hex(a1.event.id)], ranges: [] });
    expect(delivered(sC.receive(a1.frame.tag, a1.frame.blob))).toEqual([hex(a1.event.id), hex(b1.event.id)]);
  });

  it("equivocation: two different events with one author and seq → flagged with both ids", () => {
    const base: EventFields = { group: groupId, epoch: 0, author: A.publicKey, seq: 1, prev: new Uint8Array(32), ts: 5, deps: [], body: utf8.encode("left") };
    const e1 = signEvent(crypto, base, A.secretKey);
    const e2 = signEvent(crypto, { ...base, body: utf8.encode("right") }, A.secretKey);
    const f1 = sealAs(e1, 0, K0);
    const f2 = sealAs(e2, 0, K0);
    const r1 = sB.receive(f1.tag, f1.blob);
    expect(equivocationOf(r1)).toBeUndefined();
    const r2 = sB.receive(f2.tag, f2.blob);
    expect(r2.type === "event" && r2.status).toBe("delivered");
    const want = { author: hex(A.publicKey), seq: 1, ids: [hex(e1.id), hex(e2.id)].sort() };
    expect(equivocationOf(r2)).toEqual(want);
    expect(sB.log.equivocations).toEqual([want]);
    expect([...sB.log.equivocators]).toEqual([hex(A.publicKey)]);
    // A third fork at seq 2 arriving before its prev: flagged while pending.
    const s2a = signEvent(crypto, { ...base, seq: 2, prev: e1.id, body: utf8.encode("2a") }, A.secretKey);
    const s2b = signEvent(crypto, { ...base, seq: 2, prev: e2.id, body: utf8.encode("2b") }, A.secretKey);
    const sC = session(C);
    const f2a = sealAs(s2a, 0, K0);
    const f2b = sealAs(s2b, 0, K0);
    const p1 = sC.receive(f2a.tag, f2a.blob);
    expect(p1).toMatchObject({ type: "event", status: "pending" });
    const p2 = sC.receive(f2b.tag, f2b.blob);
    expect(p2).toMatchObject({ type: "event", status: "pending", equivocation: { author: hex(A.publicKey), seq: 2, ids: [hex(s2a.id), hex(s2b.id)].sort() } });
    expect(sC.log.equivocators.has(hex(A.publicKey))).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// EventLog properties over random DAGs.

describe("EventLog over random DAGs", () => {
  let keys: SignKeyPair[];
  beforeAll(() => {
    keys = [1, 2, 3, 4, 5].map((i) => crypto.signKeyPair(new Uint8Array(32).fill(0x40 + i)));
  });

  interface Step {
    a: number;
    deps: number[];
  }
  /** Build a valid DAG: each author chains its own events; deps cite any earlier events. */
  function build(nAuthors: number, steps: Step[]): SignedEvent[] {
    const out: SignedEvent[] = [];
    const last: Array<SignedEvent | undefined> = [];
    for (const [i, s] of steps.entries()) {
      const a = s.a % nAuthors;
      const prevEv = last[a];
      const deps = out.length === 0 ? [] : s.deps.map((d) => out[d % out.length]!.id);
      const ev = signEvent(
        crypto,
        {
          group: groupId,
          epoch: 0,
          author: keys[a]!.publicKey,
          seq: (prevEv?.seq ?? 0) + 1,
          prev: prevEv?.id ?? new Uint8Array(32),
          ts: 1000 + i,
          deps,
          body: Uint8Array.of(i & 0xff, i >> 8),
        },
        keys[a]!.secretKey,
      );
      last[a] = ev;
      out.push(ev);
    }
    return out;
  }
  function permute<T>(xs: T[], keysArr: number[]): T[] {
    return xs
      .map((x, i) => [x, keysArr[i % keysArr.length]! * 1024 + i] as const)
      .sort((p, q) => p[1] - q[1])
      .map((p) => p[0]);
  }
  function checkCausal(order: readonly SignedEvent[]) {
    const pos = new Map(order.map((e, i) => [hex(e.id), i]));
    for (const [i, e] of order.entries()) {
      if (e.seq > 1) expect(pos.get(hex(e.prev))!).toBeLessThan(i);
      for (const d of e.deps) expect(pos.get(hex(d))!).toBeLessThan(i);
    }
  }

  const stepArb = fc.record({ a: fc.nat(), deps: fc.array(fc.nat(), { maxLength: 3 }) });
  const dagArb = fc.record({
    nAuthors: fc.integer({ min: 3, max: 5 }),
    steps: fc.array(stepArb, { minLength: 1, maxLength: 40 }),
    order1: fc.array(fc.nat(1000), { minLength: 1, maxLength: 40 }),
    order2: fc.array(fc.nat(1000), { minLength: 1, maxLength: 40 }),
    dupEvery: fc.integer({ min: 2, max: 7 }),
  });

  it("any delivery order: everything delivered, causal order, same set", () => {
    fc.assert(
      fc.property(dagArb, ({ nAuthors, steps, order1, order2, dupEvery }) => {
        const evs = build(nAuthors, steps);
        const all = evs.map((e) => hex(e.id)).sort();
        const sets: string[][] = [];
        for (const ord of [order1, order2]) {
          const log = new EventLog();
          const stream = permute(evs, ord);
          const seen: string[] = [];
          for (const [i, e] of stream.entries()) {
            const r = log.add(e);
            expect(r.status).not.toBe("duplicate");
            if (r.status === "delivered") seen.push(...r.delivered.map((x) => hex(x.id)));
            // Replays in the middle of the stream are duplicates and change nothing.
            if (i % dupEvery === 0) expect(log.add(stream[i >> 1]!).status).toBe("duplicate");
          }
          expect(log.size).toBe(evs.length);
          expect(log.pendingCount).toBe(0);
          expect(log.gaps()).toEqual({ ids: [], ranges: [] });
          expect(log.equivocations).toEqual([]);
          expect(seen).toEqual(log.events().map((e) => hex(e.id)));
          checkCausal(log.events());
          sets.push([...seen].sort());
        }
        expect(sets[0]).toEqual(all);
        expect(sets[1]).toEqual(all);
        // Heads: each author's highest seq.
        const log = new EventLog();
        for (const e of evs) expect(log.add(e).status).toBe("delivered");
        for (const k of keys.slice(0, nAuthors)) {
          const mine = evs.filter((e) => hex(e.author) === hex(k.publicKey));
          expect(log.head(hex(k.publicKey))?.seq).toBe(mine.length === 0 ? undefined : mine.length);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("pending never exceeds maxPending; a repair pass then delivers everything", () => {
    fc.assert(
      fc.property(dagArb, fc.integer({ min: 1, max: 6 }), ({ nAuthors, steps, order1 }, maxPending) => {
        const evs = build(nAuthors, steps);
        const log = new EventLog(maxPending);
        for (const e of permute(evs, order1)) {
          log.add(e);
          expect(log.pendingCount).toBeLessThanOrEqual(maxPending);
        }
        checkCausal(log.events());
        // Re-post everything in creation order (what a repairing peer does).
        for (const e of evs) log.add(e);
        expect(log.size).toBe(evs.length);
        expect(log.pendingCount).toBe(0);
        checkCausal(log.events());
      }),
      { numRuns: 100 },
    );
  });

  it("a flood of events citing unknown ids is capped at maxPending (oldest evicted)", () => {
    const log = new EventLog(10);
    const flood: SignedEvent[] = [];
    for (let i = 0; i < 50; i++) {
      const e = signEvent(
        crypto,
        { group: groupId, epoch: 0, author: keys[0]!.publicKey, seq: 1, prev: new Uint8Array(32), ts: i, deps: [new Uint8Array(32).fill(i + 1)], body: new Uint8Array(0) },
        keys[0]!.secretKey,
      );
      flood.push(e);
      expect(log.add(e).status).toBe("pending");
      expect(log.pendingCount).toBe(Math.min(i + 1, 10));
    }
    expect(flood.slice(0, 40).some((e) => log.has(hex(e.id)))).toBe(false);
    expect(flood.slice(40).every((e) => log.has(hex(e.id)))).toBe(true);
    const g = log.gaps();
    expect(g.ids.sort()).toEqual(flood.slice(40).map((_, i) => "".padEnd(64, (41 + i).toString(16).padStart(2, "0"))).sort());
  });
});

describe("hidden forks through prev", () => {
  it("rejects an event whose prev skips seqs or names another author's event, delivered or pending", async () => {
    const { loadCrypto } = await import("../src/cwtch/crypto.js");
    const { EventLog } = await import("../src/cwtch/event-log.js");
    const { signEvent } = await import("../src/cwtch/message.js");
    const c = await loadCrypto();
    const a = c.signKeyPair();
    const b = c.signKeyPair();
    const group = new Uint8Array(32).fill(7);
    const ev = (kp: typeof a, seq: number, prev: Uint8Array, body: string) =>
      signEvent(c, { group, epoch: 0, author: kp.publicKey, seq, prev, ts: seq, deps: [], body: new TextEncoder().encode(body) }, kp.secretKey);
    const a1 = ev(a, 1, new Uint8Array(32), "a1");
    const a2 = ev(a, 2, a1.id, "a2");
    const b1 = ev(b, 1, new Uint8Array(32), "b1");
    const skip = ev(a, 9, a1.id, "skips 2..8");
    const foreign = ev(a, 3, b1.id, "prev is b's");
    const log = new EventLog();
    expect(log.add(a1).status).toBe("delivered");
    expect(log.add(a2).status).toBe("delivered");
    expect(log.add(b1).status).toBe("delivered");
    expect(log.add(skip)).toMatchObject({ status: "invalid", reason: "prev has seq 1, expected 8" });
    expect(log.add(foreign)).toMatchObject({ status: "invalid", reason: "prev is another author's event" });
    expect(log.head(Buffer.from(a.publicKey).toString("hex"))?.seq).toBe(2);
    // Pending first, then its prev arrives: still caught.
    const log2 = new EventLog();
    expect(log2.add(skip).status).toBe("pending");
    const r = log2.add(a1);
    expect(r.status === "delivered" && r.delivered.length).toBe(1);
    expect(log2.invalidEvents.map((x) => x.reason)).toEqual(["prev has seq 1, expected 8"]);
    expect(log2.pendingCount).toBe(0);
  });
});
