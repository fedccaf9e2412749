// End-to-bridge encryption: the bridge decrypts what Matrix users write in
// encrypted rooms and encrypts everything it (and its ghosts) post there.
// One E2eeMachine per Matrix user the bridge speaks as, each with one device.
// The homeserver pushes to-device messages (MSC2409), device list changes and
// one-time key counts (MSC3202) in the appservice transactions; see
// docs/DESIGN.md, "End-to-bridge encryption", for why not a /sync per user.
import { E2eeMachine, E2eeStoreError, type RoomCrypto } from "./machine.js";
import { E2eeHttpError, E2eeTransport } from "./transport.js";
import { SealedCryptoStore } from "./sealed.js";
import type { E2eeDeviceRows } from "../../store/e2ee-store.js";
import type { IdentityVault } from "../identity-vault.js";
import type { BridgeStorePort } from "../ports.js";
import { randomBytes } from "node:crypto";
import { DecryptionErrorCode } from "@matrix-org/matrix-sdk-crypto-wasm";

export { E2eeStoreError };

/** What an appservice transaction carries for the bridge's devices (unstable names of MSC2409/MSC3202). */
export interface DeviceTransaction {
  toDevice: Array<Record<string, unknown>>;
  changed: string[];
  left: string[];
  /** user → device → algorithm → count */
  otkCounts: Record<string, Record<string, Record<string, number>>>;
  /** user → device → unused fallback key algorithms */
  fallbackKeys: Record<string, Record<string, string[]>>;
}

export interface E2eeOptions {
  homeserverUrl: string;
  asToken: string;
  botUserId: string;
  rows: E2eeDeviceRows;
  vault: IdentityVault;
  ioTimeoutMs: number;
  /** How long a message waits for its room key before the sender is told it could not be read. */
  keyWaitMs: number;
  /** The most messages / hours one of the bridge's outbound sessions lives (default 100 / 24); a room's stricter setting wins. */
  rotation?: { messages: number; hours: number };
  /**
   * Which Megolm message indexes were opened, under which event: kept in the bridge's database
   * so a ciphertext replayed under a new event id after a restart is refused as in the same run.
   */
  opened: Pick<BridgeStorePort, "sayOnce" | "said">;
  log(level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void;
}

/** A message that stays unreadable after waiting for its key: carries the event and the machine's reason. */
export class UndecryptableError extends Error {
  constructor(
    message: string,
    readonly eventId: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = "UndecryptableError";
  }
}

/** The message's room key has not arrived yet (it may, in a later transaction); carries the event and why. */
export class KeyPendingError extends Error {
  constructor(readonly eventId: string, readonly reason: string) {
    super(`the key of ${eventId} has not arrived yet: ${reason}`);
    this.name = "KeyPendingError";
  }
}

/**
 * Only a missing key (or one that starts at a later index) can be cured by waiting; a withheld
 * key, a broken ciphertext or an unknown algorithm never will, and is answered at once.
 */
function keyMayComeLater(err: unknown): boolean {
  const e = err as { code?: unknown; maybe_withheld?: unknown };
  if (e.maybe_withheld) return false;
  return e.code === DecryptionErrorCode.MissingRoomKey || e.code === DecryptionErrorCode.UnknownMessageIndex;
}

/** A room uses an encryption algorithm the bridge cannot speak; it carries the algorithm. */
export class UnsupportedAlgorithmError extends Error {
  constructor(readonly roomId: string, readonly algorithm: unknown) {
    super(`room ${roomId} is encrypted with ${JSON.stringify(algorithm)}; the bridge speaks only m.megolm.v1.aes-sha2`);
    this.name = "UnsupportedAlgorithmError";
  }
}

/**
 * A Megolm message index already opened under another event: the same ciphertext sent again (by a
 * homeserver replaying it, say). Not acted on twice; carries the event that first had it.
 */
export class ReplayedError extends Error {
  constructor(readonly eventId: string, readonly firstEventId: string) {
    super(`${eventId} repeats the ciphertext of ${firstEventId}`);
    this.name = "ReplayedError";
  }
}

/**
 * A message whose Megolm session was made by a device that is not its sender's: someone
 * re-sending another member's ciphertext under their own name. Carries both.
 */
export class ForeignSessionError extends Error {
  constructor(readonly eventId: string, readonly sender: string, readonly senderDevice: string | undefined) {
    super(`${eventId} from ${sender} was encrypted in a session of ${senderDevice ? `device ${senderDevice}` : "an unknown device"}, not one of ${sender}'s`);
    this.name = "ForeignSessionError";
  }
}

const MEGOLM = "m.megolm.v1.aes-sha2";

/**
 * Where a Megolm ciphertext sits in its session: the message index, read from
 * the message itself (version 3, then field 1 as a varint), so that another
 * spelling of the same bytes (base64 padding) is the same index. Null when unreadable.
 */
export function megolmIndex(ciphertext: unknown): number | null {
  if (typeof ciphertext !== "string") return null;
  const b = Buffer.from(ciphertext, "base64");
  if (b.length < 3 || b[0] !== 3 || b[1] !== 0x08) return null;
  let n = 0;
  for (let i = 2, shift = 0; i < b.length && shift < 35; i++, shift += 7) {
    n += (b[i]! & 0x7f) * 2 ** shift;
    if ((b[i]! & 0x80) === 0) return n;
  }
  return null;
}

interface RoomInfo {
  encryption: Record<string, unknown> | null;
  visibility: RoomCrypto["historyVisibility"];
}

export class BridgeE2ee {
  private readonly transport: E2eeTransport;
  private readonly store: SealedCryptoStore;
  private readonly machines = new Map<string, Promise<E2eeMachine>>();
  private readonly rooms = new Map<string, RoomInfo>();
  private readonly members = new Map<string, string[]>();
  /** This run's in-memory databases are named apart from an earlier run's in the same process. */
  private readonly run = randomBytes(6).toString("hex");
  private keyWaiters: Array<() => void> = [];
  decrypted = 0;
  encrypted = 0;
  undecryptable = 0;
  replayed = 0;
  foreign = 0;
  /** Unencrypted messages in encrypted rooms, not acted on (inbound.ts tells of each: refusedPlain). */
  private plainRefused = 0;
  /** room|session|index → the event first opened with it, in this run (the database holds every run's). */
  private readonly opened = new Map<string, string>();

