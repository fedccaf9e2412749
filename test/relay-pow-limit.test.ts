// A relay that demands more proof-of-work than a client will mint (hostile, or started with
// powBits near 32) is refused at once with its demand named; a demand within the limit that the
// machine cannot meet in time fails the post at its deadline without freezing the process
// (docs/DESIGN.md, layer 1).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { RelayClient } from "../src/cwtch/relay-client.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";

let crypto: Crypto;
const relays: RelayServer[] = [];
const clients: RelayClient[] = [];
beforeAll(async () => {
  crypto = await loadCrypto();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(relays.map((r) => r.close()));
});

async function clientOf(powBits: number, maxPowBits?: number, requestTimeoutMs = 2_000): Promise<RelayClient> {
  const r = await startRelay({ powBits, crypto });
  relays.push(r);
  const c = new RelayClient({ url: r.url, crypto, requestTimeoutMs, ...(maxPowBits === undefined ? {} : { maxPowBits }) }).start();
  clients.push(c);
  await c.ready();
  return c;
}

describe("a relay's proof-of-work demand over the client's limit", () => {
  it("is refused at once, naming the demand and the limit, without minting", async () => {
    const c = await clientOf(30);
    const err: unknown = await c.post("dGFn", new Uint8Array(64)).then(
      () => new Error("the post was accepted"),
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "pow-too-hard" });
    expect((err as Error).message).toMatch(/demands 30 bits .* limit of 24/);
  });

  it("a demand within the limit is still met and the post is stored", async () => {
    const c = await clientOf(8, 10);
    const r = await c.post("dGFn", new Uint8Array(64));
    expect(r.seq).toBeGreaterThan(0);
  });

  it("a demand within the limit that cannot be met before the post's deadline fails the post at its deadline, and the process keeps running meanwhile", async () => {
    // 30 bits is ~a billion hashes: minutes of work, against a 300 ms deadline (luck finds one in 300 ms about once in 3,000 runs).
    const c = await clientOf(30, 30, 300);
    let turns = 0;
    const ticker = setInterval(() => turns++, 20);
    const started = performance.now();
    const err: unknown = await c.post("dGFn", new Uint8Array(64)).then(
      () => new Error("the post was accepted"),
      (e: unknown) => e,
    );
    const took = performance.now() - started;
    clearInterval(ticker);
    expect(err).toMatchObject({ code: "timeout" });
    expect((err as Error).message).toMatch(/30-bit proof-of-work stamp before the post's deadline/);
    // The minting gave the event loop its turns (a blocking mint lets no timer fire until it ends).
    expect(turns).toBeGreaterThan(0);
    // Given up at the deadline, not after the whole search (which takes seconds here).
    expect(took).toBeLessThan(1_500);
  });
});
