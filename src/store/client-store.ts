// The PursuanceClient's store port on PostgreSQL or PGlite. Writes are
// idempotent (on conflict do nothing), so a replay after a crash is harmless.
import { and, asc, eq } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import type { ClientStorePort, StoredEvent } from "../pursuance/ports.js";
import { clientCursors, clientEvents, clientKeys } from "./client-schema.js";
import type { Db } from "./db.js";
import { keyIdOf } from "../pursuance/keyring.js";
import type { Crypto } from "../cwtch/crypto.js";

export function clientStore(db: Db, crypto: Crypto, owner: string, groupId: string): ClientStorePort {
  const mine = (t: { owner: AnyPgColumn; pursuance: AnyPgColumn }) => and(eq(t.owner, owner), eq(t.pursuance, groupId));
  return {
    async loadEvents() {
      const rows = await db.select({ bytes: clientEvents.bytes }).from(clientEvents).where(mine(clientEvents)).orderBy(asc(clientEvents.n));
      return rows.map((r) => r.bytes);
    },
    async saveEvents(events: StoredEvent[]) {
      if (events.length === 0) return;
      for (let i = 0; i < events.length; i += 500) {
        const chunk = events.slice(i, i + 500).map((e) => ({ owner, pursuance: groupId, id: e.id, bytes: e.bytes }));
        await db.insert(clientEvents).values(chunk).onConflictDoNothing();
      }
    },
    async loadKeys() {
      const rows = await db.select({ scope: clientKeys.scope, key: clientKeys.key }).from(clientKeys).where(mine(clientKeys));
      return rows;
    },
    async saveKey(scope, key) {
      await db.insert(clientKeys).values({ owner, pursuance: groupId, keyId: keyIdOf(crypto, key), scope, key }).onConflictDoNothing();
    },
    async loadCursors() {
      const rows = await db.select({ relay: clientCursors.relay, seq: clientCursors.seq }).from(clientCursors).where(mine(clientCursors));
      return Object.fromEntries(rows.map((r) => [r.relay, r.seq]));
    },
    async saveCursor(relay, seq) {
      await db
        .insert(clientCursors)
        .values({ owner, pursuance: groupId, relay, seq })
        .onConflictDoUpdate({ target: [clientCursors.owner, clientCursors.pursuance, clientCursors.relay], set: { seq } });
    },
  };
}