  constructor(private readonly o: E2eeOptions) {
    this.transport = new E2eeTransport({ homeserverUrl: o.homeserverUrl, asToken: o.asToken, timeoutMs: o.ioTimeoutMs });
    this.store = new SealedCryptoStore(o.rows, o.vault);
  }

  get plainInEncrypted(): number {
    return this.plainRefused;
  }

  /** An unencrypted message in an encrypted room was not acted on (counted for /metrics). */
  refusedPlain(): void {
    this.plainRefused++;
  }

  /** The bot's device, ready before the bridge answers: users' clients must find its keys before they write. */
  async start(): Promise<void> {
    const bot = await this.machine(this.o.botUserId);
    this.o.log("info", "end-to-bridge encryption ready", { user: bot.userId, device: bot.deviceId, ed25519: bot.ed25519 });
  }

  machine(userId: string): Promise<E2eeMachine> {
    let m = this.machines.get(userId);
    if (!m) {
      m = E2eeMachine.open(userId, { transport: this.transport, store: this.store, storeKey: () => this.store.storeKey(userId), run: this.run, displayName: "Pursuance bridge", log: this.o.log });
      this.machines.set(userId, m);
      // A failed open is tried again next time, not cached.
      m.catch(() => this.machines.delete(userId));
    }
    return m;
  }

  /** Hand each device what the transaction carried for it; device list changes go to every machine. */
  async receive(t: DeviceTransaction): Promise<void> {
    const users = new Set<string>([...this.machines.keys()]);
    for (const m of t.toDevice) if (typeof m.to_user_id === "string") users.add(m.to_user_id);
    for (const u of Object.keys(t.otkCounts)) if (this.machines.has(u)) users.add(u);
    const lists = t.changed.length + t.left.length > 0;
    for (const user of users) {
      const toDevice = t.toDevice.filter((m) => m.to_user_id === user);
      const otk = t.otkCounts[user];
      if (toDevice.length === 0 && !lists && !otk) continue;
      let machine: E2eeMachine;
      try {
        machine = await this.machine(user);
      } catch (e) {
        this.o.log("error", "cannot open a device to receive its messages", { user, error: (e as Error).message });
        continue;
      }
      const mine = toDevice.filter((m) => m.to_device_id === machine.deviceId || m.to_device_id === "*");
      await machine.receive(mine, t.changed, t.left, otk?.[machine.deviceId], t.fallbackKeys[user]?.[machine.deviceId]);
    }
    if (t.toDevice.length > 0) {
      const w = this.keyWaiters;
      this.keyWaiters = [];
      for (const f of w) f();
    }
  }

