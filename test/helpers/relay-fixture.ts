// Relays and raw test clients for one test file, all closed after each test.
import { afterEach } from "vitest";
import { startRelay, type RelayOptions, type RelayServer } from "../../src/cwtch/relay-server.js";
import { TestClient } from "./ws-client.js";

export function relayFixture(defaults: RelayOptions = {}) {
  let relays: RelayServer[] = [];
  let clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients) c.ws.terminate();
    await Promise.all(relays.map((r) => r.close()));
    relays = [];
    clients = [];
  });
  return {
    async relay(o: RelayOptions = {}): Promise<RelayServer> {
      const r = await startRelay({ ...defaults, ...o });
      relays.push(r);
      return r;
    },
    async client(r: RelayServer): Promise<TestClient> {
      const c = await TestClient.connect(r.url);
      clients.push(c);
      return c;
    },
  };
}
