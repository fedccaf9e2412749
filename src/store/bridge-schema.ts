// The bridge's own tables: which room is which pursuance, the custodial
// identities it holds for Matrix users (secret keys sealed under the bridge's
// identity key), and which pursuance events are already in which room, so a
// restarted bridge posts nothing twice and loses nothing.
import { bigint, bigserial, boolean, index, integer, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";
import { bytea } from "./relay-schema.js";

export const bridgeRooms = pgTable("bridge_rooms", {
  roomId: text("room_id").primaryKey(),
  groupId: text("group_id").notNull(),
  pursuanceId: text("pursuance_id").notNull(),
  name: text("name").notNull(),
  relays: text("relays").notNull(),
  boundBy: text("bound_by").notNull(),
});

export const bridgeIdentities = pgTable(
  "bridge_identities",
  {
    matrixUser: text("matrix_user").notNull(),
    groupId: text("group_id").notNull(),
    memberId: text("member_id").notNull(),
    sealedSecret: bytea("sealed_secret").notNull(),
  },
  (t) => [primaryKey({ columns: [t.matrixUser, t.groupId] })],
);

/**
 * What the mirror did with each pursuance event in each room of its pursuance:
 * posted it (the Matrix event id), posted only a lock line for a task ("lock"),
 * or withheld a notice (no Matrix event). A task locked in a room and later
 * readable there gets a "task" row beside its "lock" row, hence the kind in the key.
 */
export const bridgePosted = pgTable(
  "bridge_posted",
  {
    groupId: text("group_id").notNull(),
    eventId: text("event_id").notNull(),
    roomId: text("room_id").notNull(),
    matrixEventId: text("matrix_event_id"),
    kind: text("kind").notNull(),
    taskId: text("task_id"),
  },
  (t) => [
    primaryKey({ columns: [t.groupId, t.roomId, t.eventId, t.kind] }),
    index("bridge_posted_task_idx").on(t.groupId, t.taskId, t.kind),
    uniqueIndex("bridge_posted_matrix_idx").on(t.roomId, t.matrixEventId),
  ],
);

export const bridgeGhosts = pgTable("bridge_ghosts", {
  userId: text("user_id").primaryKey(),
  displayName: text("display_name").notNull(),
});

/**
 * Inbound Matrix events, stored before the homeserver's transaction is
 * acknowledged and marked done once handled: a bridge killed in between
 * handles them again on start (commands are tagged, so nothing is done twice).
 */
export const bridgeInbound = pgTable(
  "bridge_inbound",
  {
    eventId: text("event_id").primaryKey(),
    roomId: text("room_id").notNull(),
    n: bigserial("n", { mode: "number" }).notNull(),
    event: text("event").notNull(),
    done: boolean("done").notNull().default(false),
  },
  (t) => [index("bridge_inbound_pending_idx").on(t.done, t.n)],
);

/** rooms.perRole: one room per role of a pursuance, its membership following the role's. */
export const bridgeRoleRooms = pgTable(
  "bridge_role_rooms",
  {
    groupId: text("group_id").notNull(),
    role: text("role").notNull(),
    roomId: text("room_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.role] })],
);

/** The direct chat the bot keeps with each Matrix user (invites and other secrets go there, never in shared rooms). */
export const bridgeDirectRooms = pgTable("bridge_direct_rooms", {
  matrixUser: text("matrix_user").primaryKey(),
  roomId: text("room_id").notNull(),
});

/** Each Matrix user's daily digest: on or off, and at what local time. */
export const bridgeDigests = pgTable("bridge_digests", {
  matrixUser: text("matrix_user").primaryKey(),
  enabled: boolean("enabled").notNull(),
  atMinute: integer("at_minute").notNull(),
  tz: text("tz").notNull(),
});

/** When a user's last digest of one pursuance went (ms): what changed since is what the next one lists. */
export const bridgeDigestSent = pgTable(
  "bridge_digest_sent",
  {
    matrixUser: text("matrix_user").notNull(),
    groupId: text("group_id").notNull(),
    at: bigint("at", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.matrixUser, t.groupId] })],
);

/** Things the bridge says once per user in a room (e.g. "you are not a member: you see only what is public"). */
export const bridgeSaid = pgTable(
  "bridge_said",
  {
    roomId: text("room_id").notNull(),
    userId: text("user_id").notNull(),
    what: text("what").notNull(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.userId, t.what] })],
);

/**
 * Join requests a Matrix user made with `!pursuance request`, waiting for an
 * answer: kept so a restarted bridge goes on waiting and still tells the room.
 * The address is public by design; the message is the requester's own.
 */
export const bridgeRequests = pgTable(
  "bridge_requests",
  {
    roomId: text("room_id").notNull(),
    matrixUser: text("matrix_user").notNull(),
    address: text("address").notNull(),
    message: text("message").notNull(),
    displayName: text("display_name").notNull(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.matrixUser] })],
);

/**
 * End-to-bridge encryption: one device per Matrix user the bridge speaks as,
 * and that device's crypto store (Olm account, Olm and Megolm sessions),
 * sealed under the bridge's identity key. Losing a row loses that device: a
 * new one is made and rooms share their keys with it from then on.
 */
export const bridgeE2eeDevices = pgTable("bridge_e2ee_devices", {
  userId: text("user_id").primaryKey(),
  deviceId: text("device_id").notNull(),
  sealedState: bytea("sealed_state").notNull(),
});