  /** Learn room state from events the homeserver pushes (encryption switched on, members and visibility changed). */
  noteEvent(e: { type: string; room_id: string; state_key?: string; content: Record<string, unknown> }): void {
    if (e.state_key === undefined) return;
    if (e.type === "m.room.member") for (const k of [...this.members.keys()]) if (k.startsWith(`${e.room_id}|`)) this.members.delete(k);
    const info = this.rooms.get(e.room_id);
    if (e.type === "m.room.encryption" && e.state_key === "") {
      if (info) info.encryption = e.content;
      else this.rooms.delete(e.room_id);
    }
    if (e.type === "m.room.history_visibility" && info) info.visibility = visibilityOf(e.content.history_visibility);
  }

  private async room(roomId: string): Promise<RoomInfo> {
    const have = this.rooms.get(roomId);
    if (have) return have;
    const state = async (type: string): Promise<Record<string, unknown> | null> => {
      try {
        return (await this.transport.call("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${type}/`, this.o.botUserId, null)) as Record<string, unknown>;
      } catch (e) {
        if (e instanceof E2eeHttpError && e.errcode === "M_NOT_FOUND") return null;
        throw e;
      }
    };
    const [encryption, hv] = await Promise.all([state("m.room.encryption"), state("m.room.history_visibility")]);
    const info: RoomInfo = { encryption, visibility: visibilityOf(hv?.history_visibility) };
    this.rooms.set(roomId, info);
    return info;
  }

  async isEncrypted(roomId: string): Promise<boolean> {
    return (await this.room(roomId)).encryption !== null;
  }

  /** The algorithm an encrypted room names when the bridge cannot speak it (null: plain or Megolm). */
  async unsupportedAlgorithm(roomId: string): Promise<string | null> {
    const enc = (await this.room(roomId)).encryption;
    return enc && enc.algorithm !== MEGOLM ? String(enc.algorithm ?? "none") : null;
  }

  /**
   * Who gets the room key: joined members, and invited ones unless the room
   * shows history only from joining (a direct chat made with an invite in it
   * must be readable once the invitee joins).
   */
  private async recipients(roomId: string, visibility: RoomCrypto["historyVisibility"]): Promise<string[]> {
    const key = `${roomId}|${visibility}`;
    const have = this.members.get(key);
    if (have) return have;
    const r = (await this.transport.call("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/members`, this.o.botUserId, null)) as {
      chunk?: Array<{ state_key?: string; content?: { membership?: string } }>;
    };
    const wanted = visibility === "joined" ? ["join"] : ["join", "invite"];
    const list = (r.chunk ?? []).filter((e) => typeof e.state_key === "string" && wanted.includes(e.content?.membership ?? "")).map((e) => e.state_key!);
    this.members.set(key, list);
    return list;
  }

  /** The event as it goes into the room: encrypted by `userId`'s device when the room is encrypted, else as it was. */
  async seal(roomId: string, userId: string, type: string, content: Record<string, unknown>): Promise<{ type: string; content: Record<string, unknown> }> {
    const info = await this.room(roomId);
    if (!info.encryption) return { type, content };
    if (info.encryption.algorithm !== MEGOLM) throw new UnsupportedAlgorithmError(roomId, info.encryption.algorithm);
    const machine = await this.machine(userId);
    const members = await this.recipients(roomId, info.visibility);
    const ours = this.o.rotation ?? { messages: 100, hours: 24 };
    const stricter = (room: unknown, mine: number) => (typeof room === "number" && room > 0 ? Math.min(room, mine) : mine);
    const out = await machine.encrypt(roomId, type, content, members, {
      historyVisibility: info.visibility,
      rotationPeriodMs: stricter(info.encryption.rotation_period_ms, ours.hours * 3_600_000),
      rotationPeriodMsgs: stricter(info.encryption.rotation_period_msgs, ours.messages),
    });
    this.encrypted++;
    return { type: "m.room.encrypted", content: out };
  }

  /**
   * Decrypt an m.room.encrypted event with the bot's device, once. A room key sent to-device can
   * arrive in a later transaction than the message it opens: until `waitUntil` (ms) a missing key
   * is KeyPendingError, and the caller tries again after `keyArrival` (outside the room's queue,
   * so a stream of junk ciphertexts cannot hold the room up). Any other failure, or a key still
   * missing after `waitUntil`, is UndecryptableError at once.
   */
  async open(
    e: { event_id: string; room_id: string; sender: string; type: string; content: Record<string, unknown>; origin_server_ts?: number },
    waitUntil = 0,
  ): Promise<{ type: string; content: Record<string, unknown> }> {
    const bot = await this.machine(this.o.botUserId);
    const event = { ...e, origin_server_ts: e.origin_server_ts ?? Date.now() };
    try {
      const d = await bot.decrypt(event, e.room_id);
      // Before the index is claimed: a copy under another name must not take the author's turn.
      if (!(await bot.ownsSession(e.sender, d.senderDevice, d.senderKey))) {
        this.foreign++;
        throw new ForeignSessionError(e.event_id, e.sender, d.senderDevice);
      }
      // Opened only after it decrypts (and so was signed by its session): a forged copy blocks nothing.
      const index = megolmIndex(e.content.ciphertext);
      if (index !== null && !(await this.firstOpening(e.room_id, String(e.content.session_id), index, e.event_id))) {
        this.replayed++;
        throw new ReplayedError(e.event_id, this.opened.get(`${e.room_id}|${String(e.content.session_id)}|${index}`) ?? "an earlier event");
      }
      this.decrypted++;
      return { type: d.type, content: d.content };
    } catch (err) {
      if (err instanceof ReplayedError || err instanceof ForeignSessionError) throw err;
      const reason = describe(err);
      if (keyMayComeLater(err) && Date.now() < waitUntil) throw new KeyPendingError(e.event_id, reason);
      this.undecryptable++;
      throw new UndecryptableError(`cannot decrypt ${e.event_id} from ${e.sender}: ${reason}`, e.event_id, reason);
    }
  }

  /** How long a message may wait for its room key. */
  get keyWaitMs(): number {
    return this.o.keyWaitMs;
  }

  /** Resolves at the next to-device delivery (a key may be in it), or after `ms`. */
  keyArrival(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      const t = setTimeout(r, Math.max(0, ms));
      this.keyWaiters.push(() => {
        clearTimeout(t);
        r();
      });
    });
  }

  /**
   * Whether this event is the first to open (room, session, index), or that same event
   * delivered again (a retried transaction). The pair is recorded only after the index was
   * claimed for it, so a refused replay never becomes "seen" and a second delivery of the
   * replay is refused too. A crash between the two writes costs that one command (refused on
   * redelivery as a replay), never a second run of it.
   */
  private async firstOpening(roomId: string, sessionId: string, index: number, eventId: string): Promise<boolean> {
    const key = `${roomId}|${sessionId}|${index}`;
    const first = this.opened.get(key);
    if (first !== undefined) return first === eventId;
    const scope = `megolm:${sessionId}`;
    const pair = `${index}:${eventId}`;
    if (!(await this.o.opened.said(roomId, scope, pair))) {
      if (!(await this.o.opened.sayOnce(roomId, scope, String(index)))) return false;
      await this.o.opened.sayOnce(roomId, scope, pair);
    }
    this.opened.set(key, eventId);
    return true;
  }

  async stop(): Promise<void> {
    const all = await Promise.allSettled([...this.machines.values()]);
    for (const m of all) if (m.status === "fulfilled") await m.value.close().catch(() => {});
    this.machines.clear();
  }
}

function visibilityOf(v: unknown): RoomCrypto["historyVisibility"] {
  return v === "invited" || v === "joined" || v === "world_readable" ? v : "shared";
}

function describe(err: unknown): string {
  const e = err as { description?: string; message?: string; code?: unknown };
  return e?.description ?? e?.message ?? String(err);
}
