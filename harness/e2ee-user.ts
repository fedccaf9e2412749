// A Matrix user with a real end-to-end encrypting client that nobody here
// wrote: matrix-js-sdk with its Rust crypto (the wasm build of
// matrix-sdk-crypto, as Element Web uses it), syncing against the test
// Synapse. What it reads it decrypts itself; what it writes in an encrypted
// room it encrypts itself.
import { ClientEvent, createClient, Preset, type MatrixClient, type MatrixEvent } from "matrix-js-sdk";
import { logger } from "matrix-js-sdk/lib/logger.js";
import type { SynapseHandle } from "./synapse.js";
import { LoggerLevel, Tracing } from "@matrix-org/matrix-sdk-crypto-wasm";

// loglevel underneath; its type hides setLevel. The test output is for the test's own findings.
(logger as unknown as { setLevel(level: string): void }).setLevel("silent");
// Its child loggers (one per room encryptor, ...) set themselves to debug, on stdout, but take the
// parent's method factory when made: a factory of no-ops keeps them quiet too (a bench prints its table there).
const root = logger as unknown as { methodFactory: () => () => void; rebuild(): void };
root.methodFactory = () => () => {};
root.rebuild();

export interface SeenEvent {
  eventId: string;
  sender: string;
  /** The type as it travelled (m.room.encrypted when encrypted). */
  wireType: string;
  /** The type after decryption. */
  type: string;
  body: string;
  failed: boolean;
  isState: boolean;
}

export class E2eeUser {
  private constructor(
    readonly client: MatrixClient,
    readonly userId: string,
  ) {}

  static async register(hs: SynapseHandle, localpart: string): Promise<E2eeUser> {
    const u = await hs.registerUser(localpart, `pw-${localpart}-123`);
    if (!u.deviceId) throw new Error(`no device id for ${u.userId}`);
    return E2eeUser.start(hs.baseUrl, u.userId, u.accessToken, u.deviceId);
  }

  /** An existing account, logged in with its password as Element would (a new device). */
  static async login(baseUrl: string, user: string, password: string): Promise<E2eeUser> {
    const r = await fetch(`${baseUrl}/_matrix/client/v3/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user }, password, initial_device_display_name: "e2ee test client" }),
    });
    if (!r.ok) throw new Error(`login of ${user} at ${baseUrl} failed: ${r.status} ${await r.text()}`);
    const j = (await r.json()) as { user_id: string; access_token: string; device_id: string };
    return E2eeUser.start(baseUrl, j.user_id, j.access_token, j.device_id);
  }

  private static async start(baseUrl: string, userId: string, accessToken: string, deviceId: string): Promise<E2eeUser> {
    const client = createClient({ baseUrl, userId, accessToken, deviceId });
    await client.initRustCrypto({ useIndexedDB: false });
    // matrix-js-sdk turns the (process-wide) crypto tracing to debug; warnings are enough here.
    new Tracing(LoggerLevel.Warn).turnOn();
    const prepared = new Promise<void>((resolve) => {
      const on = (state: string) => {
        if (state === "PREPARED" || state === "SYNCING") {
          client.off(ClientEvent.Sync, on);
          resolve();
        }
      };
      client.on(ClientEvent.Sync, on);
    });
    await client.startClient({ initialSyncLimit: 50 });
    await prepared;
    return new E2eeUser(client, userId);
  }

  /** A private room encrypted from its first event, the bot invited. */
  async createEncryptedRoom(invite: string[]): Promise<string> {
    const { room_id } = await this.client.createRoom({
      preset: Preset.PrivateChat,
      invite,
      initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
    });
    // Sending before the client has seen the room's encryption state would send in clear: wait for it.
    await this.until(`the client to see ${room_id} as encrypted`, async () => (await this.client.getCrypto()!.isEncryptionEnabledInRoom(room_id)) === true);
    return room_id;
  }

  async waitForJoin(roomId: string, userId: string): Promise<void> {
    await this.until(`${userId} to join ${roomId}`, async () => this.client.getRoom(roomId)?.getMember(userId)?.membership === "join");
  }

  /** Join the room `inviter` invited us to (the first such invite seen); returns its id. */
  async acceptInviteFrom(inviter: string): Promise<string> {
    let roomId = "";
    await this.until(`an invite from ${inviter}`, async () => {
      const room = this.client.getRooms().find((r) => r.getMyMembership() === "invite" && r.getMember(this.userId)?.events.member?.getSender() === inviter);
      roomId = room?.roomId ?? "";
      return roomId !== "";
    });
    await this.client.joinRoom(roomId);
    await this.until(`joining ${roomId}`, async () => this.client.getRoom(roomId)?.getMyMembership() === "join");
    return roomId;
  }

  async isEncrypted(roomId: string): Promise<boolean> {
    return (await this.client.getCrypto()!.isEncryptionEnabledInRoom(roomId)) === true;
  }

  async send(roomId: string, body: string): Promise<string> {
    const r = await this.client.sendTextMessage(roomId, body);
    return r.event_id;
  }

  /** Every event of the room's live timeline, decrypted where the client can. */
  async events(roomId: string): Promise<SeenEvent[]> {
    const room = this.client.getRoom(roomId);
    if (!room) return [];
    const out: SeenEvent[] = [];
    for (const ev of room.getLiveTimeline().getEvents()) out.push(await this.seen(ev));
    return out;
  }

  private async seen(ev: MatrixEvent): Promise<SeenEvent> {
    await this.client.decryptEventIfNeeded(ev);
    const body = ev.getContent().body;
    return {
      eventId: ev.getId() ?? "",
      sender: ev.getSender() ?? "",
      wireType: ev.getWireType(),
      type: ev.getType(),
      body: typeof body === "string" ? body : "",
      failed: ev.isDecryptionFailure(),
      isState: ev.isState(),
    };
  }

  async waitFor(roomId: string, what: string, pred: (e: SeenEvent) => boolean, timeoutMs = 45_000): Promise<SeenEvent> {
    let hit: SeenEvent | undefined;
    await this.until(what, async () => (hit = (await this.events(roomId)).find(pred)) !== undefined, timeoutMs);
    return hit!;
  }

  /** Wait for `cond`, polling; fails naming `what` after `timeoutMs`. */
  async until(what: string, cond: () => Promise<boolean>, timeoutMs = 45_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  stop(): void {
    this.client.stopClient();
  }
}
