// What the atk17 attacker (docs and public APIs only) won against the causal
// log and repair, each now refused: a hidden fork that also cites an id that
// never comes stayed pending for good on a client that got it before its prev
// (refused at once on one that got the prev first); three variants at one seq
// gave each client a different set of equivocation records; one signed
// `heads` control, replayed, made a member re-post its whole log every time.
import { afterAll, describe, expect, it } from "vitest";
import { toHex } from "../src/cwtch/bytes.js";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { deriveEpochKeys, openFrame, sealFrame } from "../src/cwtch/envelope.js";
import type { GroupSession } from "../src/cwtch/group-session.js";
import { Group } from "../src/cwtch/group.js";
import { RelayClient } from "../src/cwtch/relay-client.js";
import { startRelay } from "../src/cwtch/relay-server.js";
import { encodeHeads } from "../src/cwtch/sync-controls.js";
import { craft, setup } from "./helpers/crafted-sessions.js";

describe("the causal log, whatever the arrival order", () => {
  it("refuses a hidden fork once its prev arrives, even while it still lacks a dep that never comes", async () => {
    const { sessions, crypto } = await setup(4);
    const [mallory, bob, c1, c2] = sessions as [GroupSession, GroupSession, GroupSession, GroupSession];
    const x = bob.compose(new TextEncoder().encode("bob1")).event;
    const m1 = craft(mallory, { seq: 1, prev: new Uint8Array(32), body: "m1" });
    const h = craft(mallory, { seq: 2, prev: x.id, deps: [crypto.randomBytes(32)], body: "fork" });
    const fX = bob.frameFor(x), fM1 = mallory.frameFor(m1), fH = mallory.frameFor(h);
    for (const f of [fX, fM1, fH]) c1.receive(f.tag, f.blob);
    for (const f of [fH, fX, fM1]) c2.receive(f.tag, f.blob);
    const mHex = toHex(mallory.identity.publicKey);
    const view = (s: GroupSession) => ({ invalid: s.log.invalidEvents.length, flagged: s.log.equivocators.has(mHex), pending: s.log.pendingCount, gaps: s.log.gaps().ids.length });
    expect(view(c1)).toEqual({ invalid: 1, flagged: true, pending: 0, gaps: 0 });
    expect(view(c2)).toEqual(view(c1));
    const m2 = craft(mallory, { seq: 2, prev: m1.id, body: "m2" });
    const f2 = mallory.frameFor(m2);
    c1.receive(f2.tag, f2.blob);
    c2.receive(f2.tag, f2.blob);
    expect(c2.log.equivocations).toEqual(c1.log.equivocations);
  });

  it("keeps one equivocation record per author and seq, with every variant, in any order", async () => {
    const { sessions } = await setup(3);
    const [m, c1, c2] = sessions as [GroupSession, GroupSession, GroupSession];
    const m1 = craft(m, { seq: 1, prev: new Uint8Array(32), body: "m1" });
    const [a, b, c] = ["a", "b", "c"].map((body) => craft(m, { seq: 2, prev: m1.id, body }));
    for (const e of [m1, a!, b!, c!]) c1.receive(m.frameFor(e).tag, m.frameFor(e).blob);
    for (const e of [m1, c!, b!, a!]) c2.receive(m.frameFor(e).tag, m.frameFor(e).blob);
    expect(c1.log.equivocations).toEqual([{ author: toHex(m.identity.publicKey), seq: 2, ids: [a!, b!, c!].map((e) => toHex(e.id)).sort() }]);
    expect(c2.log.equivocations).toEqual(c1.log.equivocations);
  });
});

const toClose: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of toClose.reverse()) await c();
});

describe("repair answers a control once", () => {
  it("a replayed heads control (the same signed bytes, re-sealed) does not re-post the log again", async () => {
    const crypto = await loadCrypto();
    const relay = await startRelay({ powAdaptive: false, postsPerSecond: 10_000, postBurst: 10_000, heartbeatMs: 0 });
    toClose.push(() => relay.close());
    // Bob and Mallory share one group and key.
    const base = await setup(2);
    const [bobS, malS] = base.sessions as [GroupSession, GroupSession];
    const bob = new Group({ session: bobS, relays: [new RelayClient({ url: relay.url, crypto })], repostCooldownMs: 150, repairDelayMs: 60_000, repairIntervalMs: 60_000 });
    toClose.push(() => bob.close());
    const N = 40;
    for (let i = 0; i < N; i++) await bob.publish(new TextEncoder().encode("e" + i));
    const spy = new RelayClient({ url: relay.url, crypto });
    toClose.push(() => spy.close());
    let frames = 0;
    spy.on("frame", () => frames++);
    spy.start();
    await spy.ready();
    await spy.subscribe(bobS.tags);
    const mal = new RelayClient({ url: relay.url, crypto });
    toClose.push(() => mal.close());
    mal.start();
    await mal.ready();
    const ctrl = malS.control("heads", encodeHeads({ heads: [] }));
    const keys = deriveEpochKeys(crypto, 0, base.key);
    const signed = openFrame(crypto, keys, ctrl.blob)!.slice();
    const K = 5;
    for (let k = 0; k < K; k++) {
      await mal.post(ctrl.tag, sealFrame(crypto, keys, signed));
      await new Promise((r) => setTimeout(r, 400));
    }
    await new Promise((r) => setTimeout(r, 300));
    // The first answer re-posts the log once; the replays change nothing.
    expect(frames).toBeGreaterThanOrEqual(N);
    expect(frames).toBeLessThan(2 * N);
  }, 30_000);
});
