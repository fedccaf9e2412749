// PublicRoomsPort over the client-server API as the appservice bot: the rooms
// where a pursuance's announcements are mirrored for anyone to read. A room the
// bot makes is public from the start; a room it joins is made so as far as its
// power there allows, and what it could not set is logged, not fatal (the
// announcements carry their own proof, wherever they are read).
import { MatrixClient } from "matrix-bot-sdk";
import { RoomUnreachableError, type PublicMessage, type PublicRoomsPort } from "./ports.js";
import { cleanBody } from "../sanitize.js";

export interface PublicRoomsOptions {
  homeserverUrl: string;
  asToken: string;
  botUserId: string;
  domain: string;
  log(level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void;
}

/** Posting needs this much; the bot sets it and holds it. */
const POST_LEVEL = 100;

export class PublicRoomsMatrix implements PublicRoomsPort {
  private readonly bot: MatrixClient;
  private readonly ready = new Map<string, string>();

  constructor(private readonly o: PublicRoomsOptions) {
    this.bot = new MatrixClient(o.homeserverUrl, o.asToken);
  }

  async ensurePublicRoom(alias: string, name: string, topic: string): Promise<string> {
    const have = this.ready.get(alias);
    if (have) return have;
    let roomId = await this.resolve(alias);
    if (!roomId) {
      const server = alias.slice(alias.indexOf(":") + 1);
      if (server !== this.o.domain) throw new RoomUnreachableError(alias, `there is no room ${alias}, and this bridge makes rooms only on ${this.o.domain}: make the room on ${server}, give it that alias and invite ${this.o.botUserId}`);
      try {
        roomId = await this.create(alias, name, topic);
      } catch (e) {
        // The homeserver lets an appservice make aliases only in its own namespace (appservice.aliasPrefix).
        if ((e as { body?: { errcode?: string } }).body?.errcode === "M_EXCLUSIVE") {
          throw new RoomUnreachableError(
            alias,
            `there is no room ${alias}, and this bridge may make an alias only in its own namespace (like #_pursuance_news:${this.o.domain}): use such an alias, or make the room yourself, give it ${alias} and invite ${this.o.botUserId}`,
          );
        }
        throw e;
      }
    } else {
      // By alias: the directory answer names servers in the room, which a room on another homeserver needs.
      await this.bot.joinRoom(alias);
      await this.makePublic(roomId, alias);
    }
    // Synapse makes a room but silently leaves it out of the directory when its publication rules say no.
    await this.list(roomId, alias);
    this.ready.set(alias, roomId);
    return roomId;
  }

  async send(roomId: string, msg: PublicMessage): Promise<string> {
    const content = { msgtype: "m.notice", body: cleanBody(msg.plain), format: "org.matrix.custom.html", formatted_body: cleanBody(msg.html), "m.mentions": {}, ...msg.extra };
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(msg.txnId)}`;
    const r = (await this.bot.doRequest("PUT", path, null, content)) as { event_id: string };
    return r.event_id;
  }

  async setTopic(roomId: string, topic: string): Promise<void> {
    await this.bot.sendStateEvent(roomId, "m.room.topic", "", { topic: cleanBody(topic) });
  }

  private async resolve(alias: string): Promise<string | null> {
    try {
      const r = (await this.bot.doRequest("GET", `/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`)) as { room_id: string };
      return r.room_id;
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return null;
      throw e;
    }
  }

  private async create(alias: string, name: string, topic: string): Promise<string> {
    return this.bot.createRoom({
      preset: "public_chat",
      visibility: "public",
      room_alias_name: alias.slice(1, alias.indexOf(":")),
      name,
      topic,
      initial_state: [
        { type: "m.room.history_visibility", state_key: "", content: { history_visibility: "world_readable" } },
        { type: "m.room.guest_access", state_key: "", content: { guest_access: "can_join" } },
      ],
      // Anyone may read and join; only the bot (its creator, or at 100) may post or change the room.
      power_level_content_override: { events_default: POST_LEVEL, state_default: POST_LEVEL, invite: POST_LEVEL, redact: POST_LEVEL, users_default: 0 },
    });
  }

  private async list(roomId: string, alias: string): Promise<void> {
    const path = `/_matrix/client/v3/directory/list/room/${encodeURIComponent(roomId)}`;
    const cur = (await this.bot.doRequest("GET", path).catch(() => null)) as { visibility?: string } | null;
    if (cur?.visibility === "public") return;
    await this.bot
      .doRequest("PUT", path, null, { visibility: "public" })
      .catch((e: Error) => this.o.log("warn", "cannot list an announcement room in the room directory (the homeserver's room_list_publication_rules must allow the bot)", { alias, error: e.message }));
  }

  /** A room that existed before: set what the bot may set, say what it could not. */
  private async makePublic(roomId: string, alias: string): Promise<void> {
    const want: Array<[string, Record<string, unknown>]> = [
      ["m.room.history_visibility", { history_visibility: "world_readable" }],
      ["m.room.guest_access", { guest_access: "can_join" }],
    ];
    for (const [type, content] of want) {
      const cur = (await this.bot.getRoomStateEvent(roomId, type, "").catch(() => null)) as Record<string, unknown> | null;
      const [k, v] = Object.entries(content)[0]!;
      if (cur?.[k] === v) continue;
      await this.bot.sendStateEvent(roomId, type, "", content).catch((e: Error) => this.o.log("warn", "cannot make an announcement room public", { alias, type, error: e.message }));
    }
    const pl = (await this.bot.getRoomStateEvent(roomId, "m.room.power_levels", "").catch(() => null)) as { users?: Record<string, number>; users_default?: number; events_default?: number } | null;
    if (!pl) return;
    const others = Math.max(pl.users_default ?? 0, ...Object.entries(pl.users ?? {}).filter(([u]) => u !== this.o.botUserId).map(([, n]) => n));
    if ((pl.events_default ?? 0) > others) return;
    const mine = pl.users?.[this.o.botUserId] ?? POST_LEVEL;
    if (mine <= others) {
      this.o.log("warn", "others in an announcement room may post there as well: give the bot the highest power level", { alias });
      return;
    }
    await this.bot.sendStateEvent(roomId, "m.room.power_levels", "", { ...pl, events_default: mine }).catch((e: Error) => this.o.log("warn", "cannot restrict posting in an announcement room", { alias, error: e.message }));
  }
}
