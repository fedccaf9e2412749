// Losing a relay loses nothing while another is left; moving a group to a new
// relay is re-posting its history there.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { toHex, utf8 } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { Group } from "../src/cwtch/group.js";
import { GroupSession } from "../src/cwtch/group-session.js";
import type { SignedEvent } from "../src/cwtch/message.js";
import { RelayClient } from "../src/cwtch/relay-client.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RELAY_OPTS = { postsPerSecond: 2000, postBurst: 4000, requestsPerSecond: 1000, requestBurst: 2000, heartbeatMs: 0 };

interface Member {
  name: string;
  session: GroupSession;
  group: Group;
  published: SignedEvent[];
  delivered: SignedEvent[];
  wantsSent: number;
}

let servers: RelayServer[] = [];
let members: Member[] = [];
let loose: RelayClient[] = [];
afterEach(async () => {
  for (const m of members) m.group.close();
  for (const c of loose) c.close();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  members = [];
  loose = [];
});

async function relay(): Promise<RelayServer> {
  const r = await startRelay(RELAY_OPTS);
  servers.push(r);
  return r;
}
function client(url: string): RelayClient {
  const c = new RelayClient({ url, crypto, minBackoffMs: 50, maxBackoffMs: 400, requestTimeoutMs: 2000 });
  loose.push(c);
  return c;
}
function member(name: string, w: { groupId: Uint8Array; key: Uint8Array }, urls: string[], backoffMs?: number): Member {
  const session = new GroupSession({ crypto, identity: crypto.signKeyPair(), groupId: w.groupId, epochs: [{ epoch: 0, key: w.key }], now: Date.now });
  const relays = urls.map((u) => {
    if (backoffMs === undefined) return client(u);
    const c = new RelayClient({ url: u, crypto, minBackoffMs: backoffMs, maxBackoffMs: backoffMs, requestTimeoutMs: 5000 });
    loose.push(c);
    return c;
  });
  const group = new Group({ session, relays, repairDelayMs: 50, repairIntervalMs: 300, repostCooldownMs: 200 });
  const m: Member = { name, session, group, published: [], delivered: [], wantsSent: 0 };
  group.on("events", (evs) => m.delivered.push(...evs));
  const requestRepair = group.requestRepair.bind(group);
  group.requestRepair = async () => {
    const n = await requestRepair();
    if (n > 0) m.wantsSent++;
    return n;
  };
  members.push(m);
  return m;
}
async function publishMany(m: Member, n: number, gapMs: number) {
  for (let i = 0; i < n; i++) {
    m.published.push(await m.group.publish(utf8.encode(`${m.name}#${i}`)));
    await sleep(gapMs);
  }
}
async function waitFor(pred: () => boolean, timeoutMs: number, what: string) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}
const idSet = (m: Member) => [...m.session.log.events()].map((e) => toHex(e.id)).sort();

/** Delivered exactly once each, causal order, and byte-identical to what the authors signed. */
function assertLog(m: Member, truth: Map<string, SignedEvent>) {
  const seen = new Set<string>();
  for (const ev of m.delivered) {
    const id = toHex(ev.id);
    expect(seen.has(id)).toBe(false);
    expect(Buffer.from(truth.get(id)!.bytes).equals(Buffer.from(ev.bytes))).toBe(true);
    if (ev.seq > 1) expect(seen.has(toHex(ev.prev))).toBe(true);
    for (const d of ev.deps) expect(seen.has(toHex(d))).toBe(true);
    seen.add(id);
  }
  expect(seen.size).toBe(truth.size);
}

