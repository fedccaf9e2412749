// The floor of an encrypting appservice, for bench/bridge-e2ee.ts: it answers
// "echo X" with "echoed X" and does nothing else, built from the bridge's own
// pieces (AppserviceHttp for transactions, BridgeE2ee for the device, its
// store in an in-memory bridge database), so that an encrypted echo costs
// exactly what the bridge's crypto costs and the bridge's `!task create` over
// it is the bridge's own work.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { AppserviceHttp, type MatrixEvent } from "../src/bridge/appservice-http.js";
import { BridgeE2ee, KeyPendingError } from "../src/bridge/e2ee/e2ee.js";
import { IdentityVault } from "../src/bridge/identity-vault.js";
import { E2EE_REGISTRATION } from "../src/bridge/registration.js";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { openDatabase, type Database } from "../src/store/db.js";
import { e2eeDeviceRows } from "../src/store/e2ee-store.js";
import { bridgeStore } from "../src/store/bridge-store.js";
import { freePort } from "../harness/synapse.js";

const LOCALPART = "_echo_bot";

/** A registration for the homeserver to load; written before it starts, since Synapse reads them only then. */
export interface EchoRegistration {
  path: string;
  port: number;
  asToken: string;
  hsToken: string;
  /** Removes the registration's directory. */
  remove(): void;
}

export async function writeEchoRegistration(serverName = "localhost"): Promise<EchoRegistration> {
  const dir = mkdtempSync(join(tmpdir(), "pursuance-echo-as-"));
  const port = await freePort();
  const asToken = randomBytes(24).toString("base64url");
  const hsToken = randomBytes(24).toString("base64url");
  const path = join(dir, "echo-registration.yaml");
  const ns = serverName.replace(/[.]/g, "\\.");
  writeFileSync(
    path,
    stringify({
      id: "pursuance-bench-echo",
      url: `http://127.0.0.1:${port}`,
      as_token: asToken,
      hs_token: hsToken,
      sender_localpart: LOCALPART,
      rate_limited: false,
      ...E2EE_REGISTRATION,
      namespaces: { users: [{ exclusive: true, regex: `@_echo_.*:${ns}` }], aliases: [], rooms: [] },
    }),
  );
  return { path, port, asToken, hsToken, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface EchoAppservice {
  userId: string;
  echoed: number;
  /** Resolves when every event received so far has been answered. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startEcho(reg: EchoRegistration, homeserverUrl: string, serverName = "localhost"): Promise<EchoAppservice> {
  const userId = `@${LOCALPART}:${serverName}`;
  const log = (level: "info" | "warn" | "error", msg: string, f?: Record<string, unknown>) => {
    if (level !== "info") process.stderr.write(`echo appservice ${level}: ${msg} ${f ? JSON.stringify(f) : ""}\n`);
  };
  const db: Database = await openDatabase("memory://");
  const e2ee = new BridgeE2ee({
    homeserverUrl,
    asToken: reg.asToken,
    botUserId: userId,
    rows: e2eeDeviceRows(db.db),
    vault: new IdentityVault(await loadCrypto(), new Uint8Array(randomBytes(32))),
    ioTimeoutMs: 30_000,
    keyWaitMs: 10_000,
    // The same replay record as the bridge's, so the crypto cost compared is the same.
    opened: bridgeStore(db.db),
    log,
  });
  const as = async (method: string, path: string, body: unknown) => {
    const r = await fetch(`${homeserverUrl}${path}${path.includes("?") ? "&" : "?"}user_id=${encodeURIComponent(userId)}`, {
      method,
      headers: { authorization: `Bearer ${reg.asToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  };
  let txn = 0;
  // As the bridge does: a key not here yet is waited for (woken by each to-device delivery), up to 10 s.
  const openWaiting = async (e: MatrixEvent) => {
    const until = Date.now() + 10_000;
    for (;;) {
      try {
        return await e2ee.open(e, until);
      } catch (err) {
        if (!(err instanceof KeyPendingError)) throw err;
        await e2ee.keyArrival(Math.min(500, until - Date.now()));
      }
    }
  };
  const answer = async (e: MatrixEvent) => {
    if (e.type === "m.room.member") {
      if (e.state_key === userId && e.content.membership === "invite") await as("POST", `/_matrix/client/v3/join/${encodeURIComponent(e.room_id)}`, {});
      return;
    }
    const d = e.type === "m.room.encrypted" ? await openWaiting(e) : { type: e.type, content: e.content };
    const body = d.content.body;
    if (d.type !== "m.room.message" || typeof body !== "string" || !body.startsWith("echo ")) return;
    const out = await e2ee.seal(e.room_id, userId, "m.room.message", { msgtype: "m.text", body: `echoed ${body.slice(5)}` });
    await as("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(e.room_id)}/send/${out.type}/echo${Date.now()}.${txn++}`, out.content);
    svc.echoed++;
  };
  // Answered off the transaction's chain, in order, as the bridge's room queues do: a message whose
  // room key is in the next transaction must not hold that transaction up.
  let work: Promise<void> = Promise.resolve();
  const http = new AppserviceHttp({
    bindAddress: "127.0.0.1",
    port: reg.port,
    hsToken: reg.hsToken,
    isOurUser: (u) => u === userId,
    onEvent: async (e) => {
      e2ee.noteEvent(e);
      if (e.sender === userId) return;
      work = work.then(() => answer(e)).catch((err: Error) => log("error", "could not echo", { event: e.event_id, error: err.message }));
    },
    onDevices: (t) => e2ee.receive(t),
    ready: () => true,
    metrics: null,
    log,
  });
  const svc: EchoAppservice = {
    userId,
    echoed: 0,
    idle: () => work,
    async stop() {
      await http.close().catch(() => {});
      await work;
      await e2ee.stop().catch(() => {});
      await db.close().catch(() => {});
    },
  };
  try {
    // As the bridge does: the device's keys are up before the homeserver hears from us.
    await e2ee.start();
    await http.listen();
  } catch (e) {
    await svc.stop();
    throw e;
  }
  return svc;
}
