// MatrixPort over the client-server API with matrix-bot-sdk's MatrixClient,
// as the appservice bot or as a ghost (impersonation by `user_id`). Sends use
// caller-chosen transaction ids so a retry after a crash is deduplicated.
import { MatrixClient } from "matrix-bot-sdk";
import { fitContent } from "./fit-message.js";
import type { MatrixPort, OutFile, OutMessage } from "./ports.js";
import { cleanBody, cleanName } from "./sanitize.js";

export interface MatrixClientOptions {
  homeserverUrl: string;
  domain: string;
  asToken: string;
  botLocalpart: string;
  /** End-to-bridge encryption: the event as it goes into the room (encrypted there if the room is). */
  seal?: RoomSealer;
  /** Rooms the bridge creates start encrypted (encryption.default). */
  encryptNewRooms?: boolean;
}

export type RoomSealer = (roomId: string, userId: string, type: string, content: Record<string, unknown>, o?: { mayBePlain?: boolean }) => Promise<{ type: string; content: Record<string, unknown> }>;

const ENCRYPTION_STATE = { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } };

export class BridgeMatrix implements MatrixPort {
  readonly botUserId: string;
  readonly domain: string;
  private readonly bot: MatrixClient;
  private readonly ghosts = new Map<string, MatrixClient>();
  private readonly registered = new Set<string>();
  private readonly names = new Map<string, string>();
  private readonly joined = new Set<string>();
  private txn = 0;

  constructor(private readonly o: MatrixClientOptions) {
    this.domain = o.domain;
    this.botUserId = `@${o.botLocalpart}:${o.domain}`;
    this.bot = new MatrixClient(o.homeserverUrl, o.asToken);
  }

  private as(userId?: string): MatrixClient {
    if (!userId || userId === this.botUserId) return this.bot;
    let c = this.ghosts.get(userId);
    if (!c) {
      c = new MatrixClient(this.o.homeserverUrl, this.o.asToken);
      c.impersonateUserId(userId);
      this.ghosts.set(userId, c);
    }
    return c;
  }

  async send(roomId: string, msg: OutMessage, userId?: string): Promise<string> {
    // No mentions, ever: a title reading "@room" must not ping the room. Fitted last: M_TOO_LARGE is permanent.
    const content: Record<string, unknown> & { body: string; formatted_body: string } = {
      msgtype: msg.notice ? "m.notice" : "m.text",
      body: cleanBody(msg.plain),
      format: "org.matrix.custom.html",
      formatted_body: cleanBody(msg.html),
      "m.mentions": {},
    };
    if (msg.thread) {
      // Thread plus a reply fallback, for clients that do not show threads.
      content["m.relates_to"] = { rel_type: "m.thread", event_id: msg.thread, is_falling_back: true, "m.in_reply_to": { event_id: msg.thread } };
    }
    const txnId = msg.txnId ?? `p${Date.now()}.${this.txn++}`;
    return this.sendEvent(roomId, "m.room.message", fitContent(content, msg.more), txnId, userId, msg.mayBePlain === true);
  }

  async upload(bytes: Uint8Array, name: string, contentType: string): Promise<string> {
    return this.bot.uploadContent(Buffer.from(bytes), contentType, name);
  }

  async download(mxc: string, maxBytes: number): Promise<Uint8Array> {
    const m = /^mxc:\/\/([^/]+)\/([A-Za-z0-9_-]+)$/.exec(mxc);
    if (!m) throw new Error(`not an mxc:// url: ${JSON.stringify(mxc)}`);
    // Authenticated media (Matrix 1.11): new uploads are not served on the old unauthenticated path.
    const res = (await this.bot.doRequest("GET", `/_matrix/client/v1/media/download/${encodeURIComponent(m[1]!)}/${encodeURIComponent(m[2]!)}`, null, null, 120_000, true, undefined, true)) as { body: Buffer };
    if (res.body.length > maxBytes) throw new Error(`the file at ${mxc} is ${res.body.length} bytes, over the ${maxBytes}-byte limit`);
    return new Uint8Array(res.body);
  }

  async sendFile(roomId: string, f: OutFile, userId?: string): Promise<string> {
    const content: Record<string, unknown> = { msgtype: "m.file", body: cleanBody(f.name), filename: cleanBody(f.name), info: { size: f.size, mimetype: f.mimetype }, "m.mentions": {} };
    if (f.file) content.file = f.file;
    else content.url = f.url;
    if (f.thread) content["m.relates_to"] = { rel_type: "m.thread", event_id: f.thread, is_falling_back: true, "m.in_reply_to": { event_id: f.thread } };
    return this.sendEvent(roomId, "m.room.message", content, f.txnId ?? `f${Date.now()}.${this.txn++}`, userId);
  }

