// One Matrix user the bridge speaks as (its bot, or a ghost) and that user's
// one device: a wasm OlmMachine, its crypto store kept in the bridge's
// database, and the loop that carries the machine's outgoing requests to the
// homeserver. Every call is serialised (the machine's requests and the store
// snapshot must not interleave) and ends by saving the store, so a crash loses
// at most the step in progress, never a Megolm ratchet already used.
import {
  CollectStrategy,
  DecryptionSettings,
  DeviceId,
  DeviceLists,
  EncryptionAlgorithm,
  EncryptionSettings,
  HistoryVisibility,
  OlmMachine,
  RoomId,
  StoreHandle,
  TrustRequirement,
  UserId,
  initAsync,
  type KeysClaimRequest,
  type ToDeviceRequest,
} from "@matrix-org/matrix-sdk-crypto-wasm";
import { randomBytes } from "node:crypto";
import { deleteStore, dumpStore, restoreStore } from "./idb.js";
import type { E2eeTransport, OutgoingRequest } from "./transport.js";

/** Where a machine's store lives between runs: the bridge's database, sealed (see src/store/e2ee-store.ts). */
export interface CryptoStorePort {
  load(userId: string): Promise<{ deviceId: string; state: Uint8Array } | null>;
  save(userId: string, deviceId: string, state: Uint8Array): Promise<void>;
}

/** The crypto store of a user could not be opened, or does not belong to that user and device. */
export class E2eeStoreError extends Error {
  constructor(message: string, readonly userId: string, readonly deviceId: string | null) {
    super(message);
    this.name = "E2eeStoreError";
  }
}

export interface RoomCrypto {
  /** m.room.encryption content: rotation periods. */
  rotationPeriodMs?: number;
  rotationPeriodMsgs?: number;
  historyVisibility: "invited" | "joined" | "shared" | "world_readable";
}