describe("a group on several relays", () => {
  it("keeps going when a relay dies mid-run, then moves its history to a relay on a new port", async () => {
    const t0 = Date.now();
    const r1 = await relay();
    const r2 = await relay();
    const w = { groupId: crypto.randomBytes(32), key: crypto.randomBytes(32) };
    const X = member("X", w, [r1.url, r2.url]);
    const Y = member("Y", w, [r1.url, r2.url]);
    await waitFor(() => [X, Y].every((m) => m.group.status().relays.every((r) => r.connected)), 5000, "connections");
    await sleep(150);

    // Both publish 30 events; R1 is shut down once X has published 10.
    let killedAfter = { x: -1, y: -1 };
    const killer = (async () => {
      await waitFor(() => X.published.length >= 10, 10_000, "X's 10th event");
      await r1.close();
      killedAfter = { x: X.published.length, y: Y.published.length };
    })();
    await Promise.all([publishMany(X, 30, 12), publishMany(Y, 30, 15), killer]);
    expect(killedAfter.x).toBeGreaterThanOrEqual(10);
    expect(30 - killedAfter.x).toBeGreaterThanOrEqual(10); // most of the run happened without R1
    expect(30 - killedAfter.y).toBeGreaterThanOrEqual(10);

    const truth = new Map([...X.published, ...Y.published].map((e) => [toHex(e.id), e] as const));
    const all = [...truth.keys()].sort();
    expect(all).toHaveLength(60);
    await waitFor(() => idSet(X).length === 60 && idSet(Y).length === 60, 15_000, "X and Y to converge through R2");
    expect(idSet(X)).toEqual(all);
    expect(idSet(Y)).toEqual(all);
    for (const m of [X, Y]) {
      const st = m.group.status();
      expect(st.pending).toBe(0);
      expect(st.gaps).toEqual({ ids: [], ranges: [] });
      expect(st.relays.find((r) => r.url === r1.url)?.connected).toBe(false);
      expect(st.relays.find((r) => r.url === r2.url)?.connected).toBe(true);
      assertLog(m, truth);
    }
    // R2 alone carried everything: no repair was needed.
    expect(X.wantsSent + Y.wantsSent).toBe(0);
    expect((await r2.store.stats()).count).toBe(60);

    // The relay comes back on a new port, empty. X moves the history there; Y just adds it.
    const r3 = await relay();
    expect(r3.port).not.toBe(r1.port);
    X.group.removeRelay(r1.url);
    Y.group.removeRelay(r1.url);
    await X.group.addRelay(client(r3.url), { moveHistory: true });
    await Y.group.addRelay(client(r3.url));
    expect((await r3.store.stats()).count).toBe(60);

    // A newcomer who only knows the new relay gets the whole log, in causal order.
    const Z = member("Z", w, [r3.url]);
    await waitFor(() => Z.session.log.size === 60, 10_000, "Z to read the moved history");
    expect(idSet(Z)).toEqual(all);
    expect(Z.group.status().pending).toBe(0);
    assertLog(Z, truth);

    // And the group now lives without its first two relays: R2 goes too, and a
    // new event from X still reaches Y and Z through R3.
    await r2.close();
    await waitFor(() => Y.group.status().relays.every((r) => r.url !== r2.url || !r.connected), 5000, "Y to notice R2 is gone");
    const last = await X.group.publish(utf8.encode("X#after"));
    await waitFor(() => Y.session.log.has(toHex(last.id)) && Z.session.log.has(toHex(last.id)), 5000, "the last event via R3");
    expect(Y.session.log.size).toBe(61);
    expect(Z.session.log.size).toBe(61);
    console.info(`[multi-relay] ${Date.now() - t0} ms; R1 killed after X#${killedAfter.x}, Y#${killedAfter.y}`);
  }, 60_000);

  it("reads a relay from the start again when it restarted empty on the same address", async () => {
    // A memory relay that restarts numbers its frames from 1 again. A member
    // whose cursor is past the relay's new `latest` must not skip what was
    // posted before it reconnected.
    let r = await relay();
    const port = r.port;
    const w = { groupId: crypto.randomBytes(32), key: crypto.randomBytes(32) };
    const X = member("X", w, [r.url], 2500); // reconnects slowly (1250..2500 ms)
    const Y = member("Y", w, [r.url], 40); // reconnects at once
    await waitFor(() => [X, Y].every((m) => m.group.status().relays.every((s) => s.connected)), 5000, "connections");
    await sleep(100);
    await publishMany(Y, 5, 5);
    await waitFor(() => X.session.log.size === 5, 5000, "X to read Y's first five");
    expect(X.group.status().relays[0]!.cursor).toBe(5);

    await r.close();
    servers = servers.filter((s) => s !== r);
    r = await startRelay({ ...RELAY_OPTS, port });
    servers.push(r);
    for (let i = 5; i < 8; i++) Y.published.push(await Y.group.publish(utf8.encode(`Y#${i}`)));
    expect(X.group.status().relays[0]!.connected).toBe(false); // these went by while X was away

    await waitFor(() => X.session.log.size === 8, 8000, "X to catch up with the restarted relay");
    expect(idSet(X)).toEqual(Y.published.map((e) => toHex(e.id)).sort());
    expect(X.wantsSent).toBe(0); // catch-up did it, not repair
    expect(X.group.status().relays[0]!.cursor).toBeGreaterThanOrEqual(3);
    // Y found the relay empty and re-seeded it: a member who knows only this relay gets everything.
    const Z = member("Z", w, [r.url], 40);
    await waitFor(() => Z.session.log.size === 8, 8000, "Z to read the whole history from the re-seeded relay");
  }, 30_000);

  it("a relay back on a new, empty store that has already passed our old cursor is read from the start", async () => {
    // X's cursor is 5. The relay comes back on an empty store and a newcomer Z posts 8 events
    // there (seqs 1..8). Keyed by url alone, X would fetch since 5 and miss Z#1..Z#5 until gap
    // repair asked for them; keyed by the relay's instance, X reads the new store from 0.
    let r = await relay();
    const port = r.port;
    const w = { groupId: crypto.randomBytes(32), key: crypto.randomBytes(32) };
    const X = member("X", w, [r.url], 2500);
    const Y = member("Y", w, [r.url], 40);
    await waitFor(() => [X, Y].every((m) => m.group.status().relays.every((s) => s.connected)), 5000, "connections");
    await sleep(100);
    await publishMany(Y, 5, 5);
    await waitFor(() => X.session.log.size === 5, 5000, "X to read Y's first five");
    expect(X.group.status().relays[0]!.cursor).toBe(5);
    Y.group.close(); // Y goes away and does not re-seed the new store

    await r.close();
    servers = servers.filter((s) => s !== r);
    r = await startRelay({ ...RELAY_OPTS, port });
    servers.push(r);
    const Z = member("Z", w, [r.url], 40);
    await waitFor(() => Z.group.status().relays[0]!.connected, 5000, "Z connected");
    await publishMany(Z, 8, 8);
    expect((await r.store.stats()).latest).toBe(8);

    await waitFor(() => X.session.log.size === 13, 10_000, "X to read Z's events from the new store");
    expect(X.wantsSent).toBe(0);
  }, 30_000);
});
