// The bridge's composition root: the one place its parts are made and wired
// (database, stores, identity vault, end-to-bridge encryption, Matrix client,
// announcement mirror, assignment notices, room queues, the appservice HTTP
// side, and each hosted client's ports: relay connections, client store),
// handed to `Bridge` through its constructor (as matrix-hookshot's App does
// its Bridge), then started. The CLI (`bridge`, `up`) and the test harness
// start a bridge here; nothing else constructs these parts.
import { loadCrypto, type Crypto } from "../cwtch/crypto.js";
import { RelayClient } from "../cwtch/relay-client.js";
import { systemTimer } from "../cwtch/timer.js";
import { CLIENT_START_AFTER, VerifyPool, withVerifyPool } from "../cwtch/verify-pool.js";
import type { ClientPorts } from "../pursuance/ports.js";
import { announceStore } from "../store/announce-store.js";
import { bridgeStore } from "../store/bridge-store.js";
import { clientStore } from "../store/client-store.js";
import { openDatabase, type Database } from "../store/db.js";
import { e2eeDeviceRows } from "../store/e2ee-store.js";
import { AnnounceMirror } from "./announce/mirror.js";
import { PublicRoomsMatrix } from "./announce/public-rooms.js";
import { AppserviceHttp } from "./appservice-http.js";
import { AssignmentNotices } from "./assignment-notices.js";
import { Bridge } from "./bridge.js";
import { withDeadlines } from "./deadline.js";
import { BridgeE2ee } from "./e2ee/e2ee.js";
import { IdentityVault } from "./identity-vault.js";
import { BridgeMatrix } from "./matrix-client.js";
import { directRoomOf, guardedSealer } from "./room-guard.js";
import { RoomQueues } from "./room-queue.js";
import { withSealedInbound } from "./sealed-store.js";
import { DEFAULT_ENCRYPTION, DEFAULT_LIMITS, type BridgeSettings } from "./settings.js";

/**
 * Make every part, hand them to a Bridge and start it; resolves once it answers the homeserver.
 * `created` is told of the Bridge as soon as it exists, before it starts (so a host can stop it meanwhile).
 */
export async function startBridge(s: BridgeSettings, o: { created?: (b: Bridge) => void } = {}): Promise<Bridge> {
  const limits = { ...DEFAULT_LIMITS, ...s.limits };
  const encryption = { ...DEFAULT_ENCRYPTION, ...s.encryption };
  let bridge: Bridge | undefined;
  const queues = new RoomQueues({
    // A backstop: each step bounds its own work (and then still answers), so allow it that.
    stepTimeoutMs: 2 * limits.stepTimeoutMs + limits.ioTimeoutMs,
    stuckAfterMs: limits.stuckAfterMs,
    onError: (room, err) => s.log("error", "inbound handling failed", { room, error: err.message }),
  });
  const crypto = await loadCrypto();
  const db = await openDatabase(s.database);
  const vault = new IdentityVault(crypto, s.identityKey);
  const store = withDeadlines(withSealedInbound(bridgeStore(db.db), vault), limits.ioTimeoutMs, "database");
  const botUserId = `@${s.botLocalpart}:${s.domain}`;
  let e2ee: BridgeE2ee | null = null;
  if (encryption.allow) {
    e2ee = new BridgeE2ee({
      homeserverUrl: s.homeserverUrl,
      asToken: s.asToken,
      botUserId,
      rows: withDeadlines(e2eeDeviceRows(db.db), limits.ioTimeoutMs, "database"),
      vault,
      ioTimeoutMs: limits.ioTimeoutMs,
      keyWaitMs: encryption.keyWaitMs,
      rotation: encryption.rotation,
      opened: store,
      log: s.log,
    });
    // Before the homeserver hears from us: a user's client must find the bot's device keys before it writes.
    try {
      await e2ee.start();
    } catch (e) {
      // Nothing else was started yet: let go of the database so a corrected start can open it.
      await e2ee.stop().catch(() => {});
      await db.close().catch(() => {});
      throw e;
    }
  }
  const e2 = e2ee;
  const matrix = withDeadlines(
    new BridgeMatrix({
      homeserverUrl: s.homeserverUrl,
      domain: s.domain,
      asToken: s.asToken,
      botLocalpart: s.botLocalpart,
      encryptNewRooms: encryption.allow && encryption.default,
      ...(e2 ? { seal: guardedSealer(e2, encryption.require) } : {}),
    }),
    limits.ioTimeoutMs,
    "homeserver",
  );
  const notices = new AssignmentNotices({ store, matrix, directRoom: (u) => directRoomOf(matrix, store, u), log: s.log, now: () => Date.now() });
  const announce = new AnnounceMirror({
    store: withDeadlines(announceStore(db.db), limits.ioTimeoutMs, "database"),
    rooms: withDeadlines(
      new PublicRoomsMatrix({ homeserverUrl: s.homeserverUrl, asToken: s.asToken, botUserId: matrix.botUserId, domain: s.domain, log: s.log }),
      limits.ioTimeoutMs,
      "homeserver",
    ),
    configured: (pid) => s.announce?.rooms?.[pid] ?? [],
    ...(s.announce?.retryBaseMs ? { retryBaseMs: s.announce.retryBaseMs } : {}),
    log: s.log,
  });
  const http = new AppserviceHttp({
    bindAddress: s.bindAddress,
    port: s.port,
    hsToken: s.hsToken,
    isOurUser: (u) => u === matrix.botUserId || u.startsWith(`@${s.userPrefix}`),
    onEvent: (e) => bridge!.onEvent(e),
    onDevices: e2 ? (t) => e2.receive(t) : null,
    ready: () => bridge!.ready(),
    metrics: s.metricsEnabled === false ? null : async () => bridge!.metrics(),
    feed: s.announce?.feeds === false ? null : (pid, self) => announce.feed(pid, self),
    log: s.log,
  });
  // Hosted clients check a long catch-up's signatures on every core (a member joining a big pursuance); the
  // pool's workers start only then, and stop with the bridge (it closes its database last).
  const pool = new VerifyPool(crypto, { startAfter: CLIENT_START_AFTER });
  const closing: Database = { ...db, close: () => db.close().finally(() => pool.close()) };
  bridge = new Bridge({ s, limits, encryption, crypto, db: closing, vault, store, e2ee, matrix, notices, announce, http, queues, ports: clientPorts(s, withVerifyPool(crypto, pool), db, vault) });
  o.created?.(bridge);
  await bridge.start();
  return bridge;
}

/** A hosted client's ports: relay connections (through the SOCKS proxy if set), its store in the bridge's database, sealed under the vault key. */
function clientPorts(s: BridgeSettings, crypto: Crypto, db: Database, vault: IdentityVault): (memberId: string, groupId: string) => ClientPorts {
  return (memberId, groupId) => ({
    crypto,
    now: () => Date.now(),
    setTimer: systemTimer,
    connect: (url) => new RelayClient({ url, crypto, ...(s.socksProxy ? { socksProxy: s.socksProxy } : {}) }),
    // Role and group keys at rest are sealed under the vault key, as identities are.
    store: clientStore(db.db, crypto, memberId, groupId, { seal: (k, p) => vault.sealBytes(k, p), open: (k, p) => vault.openBytes(k, p) }),
    log: (m) => s.log("warn", m, { member: memberId.slice(0, 12) }),
  });
}
