// The bridge's store port over drizzle (PostgreSQL or PGlite).
import { and, asc, eq, ne } from "drizzle-orm";
import type { BridgeStorePort, PostedEvent, RoomBinding, StoredIdentity } from "../bridge/ports.js";
import { bridgeDirectRooms, bridgeGhosts, bridgeIdentities, bridgeInbound, bridgePosted, bridgeRequests, bridgeRoleRooms, bridgeRooms, bridgeSaid, bridgeDigests, bridgeDigestSent } from "./bridge-schema.js";
import type { Db } from "./db.js";

function toBinding(r: typeof bridgeRooms.$inferSelect): RoomBinding {
  return { ...r, relays: JSON.parse(r.relays) as string[] };
}

export function bridgeStore(db: Db): BridgeStorePort {
  return {
    async bindRoom(b) {
      await db
        .insert(bridgeRooms)
        .values({ ...b, relays: JSON.stringify(b.relays) })
        .onConflictDoUpdate({ target: bridgeRooms.roomId, set: { groupId: b.groupId, pursuanceId: b.pursuanceId, name: b.name, relays: JSON.stringify(b.relays) } });
    },
    async rooms() {
      return (await db.select().from(bridgeRooms)).map(toBinding);
    },
    async room(roomId) {
      const r = await db.select().from(bridgeRooms).where(eq(bridgeRooms.roomId, roomId));
      return r[0] ? toBinding(r[0]) : null;
    },
    async putIdentity(i: StoredIdentity) {
      await db.insert(bridgeIdentities).values(i).onConflictDoNothing();
    },
    async identities(groupId) {
      return db.select().from(bridgeIdentities).where(eq(bridgeIdentities.groupId, groupId));
    },
    async markPosted(p: PostedEvent) {
      await db.insert(bridgePosted).values(p).onConflictDoNothing();
    },
    async posted(groupId) {
      const rows = await db.select().from(bridgePosted).where(eq(bridgePosted.groupId, groupId));
      return rows.map((r) => ({ ...r, kind: r.kind as PostedEvent["kind"] }));
    },
    async taskMessage(groupId, taskId, roomId) {
      const r = await db
        .select({ m: bridgePosted.matrixEventId })
        .from(bridgePosted)
        .where(and(eq(bridgePosted.groupId, groupId), eq(bridgePosted.roomId, roomId), eq(bridgePosted.taskId, taskId), eq(bridgePosted.kind, "task")));
      return r[0]?.m ?? null;
    },
    async taskForMessage(roomId, matrixEventId) {
      const r = await db
        .select({ t: bridgePosted.taskId })
        .from(bridgePosted)
        .where(and(eq(bridgePosted.roomId, roomId), eq(bridgePosted.matrixEventId, matrixEventId), ne(bridgePosted.kind, "lock")));
      return r[0]?.t ?? null;
    },
    async claimInbound(eventId, roomId, event) {
      const r = await db.insert(bridgeInbound).values({ eventId, roomId, event }).onConflictDoNothing().returning({ id: bridgeInbound.eventId });
      return r.length > 0;
    },
    async markInboundDone(eventId) {
      await db.update(bridgeInbound).set({ done: true }).where(eq(bridgeInbound.eventId, eventId));
    },
    async pendingInbound() {
      const rows = await db.select({ e: bridgeInbound.event }).from(bridgeInbound).where(eq(bridgeInbound.done, false)).orderBy(asc(bridgeInbound.n));
      return rows.map((r) => r.e);
    },
    async roleRoom(groupId, role) {
      const r = await db.select({ id: bridgeRoleRooms.roomId }).from(bridgeRoleRooms).where(and(eq(bridgeRoleRooms.groupId, groupId), eq(bridgeRoleRooms.role, role)));
      return r[0]?.id ?? null;
    },
    async setRoleRoom(groupId, role, roomId) {
      await db.insert(bridgeRoleRooms).values({ groupId, role, roomId }).onConflictDoNothing();
    },
    async directRoom(matrixUser) {
      const r = await db.select({ id: bridgeDirectRooms.roomId }).from(bridgeDirectRooms).where(eq(bridgeDirectRooms.matrixUser, matrixUser));
      return r[0]?.id ?? null;
    },
    async setDirectRoom(matrixUser, roomId) {
      await db.insert(bridgeDirectRooms).values({ matrixUser, roomId }).onConflictDoUpdate({ target: bridgeDirectRooms.matrixUser, set: { roomId } });
    },
    async sayOnce(roomId, userId, what) {
      const r = await db.insert(bridgeSaid).values({ roomId, userId, what }).onConflictDoNothing().returning({ r: bridgeSaid.roomId });
      return r.length > 0;
    },
    async said(roomId, userId, what) {
      const r = await db
        .select({ r: bridgeSaid.roomId })
        .from(bridgeSaid)
        .where(and(eq(bridgeSaid.roomId, roomId), eq(bridgeSaid.userId, userId), eq(bridgeSaid.what, what)));
      return r.length > 0;
    },
    async digest(matrixUser) {
      const r = (await db.select().from(bridgeDigests).where(eq(bridgeDigests.matrixUser, matrixUser)))[0];
      return r ? { enabled: r.enabled, atMinute: r.atMinute, tz: r.tz } : null;
    },
    async setDigest(matrixUser, s) {
      await db.insert(bridgeDigests).values({ matrixUser, ...s }).onConflictDoUpdate({ target: bridgeDigests.matrixUser, set: { ...s } });
    },
    async lastDigest(matrixUser, groupId) {
      const r = await db.select({ at: bridgeDigestSent.at }).from(bridgeDigestSent).where(and(eq(bridgeDigestSent.matrixUser, matrixUser), eq(bridgeDigestSent.groupId, groupId)));
      return r[0]?.at ?? null;
    },
    async digestSent(matrixUser, groupId, at) {
      await db.insert(bridgeDigestSent).values({ matrixUser, groupId, at }).onConflictDoUpdate({ target: [bridgeDigestSent.matrixUser, bridgeDigestSent.groupId], set: { at } });
    },
    async ghostName(userId) {
      const r = await db.select().from(bridgeGhosts).where(eq(bridgeGhosts.userId, userId));
      return r[0]?.displayName ?? null;
    },
    async setGhostName(userId, displayName) {
      await db.insert(bridgeGhosts).values({ userId, displayName }).onConflictDoUpdate({ target: bridgeGhosts.userId, set: { displayName } });
    },
    async putJoinRequest(r) {
      await db
        .insert(bridgeRequests)
        .values(r)
        .onConflictDoUpdate({ target: [bridgeRequests.roomId, bridgeRequests.matrixUser], set: { address: r.address, message: r.message, displayName: r.displayName } });
    },
    async dropJoinRequest(roomId, matrixUser) {
      await db.delete(bridgeRequests).where(and(eq(bridgeRequests.roomId, roomId), eq(bridgeRequests.matrixUser, matrixUser)));
    },
    async joinRequests() {
      return db.select().from(bridgeRequests);
    },
  };
}
