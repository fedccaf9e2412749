// Test plumbing for PursuanceClient: real relays, real WebSockets, real
// libsodium, an in-memory client store. Every port is the real one but the store.
import { loadCrypto, type SignKeyPair } from "../../src/cwtch/crypto.js";
import { RelayClient } from "../../src/cwtch/relay-client.js";
import { PursuanceClient } from "../../src/pursuance/client/client.js";
import { memoryStore, type ClientPorts } from "../../src/pursuance/ports.js";
import { systemTimer } from "../../src/cwtch/timer.js";

export async function ports(): Promise<ClientPorts & { store: ReturnType<typeof memoryStore> }> {
  const crypto = await loadCrypto();
  return {
    crypto,
    now: () => Date.now(),
    setTimer: systemTimer,
    connect: (url) => new RelayClient({ url, crypto, minBackoffMs: 50, maxBackoffMs: 500, requestTimeoutMs: 5_000 }),
    store: memoryStore(),
  };
}

export async function identity(): Promise<SignKeyPair> {
  return (await loadCrypto()).signKeyPair();
}

/** Poll until `cond` holds (sync rounds between polls), or fail naming what was awaited. */
export async function until(what: string, cond: () => boolean, clients: PursuanceClient[], timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Promise.all(clients.map((c) => c.sync({ timeoutMs: 2_000, quietMs: 100 })));
  }
}
