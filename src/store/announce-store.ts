// The announcement mirror's store port over drizzle (PostgreSQL or PGlite).
import { and, eq } from "drizzle-orm";
import type { AnnounceStorePort } from "../bridge/announce/ports.js";
import { bridgeAnnouncePosted, bridgeAnnounceRooms } from "./announce-schema.js";
import type { Db } from "./db.js";

export function announceStore(db: Db): AnnounceStorePort {
  return {
    async announceRooms(groupId) {
      const rows = await db.select({ a: bridgeAnnounceRooms.alias }).from(bridgeAnnounceRooms).where(eq(bridgeAnnounceRooms.groupId, groupId));
      return rows.map((r) => r.a).sort();
    },
    async addAnnounceRoom(groupId, alias, addedBy) {
      const r = await db.insert(bridgeAnnounceRooms).values({ groupId, alias, addedBy }).onConflictDoNothing().returning({ a: bridgeAnnounceRooms.alias });
      return r.length > 0;
    },
    async removeAnnounceRoom(groupId, alias) {
      const r = await db
        .delete(bridgeAnnounceRooms)
        .where(and(eq(bridgeAnnounceRooms.groupId, groupId), eq(bridgeAnnounceRooms.alias, alias)))
        .returning({ a: bridgeAnnounceRooms.alias });
      return r.length > 0;
    },
    async announcePosted(groupId, alias) {
      const rows = await db
        .select({ e: bridgeAnnouncePosted.eventId })
        .from(bridgeAnnouncePosted)
        .where(and(eq(bridgeAnnouncePosted.groupId, groupId), eq(bridgeAnnouncePosted.alias, alias)));
      return new Set(rows.map((r) => r.e));
    },
    async markAnnouncePosted(groupId, alias, eventId, matrixEventId) {
      await db.insert(bridgeAnnouncePosted).values({ groupId, alias, eventId, matrixEventId }).onConflictDoNothing();
    },
  };
}
