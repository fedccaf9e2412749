// A relay restarted on an empty store is a new store: a member's client puts
// the whole log there again, however often it happens and whether the log
// first reached that relay by a re-seed or by a move (attack atk10: the
// "already seeded" mark was kept per URL, so a second restart, or a restart
// after a move, left the relay empty for good).
import { afterEach, describe, expect, it } from "vitest";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { identity, ports } from "./helpers/pursuance-node.js";

const relays: RelayServer[] = [];
const clients: PursuanceClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const r of relays.splice(0)) await r.close().catch(() => {});
});
const opts = { repairDelayMs: 50 };

async function restartEmpty(r: RelayServer): Promise<RelayServer> {
  await r.close();
  const fresh = await startRelay({ port: r.port, powAdaptive: false });
  relays.push(fresh);
  return fresh;
}

/** The client re-posts its whole log to the relay (Group's "reseeding"), and the relay then holds at least that many frames. */
async function reseeded(c: PursuanceClient, r: RelayServer, seen: { n: number }, before: number): Promise<boolean> {
  for (let i = 0; i < 30 && seen.n === before; i++) await c.sync({ timeoutMs: 1_000, quietMs: 100 });
  if (seen.n === before) return false;
  // The re-posts run on after the event: give them their time.
  for (let i = 0; i < 50 && (await r.store.stats()).count < c.session.log.size; i++) await new Promise((res) => setTimeout(res, 100));
  return (await r.store.stats()).count >= c.session.log.size;
}
const countReseeds = (c: PursuanceClient) => {
  const seen = { n: 0 };
  c.group.on("reseeding", () => seen.n++);
  return seen;
};

describe("a relay restarted empty gets the log again (real relays, a real client)", () => {
  it("after a re-seed, restarted empty twice", async () => {
    let r = await startRelay({ port: 0, powAdaptive: false });
    relays.push(r);
    const c = await PursuanceClient.create(await ports(), await identity(), { name: "p", founderName: "ada", relays: [r.url], ...opts });
    clients.push(c);
    const seen = countReseeds(c);
    await c.publish({ t: "announce", text: "one" });
    r = await restartEmpty(r);
    expect(await reseeded(c, r, seen, 0)).toBe(true);
    r = await restartEmpty(r);
    expect(await reseeded(c, r, seen, 1)).toBe(true);
  }, 90_000);

  it("after a move put the log there", async () => {
    const a = await startRelay({ port: 0, powAdaptive: false });
    relays.push(a);
    let b = await startRelay({ port: 0, powAdaptive: false });
    relays.push(b);
    const c = await PursuanceClient.create(await ports(), await identity(), { name: "p", founderName: "ada", relays: [a.url], ...opts });
    clients.push(c);
    const seen = countReseeds(c);
    const { copied } = await c.changeRelays({ add: b.url });
    await copied;
    expect((await b.store.stats()).count).toBeGreaterThanOrEqual(c.session.log.size);
    b = await restartEmpty(b);
    expect(await reseeded(c, b, seen, 0)).toBe(true);
  }, 90_000);
});
