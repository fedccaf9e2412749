// A real Synapse with the bridge's registration, a real relay, and the
// bridge itself: in this process (start) or as a separate process.
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import type { Bridge, BridgeLimits, BridgeSettings } from "../src/bridge/bridge.js";
import { startBridge } from "../src/bridge/bridge-root.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { freePort, startSynapse, type SynapseHandle } from "./synapse.js";
import { TestUser } from "./matrix.js";
import { E2EE_REGISTRATION } from "../src/bridge/registration.js";

export interface Harness {
  dir: string;
  synapse: SynapseHandle;
  relay: RelayServer;
  bridgePort: number;
  asToken: string;
  hsToken: string;
  identityKey: Uint8Array;
  user(localpart: string): Promise<TestUser>;
  close(): Promise<void>;
}

/**
 * `federate`: the homeserver federates over loopback (its server name is then localhost:<federation port>).
 * `appservices`: more registration files for the homeserver to load beside the bridge's (a bench's echo appservice).
 */
export async function startHarness(opts: { federate?: boolean; appservices?: string[] } = {}): Promise<Harness> {
  const fedPort = opts.federate ? await freePort() : undefined;
  const serverName = fedPort ? `localhost:${fedPort}` : "localhost";
  const ns = serverName.replace(/[.]/g, "\\.");
  const dir = mkdtempSync(join(tmpdir(), "pursuance-bridge-"));
  const bridgePort = await freePort();
  const asToken = randomBytes(24).toString("base64url");
  const hsToken = randomBytes(24).toString("base64url");
  const reg = join(dir, "registration.yaml");
  writeFileSync(
    reg,
    stringify({
      id: "pursuance",
      url: `http://127.0.0.1:${bridgePort}`,
      as_token: asToken,
      hs_token: hsToken,
      sender_localpart: "_pursuance_bot",
      rate_limited: false,
      ...E2EE_REGISTRATION,
      namespaces: { users: [{ exclusive: true, regex: `@_pursuance_.*:${ns}` }], aliases: [{ exclusive: true, regex: `#_pursuance_.*:${ns}` }], rooms: [] },
    }),
  );
  const synapse = await startSynapse({ appserviceRegistrations: [reg, ...(opts.appservices ?? [])], ...(fedPort ? { serverName, federationPort: fedPort } : {}) });
  const relay = await startRelay();
  return {
    dir,
    synapse,
    relay,
    bridgePort,
    asToken,
    hsToken,
    identityKey: new Uint8Array(randomBytes(32)),
    async user(localpart) {
      const u = await synapse.registerUser(localpart, `pw-${localpart}-123`);
      return new TestUser(synapse.baseUrl, u.userId, u.accessToken);
    },
    async close() {
      await relay.close();
      await synapse.stop();
    },
  };
}

export async function startBridgeInProcess(h: Harness, database = "memory://", extra: { perRoleRooms?: boolean; quiet?: boolean; limits?: Partial<BridgeLimits>; announce?: BridgeSettings["announce"]; encryption?: BridgeSettings["encryption"]; identityKey?: Uint8Array } = {}): Promise<Bridge> {
  const { quiet, ...settings } = extra;
  return startBridge({
    homeserverUrl: h.synapse.baseUrl,
    domain: h.synapse.serverName,
    bindAddress: "127.0.0.1",
    port: h.bridgePort,
    asToken: h.asToken,
    hsToken: h.hsToken,
    botLocalpart: "_pursuance_bot",
    userPrefix: "_pursuance_",
    database,
    relays: [h.relay.url],
    identityKey: h.identityKey,
    permissionFor: () => "admin",
    appserviceId: "pursuance",
    ...settings,
    log: (level, msg, f) => {
      if (level !== "info" && !quiet) process.stderr.write(`bridge ${level}: ${msg} ${f ? JSON.stringify(f) : ""}\n`);
    },
  });
}
