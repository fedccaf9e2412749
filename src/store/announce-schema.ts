// Public announcement rooms: those added by `!announce room add` (the config's
// are not stored: the config is their record), and which announcement is
// already in which public room, so a restarted bridge posts none twice.
import { pgTable, primaryKey, text } from "drizzle-orm/pg-core";

export const bridgeAnnounceRooms = pgTable(
  "bridge_announce_rooms",
  {
    groupId: text("group_id").notNull(),
    alias: text("alias").notNull(),
    addedBy: text("added_by").notNull(),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.alias] })],
);

export const bridgeAnnouncePosted = pgTable(
  "bridge_announce_posted",
  {
    groupId: text("group_id").notNull(),
    alias: text("alias").notNull(),
    eventId: text("event_id").notNull(),
    matrixEventId: text("matrix_event_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.alias, t.eventId] })],
);
