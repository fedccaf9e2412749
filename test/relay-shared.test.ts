// Relays scaled out: two relay instances on one PostgreSQL database (what a
// load balancer would sit in front of), a subscriber on each. Each subscriber
// gets every frame posted through either instance, once, in seq order; one
// instance restarted mid-run loses nothing: its subscriber resumes with a
// fetch from its last seq and then the live feed, and still sees each frame once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { openPgRelayStore } from "../src/store/relay-pg-store.js";
import { postgresEngine } from "./helpers/engines.js";
import { tagOf, TestClient, type Frame } from "./helpers/ws-client.js";

const T = tagOf("shared");
const pg = postgresEngine("relay_shared");
let url = "";
const relays: RelayServer[] = [];
const clients: TestClient[] = [];

async function instance(port = 0): Promise<RelayServer> {
  const r = await startRelay({ port, store: await openPgRelayStore(url, { shared: true, maxConnections: 4 }), postBurst: 10_000, postsPerSecond: 10_000 });
  relays.push(r);
  return r;
}

async function subscriber(r: RelayServer): Promise<TestClient> {
  const c = await TestClient.connect(r.url);
  clients.push(c);
  expect((await c.request({ op: "subscribe" })).op).toBe("subscribed");
  return c;
}

/** Live frames as this client saw them (fetch replies carry a rid, pushes do not). */
const live = (c: TestClient, from = 0) => c.received.slice(from).filter((f) => f.op === "frame" && f.rid === undefined);

async function postMany(c: TestClient, prefix: string, n: number, acked: Map<string, number>): Promise<void> {
  const window: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const blob = Buffer.from(`${prefix} ${i}`).toString("base64url");
    window.push(c.request({ op: "post", tag: T, blob }, 10_000).then((p) => void (p.op === "posted" && acked.set(blob, p.seq)), () => {}));
    if (window.length >= 16) await window.shift();
  }
  await Promise.all(window);
}

async function waitCount(c: TestClient, pred: () => number, want: number, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (pred() < want && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

beforeAll(async () => {
  const { location, db } = await pg.fresh();
  await db.close();
  url = location;
});
afterAll(async () => {
  for (const c of clients) c.ws.terminate();
  for (const r of relays) await r.close().catch(() => {});
  await pg.cleanup();
});

describe("two relay instances sharing one PostgreSQL", () => {
  it("serves each subscriber every frame from both, once, in seq order", async () => {
    const a = await instance();
    const b = await instance();
    const [subA, subB] = [await subscriber(a), await subscriber(b)];
    const [postA, postB] = [await TestClient.connect(a.url), await TestClient.connect(b.url)];
    clients.push(postA, postB);
    const acked = new Map<string, number>();
    // Both post at once, so commits from the two interleave.
    await Promise.all([postMany(postA, "via a", 300, acked), postMany(postB, "via b", 300, acked)]);
    expect(acked.size).toBe(600);
    for (const sub of [subA, subB]) {
      await waitCount(sub, () => live(sub).length, 600);
      const got = live(sub);
      expect(got.map((f) => f.blob).sort()).toEqual([...acked.keys()].sort());
      const seqs = got.map((f) => f.seq as number);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      for (const f of got) expect(f.seq).toBe(acked.get(f.blob as string));
    }
  }, 60_000);

  it("loses nothing when one instance restarts mid-run", async () => {
    const a = relays[0]!;
    let b = relays[1]!;
    const subA = await subscriber(a);
    let subB = await subscriber(b);
    const seenB: Frame[] = [];
    const postA = await TestClient.connect(a.url);
    clients.push(postA);
    const acked = new Map<string, number>();
    const writer = postMany(postA, "restart", 600, acked);
    // Mid-run: b goes away (its subscriber with it) and comes back on the same port.
    await waitCount(subB, () => live(subB).length, 150);
    seenB.push(...live(subB));
    expect(seenB.length, "b pushed a's frames live before the restart").toBeGreaterThanOrEqual(150);
    const port = b.port;
    await b.close();
    relays.splice(relays.indexOf(b), 1);
    await new Promise((r) => setTimeout(r, 300));
    b = await instance(port);
    subB = await subscriber(b);
    // Resume: subscribed first, then fetch from the last seq seen; frames of both kinds are merged by seq.
    const last = Math.max(0, ...seenB.map((f) => f.seq as number));
    const from = subB.received.length;
    const fetched = await subB.request({ op: "fetch", since: last }, 20_000);
    expect(fetched.op).toBe("caught-up");
    await writer;
    // Under load the writer may have finished before b came back: a few more posts after the
    // restart make sure the restarted b has live frames to push, whatever the timing.
    await postMany(postA, "after restart", 20, acked);
    expect(acked.size).toBe(620);
    const afterRestart = () => subB.received.slice(from).filter((f) => f.op === "frame");
    await waitCount(subB, () => new Set([...seenB, ...afterRestart()].map((f) => f.seq)).size, 620);
    const all = [...seenB, ...afterRestart()].filter((f) => acked.has(f.blob as string));
    const bySeq = new Map<number, Frame>();
    for (const f of all) bySeq.set(f.seq as number, f);
    expect([...bySeq.values()].map((f) => f.blob).sort()).toEqual([...acked.keys()].sort());
    // The replay stops where the live feed starts: no frame came both ways.
    const replayed = afterRestart().filter((f) => f.rid !== undefined).map((f) => f.seq);
    const pushed = new Set(afterRestart().filter((f) => f.rid === undefined).map((f) => f.seq));
    expect(replayed.filter((s) => pushed.has(s))).toEqual([]);
    expect(pushed.size, "the restarted b pushes a's frames live again").toBeGreaterThan(0);
    // The instance that stayed up saw every frame once, in order.
    await waitCount(subA, () => live(subA).length, 620);
    const seqsA = live(subA).map((f) => f.seq as number);
    expect(seqsA).toHaveLength(620);
    expect(seqsA).toEqual([...seqsA].sort((x, y) => x - y));
  }, 90_000);
});