  /** Every room event the bridge sends goes here: encrypted first where the room is encrypted. */
  private async sendEvent(roomId: string, type: string, content: Record<string, unknown>, txnId: string, userId?: string, mayBePlain = false): Promise<string> {
    const ev = this.o.seal ? await this.o.seal(roomId, userId ?? this.botUserId, type, content, { mayBePlain }) : { type, content };
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(ev.type)}/${encodeURIComponent(txnId)}`;
    const r = (await this.as(userId).doRequest("PUT", path, null, ev.content)) as { event_id: string };
    return r.event_id;
  }

  async react(roomId: string, eventId: string, key: string): Promise<void> {
    await this.sendEvent(roomId, "m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: eventId, key } }, `r${Date.now()}.${this.txn++}`);
  }

  async ensureGhost(roomId: string, userId: string, displayName: string): Promise<void> {
    const c = this.as(userId);
    if (!this.registered.has(userId)) {
      const localpart = userId.slice(1, userId.indexOf(":"));
      try {
        // inhibit_login: the ghost needs no access token (the appservice token speaks for it), and a
        // registration with io.element.msc4190 (end-to-bridge encryption) must not ask for one.
        await this.bot.doRequest("POST", "/_matrix/client/v3/register", null, { type: "m.login.application_service", username: localpart, inhibit_login: true });
      } catch (e) {
        if ((e as { body?: { errcode?: string } }).body?.errcode !== "M_USER_IN_USE") throw e;
      }
      this.registered.add(userId);
    }
    // The name can change (a Matrix id confirmed later): set it whenever it differs from the last one set.
    if (this.names.get(userId) !== displayName) {
      await c.setDisplayName(cleanName(displayName));
      this.names.set(userId, displayName);
    }
    const key = `${roomId}|${userId}`;
    if (this.joined.has(key)) return;
    try {
      await c.joinRoom(roomId);
    } catch {
      // Invite-only rooms: the bot (already in the room) invites the ghost first.
      await this.bot.inviteUser(userId, roomId).catch(() => {});
      await c.joinRoom(roomId);
    }
    this.joined.add(key);
  }

  async setGhostName(userId: string, displayName: string): Promise<void> {
    await this.as(userId).setDisplayName(cleanName(displayName));
  }

  async displayName(roomId: string, userId: string): Promise<string> {
    try {
      const ev = (await this.bot.getRoomStateEvent(roomId, "m.room.member", userId)) as { displayname?: string };
      return cleanName(ev.displayname ?? userId);
    } catch {
      return userId;
    }
  }

  async invite(roomId: string, userId: string): Promise<void> {
    try {
      await this.bot.inviteUser(userId, roomId);
    } catch (e) {
      // Already in the room (or already invited): nothing to do.
      const err = (e as { body?: { errcode?: string; error?: string } }).body;
      if (err?.errcode !== "M_FORBIDDEN" || !/already in the room|is already/.test(err.error ?? "")) throw e;
    }
  }

  async createRoom(name: string, topic: string): Promise<string> {
    // Only the bot invites: membership follows the pursuance's roles, and history shows to those it lets in.
    return this.bot.createRoom({
      name,
      topic,
      preset: "private_chat",
      visibility: "private",
      power_level_content_override: { invite: 100 },
      ...(this.o.encryptNewRooms ? { initial_state: [ENCRYPTION_STATE] } : {}),
    });
  }

  async createDirectRoom(userId: string): Promise<string> {
    return this.bot.createRoom({
      preset: "trusted_private_chat",
      visibility: "private",
      is_direct: true,
      invite: [userId],
      name: "Pursuance (private)",
      initial_state: [
        { type: "m.room.history_visibility", state_key: "", content: { history_visibility: "invited" } },
        ...(this.o.encryptNewRooms ? [ENCRYPTION_STATE] : []),
      ],
    });
  }

  async redact(roomId: string, eventId: string, reason: string): Promise<void> {
    await this.bot.redactEvent(roomId, eventId, reason);
  }

  async botPower(roomId: string): Promise<{ mine: number; redact: number; stateDefault: number }> {
    const pl = (await this.bot.getRoomStateEvent(roomId, "m.room.power_levels", "")) as { users?: Record<string, number>; users_default?: number; redact?: number; state_default?: number };
    // Room version 12: creators stand above every power level and are not listed in it.
    const create = (await this.bot.getRoomStateEvent(roomId, "m.room.create", "").catch(() => ({}))) as { additional_creators?: string[] };
    const creator = (await this.bot.getRoomState(roomId).catch(() => []) as Array<{ type: string; sender: string }>).find((e) => e.type === "m.room.create")?.sender;
    const isCreator = creator === this.botUserId || (create.additional_creators ?? []).includes(this.botUserId);
    return { mine: isCreator ? Number.MAX_SAFE_INTEGER : (pl.users?.[this.botUserId] ?? pl.users_default ?? 0), redact: pl.redact ?? 50, stateDefault: pl.state_default ?? 50 };
  }

  async setHistoryVisibility(roomId: string, visibility: "joined" | "invited" | "shared"): Promise<void> {
    await this.bot.sendStateEvent(roomId, "m.room.history_visibility", "", { history_visibility: visibility });
  }

  async members(roomId: string): Promise<string[]> {
    const state = (await this.bot.getRoomState(roomId)) as Array<{ type: string; state_key?: string; content: { membership?: string } }>;
    return state.filter((e) => e.type === "m.room.member" && (e.content.membership === "join" || e.content.membership === "invite")).map((e) => e.state_key!);
  }

  async kick(roomId: string, userId: string, reason: string): Promise<void> {
    await this.bot.kickUser(userId, roomId, reason);
  }

  async joinRoom(roomId: string): Promise<void> {
    await this.bot.joinRoom(roomId);
  }
}