type Log = (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;

/** Device ids this bridge makes: how its own devices are told from any other. */
export const DEVICE_PREFIX = "PURSUANCE";

/**
 * A user with no saved store but with devices this bridge made earlier: the
 * store was lost (or the database replaced). Those devices can never read
 * again, and users' clients would keep encrypting to them, so they are
 * removed (an appservice may, under MSC4190) and the loss is said plainly.
 */
async function dropOrphanDevices(userId: string, transport: E2eeTransport, log: Log): Promise<void> {
  const r = (await transport.call("GET", "/_matrix/client/v3/devices", userId, null)) as { devices?: Array<{ device_id?: string }> };
  const orphans = (r.devices ?? []).map((d) => d.device_id).filter((d): d is string => typeof d === "string" && d.startsWith(DEVICE_PREFIX));
  if (orphans.length === 0) return;
  log("warn", "end-to-bridge crypto store lost: its devices are removed and a new one is made; messages encrypted to the old ones stay unreadable to the bridge", { user: userId, devices: orphans });
  for (const d of orphans) await transport.call("DELETE", `/_matrix/client/v3/devices/${encodeURIComponent(d)}`, userId, null, {});
}

let wasmReady: Promise<void> | null = null;
/** The wasm module, loaded once per process. */
export function loadWasm(): Promise<void> {
  wasmReady ??= initAsync();
  return wasmReady;
}

const VISIBILITY: Record<RoomCrypto["historyVisibility"], HistoryVisibility> = {
  invited: HistoryVisibility.Invited,
  joined: HistoryVisibility.Joined,
  shared: HistoryVisibility.Shared,
  world_readable: HistoryVisibility.WorldReadable,
};

export class E2eeMachine {
  private chain: Promise<unknown> = Promise.resolve();
  /** The key counts last handed to the machine. */
  private lastCounts = "";
  /** The snapshot last written to the store port (null: none yet this run, so the next is written). */
  private saved: Uint8Array | null = null;

  private constructor(
    readonly userId: string,
    readonly deviceId: string,
    private readonly machine: OlmMachine,
    private readonly prefix: string,
    private readonly transport: E2eeTransport,
    private readonly store: CryptoStorePort,
  ) {}

  /**
   * The user's device as last saved, or a new one (made on the homeserver with
   * MSC4190). `storeKey` (32 bytes, read after the load) encrypts the store inside the machine;
   * `run` keeps this run's in-memory databases apart from an earlier run's.
   */
  static async open(userId: string, o: { transport: E2eeTransport; store: CryptoStorePort; storeKey: () => Uint8Array; run: string; displayName: string; log: Log }): Promise<E2eeMachine> {
    await loadWasm();
    const saved = await o.store.load(userId);
    // A new device per new store: a device id whose keys were uploaded from a lost store cannot take new keys.
    const deviceId = saved?.deviceId ?? `${DEVICE_PREFIX}${randomBytes(5).toString("hex").toUpperCase()}`;
    const prefix = `pursuance-e2ee/${o.run}/${userId}`;
    if (saved) await restoreStore(prefix, saved.state);
    else await dropOrphanDevices(userId, o.transport, o.log);
    await o.transport.ensureDevice(userId, deviceId, o.displayName);
    let machine: OlmMachine;
    try {
      const handle = await StoreHandle.openWithKey(prefix, o.storeKey());
      machine = (await OlmMachine.initFromStore(new UserId(userId), new DeviceId(deviceId), handle)) as OlmMachine;
    } catch (e) {
      throw new E2eeStoreError(
        `the end-to-bridge crypto store of ${userId} (device ${deviceId}) does not open: ${(e as Error).message ?? String(e)}. ` +
          `It was sealed under another identity key, or is damaged. Restore the bridge database and identities.key that belong together, ` +
          `or delete this user's row in bridge_e2ee_devices to start a new device (rooms then re-share their keys with it).`,
        userId,
        deviceId,
      );
    }
    machine.roomKeyRequestsEnabled = true;
    const m = new E2eeMachine(userId, deviceId, machine, prefix, o.transport, o.store);
    await m.serial(() => m.flush());
    await m.checkPublished(saved !== null);
    await m.serial(() => m.crossSign(o.log));
    return m;
  }

  /**
   * Cross-sign this device by its user, once per store: users' clients then show it as the
   * bot's own device rather than an unknown one. The homeserver takes a user's first
   * cross-signing keys without interactive auth (MSC3967); replacing them after a lost store
   * may need it, and then the device stays usable, uncross-signed, and the log says why.
   */
  private async crossSign(log: Log): Promise<void> {
    const status = (await this.machine.crossSigningStatus()) as { hasMaster: boolean; hasSelfSigning: boolean };
    if (status.hasMaster && status.hasSelfSigning) return this.readMasterKey();
    const reqs = (await this.machine.bootstrapCrossSigning(true)) as {
      uploadKeysRequest?: OutgoingRequest;
      uploadSigningKeysRequest: { body: string };
      uploadSignaturesRequest: OutgoingRequest;
    };
    try {
      if (reqs.uploadKeysRequest) await this.sendOne(reqs.uploadKeysRequest);
      await this.transport.call("POST", "/_matrix/client/v3/keys/device_signing/upload", this.userId, this.deviceId, reqs.uploadSigningKeysRequest.body);
      await this.sendOne(reqs.uploadSignaturesRequest);
      await this.readMasterKey();
    } catch (e) {
      log("warn", "could not cross-sign the bridge's device: users' clients show it as not signed by its owner (it still encrypts and decrypts)", {
        user: this.userId,
        device: this.deviceId,
        error: (e as Error).message,
      });
    }
  }

  /**
   * The homeserver must publish this store's identity key for the device: if
   * it holds another (a store from elsewhere) or none (the homeserver lost the
   * device, while the store believes its keys are uploaded), nobody could
   * encrypt to the bridge and every message would be unreadable. Say so now.
   */
  private async checkPublished(restored: boolean): Promise<void> {
    const r = (await this.transport.call("POST", "/_matrix/client/v3/keys/query", this.userId, null, { device_keys: { [this.userId]: [this.deviceId] } })) as {
      device_keys?: Record<string, Record<string, { keys?: Record<string, string> }>>;
    };
    const published = r.device_keys?.[this.userId]?.[this.deviceId]?.keys?.[`ed25519:${this.deviceId}`];
    if (published === this.ed25519) return;
    throw new E2eeStoreError(
      published === undefined
        ? `the homeserver publishes no keys for ${this.userId}'s device ${this.deviceId}${restored ? ", though the bridge's crypto store says they were uploaded (was the homeserver's database reset?)" : ""}. ` +
            `Delete this user's row in bridge_e2ee_devices so the bridge makes a new device.`
        : `the homeserver publishes other keys for ${this.userId}'s device ${this.deviceId} (${published}) than the bridge's crypto store holds (${this.ed25519}): ` +
            `this database's store is not the one that device was made with. Use the database that goes with this homeserver, or delete this user's row in bridge_e2ee_devices to make a new device.`,
      this.userId,
      this.deviceId,
    );
  }

  /** The user's cross-signing master key (unpadded base64), once this device is cross-signed. */
  masterKey: string | undefined;

  private async readMasterKey(): Promise<void> {
    const identity = (await this.machine.getIdentity(new UserId(this.userId))) as { masterKey?: string } | undefined;
    const keys = identity?.masterKey ? (JSON.parse(identity.masterKey) as { keys?: Record<string, string> }).keys : undefined;
    this.masterKey = keys ? Object.values(keys)[0] : undefined;
  }

  get ed25519(): string {
    return this.machine.identityKeys.ed25519.toBase64();
  }

  /** Run `fn` after everything queued before it; then save the store. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(async () => {
      const out = await fn();
      // Sealing and writing the snapshot is most of a step's cost (the dump is a fraction of it), and a
      // step that wrote nothing to the store (a Megolm decrypt, mostly) leaves the same bytes: skip those.
      const state = await dumpStore(this.prefix);
      if (this.saved === null || !Buffer.from(state.buffer, state.byteOffset, state.byteLength).equals(this.saved)) {
        await this.store.save(this.userId, this.deviceId, state);
        this.saved = state;
      }
      return out;
    });
    this.chain = run.catch(() => {});
    return run;
  }

  private async sendOne(r: OutgoingRequest): Promise<void> {
    const response = await this.transport.send(this.userId, this.deviceId, r);
    if (r.id !== undefined) await this.machine.markRequestAsSent(r.id, r.type, response);
  }

  /** Send what the machine wants sent (key upload, key queries, ...), until it wants nothing more. */
  private async flush(): Promise<void> {
    for (let round = 0; round < 5; round++) {
      const reqs = (await this.machine.outgoingRequests()) as OutgoingRequest[];
      if (reqs.length === 0) return;
      for (const r of reqs) await this.sendOne(r);
    }
  }

  /** What a transaction carried for this user's device: to-device events, device list changes, key counts. */
  receive(toDevice: unknown[], changed: string[], left: string[], otkCounts: Record<string, number> | undefined, fallbackTypes: string[] | undefined): Promise<void> {
    // Nearly every transaction repeats the bot's key counts: with nothing new, no machine step (and no store write).
    const counts = JSON.stringify([otkCounts ?? null, fallbackTypes ?? null]);
    if (toDevice.length === 0 && changed.length + left.length === 0 && counts === this.lastCounts) return Promise.resolve();
    this.lastCounts = counts;
    const step = this.serial(async () => {
      const lists = new DeviceLists(changed.map((u) => new UserId(u)), left.map((u) => new UserId(u)));
      await this.machine.receiveSyncChanges(JSON.stringify(toDevice), lists, new Map(Object.entries(otkCounts ?? {})), fallbackTypes ? new Set(fallbackTypes) : undefined);
      await this.flush();
    });
    // Not taken: hand the same counts again next time.
    step.catch(() => (this.lastCounts = ""));
    return step;
  }

  /** Decrypt a room event; throws the machine's MegolmDecryptionError when it cannot. */
  decrypt(event: unknown, roomId: string): Promise<{ type: string; content: Record<string, unknown>; senderDevice: string | undefined; senderKey: string | undefined }> {
    return this.serial(async () => {
      let d;
      try {
        d = await this.machine.decryptRoomEvent(JSON.stringify(event), new RoomId(roomId), new DecryptionSettings(TrustRequirement.Untrusted));
      } catch (e) {
        // A missing key makes the machine queue an m.room_key_request to the sender's devices
        // (a key lost while the bridge was down can come back that way): send it now.
        await this.flush().catch(() => {});
        throw e;
      }
      const ev = JSON.parse(d.event as string) as { type: string; content: Record<string, unknown> };
      return { type: ev.type, content: ev.content, senderDevice: d.senderDevice?.toString(), senderKey: d.senderCurve25519Key };
    });
  }

  /**
   * Whether the Megolm session a message came in (made by the device with Curve25519 key
   * `senderKey`) is one of `userId`'s devices, as the homeserver lists them now. Anyone in a
   * room holds everyone's room keys and can re-send their ciphertext under their own name;
   * only the session's creator can be its sender.
   */
  ownsSession(userId: string, senderDevice: string | undefined, senderKey: string | undefined): Promise<boolean> {
    return this.serial(async () => {
      if (senderKey === undefined) return false;
      const find = async () => {
        const devices = (await this.machine.getUserDevices(new UserId(userId))) as { devices(): Array<{ deviceId: DeviceId; curve25519Key?: { toBase64(): string } }> };
        return devices.devices().some((d) => d.curve25519Key?.toBase64() === senderKey && (senderDevice === undefined || d.deviceId.toString() === senderDevice));
      };
      if (await find()) return true;
      // Not known yet (a new device of theirs, a user first seen): ask the homeserver, then look again.
      await this.machine.updateTrackedUsers([new UserId(userId)]);
      await this.flush();
      return find();
    });
  }

  /**
   * Encrypt an event for the room's `members`: their devices are looked up,
   * Olm sessions made where missing, the room key shared with every device
   * (unverified ones too: the bridge has no one to verify them with), then
   * the event encrypted. Returns the m.room.encrypted content.
   */
  encrypt(roomId: string, type: string, content: Record<string, unknown>, members: string[], room: RoomCrypto): Promise<Record<string, unknown>> {
    return this.serial(async () => {
      const users = () => members.map((u) => new UserId(u));
      await this.machine.updateTrackedUsers(users());
      await this.flush();
      const claim = (await this.machine.getMissingSessions(users())) as KeysClaimRequest | undefined;
      if (claim) await this.sendOne(claim as unknown as OutgoingRequest);
      const settings = new EncryptionSettings();
      settings.algorithm = EncryptionAlgorithm.MegolmV1AesSha2;
      settings.historyVisibility = VISIBILITY[room.historyVisibility];
      settings.sharingStrategy = CollectStrategy.allDevices();
      if (room.rotationPeriodMs) settings.rotationPeriod = BigInt(room.rotationPeriodMs) * 1000n;
      if (room.rotationPeriodMsgs) settings.rotationPeriodMessages = BigInt(room.rotationPeriodMsgs);
      const toDevice = (await this.machine.shareRoomKey(new RoomId(roomId), users(), settings)) as ToDeviceRequest[];
      for (const r of toDevice) await this.sendOne(r as unknown as OutgoingRequest);
      const out = (await this.machine.encryptRoomEvent(new RoomId(roomId), type, JSON.stringify(content))) as string;
      return JSON.parse(out) as Record<string, unknown>;
    });
  }

  /** Wait for queued work, then let go of the machine and this run's in-memory databases. */
  async close(): Promise<void> {
    await this.chain;
    this.machine.close();
    await deleteStore(this.prefix);
  }
}
