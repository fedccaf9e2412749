// Catch-up through the verify pool (a crypto port with verifyMany): a member
// reading a long history from two relays, where every frame comes twice and
// frames forged in a member's name, tampered and replayed sit among them,
// ends with the same log, the same events handed on in causal order, the
// same drops and the same cursor as a member reading it one frame at a time.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { toHex, utf8 } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { sealFrame, deriveEpochKeys } from "../src/cwtch/envelope.js";
import { Group } from "../src/cwtch/group.js";
import { GroupSession } from "../src/cwtch/group-session.js";
import { signEvent, type SignedEvent } from "../src/cwtch/message.js";
import { RelayClient } from "../src/cwtch/relay-client.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { VerifyPool, withVerifyPool } from "../src/cwtch/verify-pool.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});

const OPTS = { postsPerSecond: 1e6, postBurst: 1e6, requestsPerSecond: 1e6, requestBurst: 1e6, heartbeatMs: 0, powAdaptive: false };
let servers: RelayServer[] = [];
let groups: Group[] = [];
let clients: RelayClient[] = [];
let pools: VerifyPool[] = [];
afterEach(async () => {
  for (const g of groups) g.close();
  for (const c of clients) c.close();
  await Promise.all(pools.map((p) => p.close()));
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  groups = [];
  clients = [];
  pools = [];
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe("catch-up through the verify pool", () => {
  it("delivers what frame-by-frame catch-up delivers, from two relays, with forgeries among the frames", async () => {
    const groupId = crypto.randomBytes(32);
    const key = crypto.randomBytes(32);
    const keys = deriveEpochKeys(crypto, 0, key);
    const authors = [0, 1, 2].map(() => crypto.signKeyPair());
    const mallory = crypto.signKeyPair();
    const r1 = await startRelay(OPTS);
    const r2 = await startRelay(OPTS);
    servers.push(r1, r2);

    // 1,500 events by three authors, each citing the last event of the one before: a real causal history.
    const events: SignedEvent[] = [];
    const heads: Array<SignedEvent | null> = [null, null, null];
    for (let i = 0; i < 1500; i++) {
      const a = i % 3;
      const prev = heads[a];
      const dep = events[events.length - 1];
      const ev = signEvent(crypto, { group: groupId, epoch: 0, author: authors[a]!.publicKey, seq: (prev?.seq ?? 0) + 1, prev: prev ? prev.id : new Uint8Array(32), ts: 1_700_000_000_000 + i, deps: dep && dep !== prev ? [dep.id] : [], body: utf8.encode(`event ${i}`) }, authors[a]!.secretKey);
      heads[a] = ev;
      events.push(ev);
    }
    const poster = new RelayClient({ url: r1.url, crypto });
    const poster2 = new RelayClient({ url: r2.url, crypto });
    clients.push(poster, poster2);
    poster.start();
    poster2.start();
    await waitFor(() => poster.connected && poster2.connected, 5000, "posters");
    const bad: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) {
      // In author 0's name, signed by someone else; and a real frame with a bit flipped.
      const forged = signEvent(crypto, { group: groupId, epoch: 0, author: authors[0]!.publicKey, seq: 2000 + i, prev: events[0]!.id, ts: 1, deps: [], body: utf8.encode(`forged ${i}`) }, mallory.secretKey);
      bad.push(sealFrame(crypto, keys, forged.bytes));
      const t = sealFrame(crypto, keys, events[i * 7]!.bytes);
      t[40]! ^= 1;
      bad.push(t);
    }
    // Two relays, each given the history in its own order (r2 newest first), forgeries spread through both.
    let b = 0;
    for (let i = 0; i < events.length; i++) {
      await poster.post(keys.tag, sealFrame(crypto, keys, events[i]!.bytes));
      await poster2.post(keys.tag, sealFrame(crypto, keys, events[events.length - 1 - i]!.bytes));
      if (i % 75 === 0 && b < bad.length) {
        await poster.post(keys.tag, bad[b]!);
        await poster2.post(keys.tag, bad[b++]!);
      }
    }

    let pooledItems = 0;
    const member = (pooled: boolean) => {
      const pool = pooled ? new VerifyPool(crypto, { size: 2, minItems: 2 }) : null;
      if (pool) pools.push(pool);
      const wrapped = pool ? withVerifyPool(crypto, pool) : null;
      // Counts what went through the pool, so the test knows the batched path ran.
      const c: Crypto = wrapped ? { ...wrapped, verifyMany: (items) => ((pooledItems += items.length), pool!.verifyMany(items)) } : crypto;
      const session = new GroupSession({ crypto: c, identity: crypto.signKeyPair(), groupId, epochs: [{ epoch: 0, key }], now: Date.now });
      const relays = [r1, r2].map((r) => new RelayClient({ url: r.url, crypto }));
      clients.push(...relays);
      const group = new Group({ session, relays, repairDelayMs: 60_000, repairIntervalMs: 60_000 });
      groups.push(group);
      const delivered: string[] = [];
      group.on("events", (evs) => delivered.push(...evs.map((e) => toHex(e.id))));
      return { session, group, delivered, pool };
    };
    const plain = member(false);
    const pooled = member(true);
    // Caught up: each relay's cursor at its last frame (1,500 events and b bad frames each).
    const done = (m: typeof plain) => m.group.status().relays.every((r) => r.cursor === 1500 + b);
    await waitFor(() => done(plain) && done(pooled), 60_000, "both members to read both relays to the end");

    for (const m of [plain, pooled]) {
      // Each event handed on once, after everything it cites.
      const at = new Map(m.delivered.map((id, i) => [id, i]));
      expect(at.size).toBe(1500);
      for (const e of events) for (const p of [...e.deps, ...(e.seq > 1 ? [e.prev] : [])]) expect(at.get(toHex(p))!).toBeLessThan(at.get(toHex(e.id))!);
      expect(m.session.log.pendingCount).toBe(0);
      // Each forgery and each tampered frame, once from each relay.
      expect(m.session.drops.get("bad-signature")).toBe(2 * Math.ceil(b / 2));
      expect(m.session.drops.get("undecryptable")).toBe(2 * Math.floor(b / 2));
    }
    expect([...pooled.session.log.events()].map((e) => toHex(e.id)).sort()).toEqual([...plain.session.log.events()].map((e) => toHex(e.id)).sort());
    expect(pooled.group.status().relays.map((r) => r.cursor)).toEqual(plain.group.status().relays.map((r) => r.cursor));
    expect(pooled.pool!.failures).toBe(0);
    // Every frame but the undecryptable ones had its signature checked through the pool, from both relays.
    expect(pooledItems).toBe(2 * (1500 + Math.ceil(b / 2)));
  }, 120_000);
});

describe("the pool's start", () => {
  it("checks the first `startAfter` signatures on this thread and starts workers only past them, with the same answers", async () => {
    const kp = crypto.signKeyPair();
    const items = Array.from({ length: 300 }, (_, i) => {
      const message = utf8.encode(`m${i}`);
      const sig = crypto.sign(message, kp.secretKey);
      if (i % 5 === 0) sig[3]! ^= 4;
      return { sig, message, publicKey: kp.publicKey };
    });
    const want = items.map((it) => crypto.verify(it.sig, it.message, it.publicKey));
    const pool = new VerifyPool(crypto, { size: 1, minItems: 2, startAfter: 100 });
    pools.push(pool);
    expect(await pool.verifyMany(items.slice(0, 60))).toEqual(want.slice(0, 60));
    expect(await pool.verifyMany(items.slice(60, 100))).toEqual(want.slice(60, 100));
    expect(pool.running).toBe(0);
    expect(await pool.verifyMany(items.slice(100))).toEqual(want.slice(100));
    expect(pool.running).toBe(1);
  });
});
