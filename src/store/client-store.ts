// The PursuanceClient's store port on PostgreSQL or PGlite. Writes are
// idempotent (on conflict do nothing), so a replay after a crash is harmless.
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import type { ClientStorePort, StoredEvent } from "../pursuance/ports.js";
import { clientChunks, clientCursors, clientEvents, clientKeys } from "./client-schema.js";
import type { Db } from "./db.js";
import { keyIdOf } from "../pursuance/keyring.js";
import type { Crypto } from "../cwtch/crypto.js";

/**
 * Seals key material before it is written and opens it when read (the bridge
 * passes its vault, so a stolen database yields no role or group key). Without
 * one, keys are stored as given (the CLI's own database on its own disk).
 */
/** First byte of a sealed event row; a plain signed message starts with its kind (1 or 2). */
export const SEALED_EVENT = 0xe5;
/** What a sealed key or event row is bound to (a backup restored under another vault key re-seals with these). */
export const keyPurpose = (owner: string, groupId: string, scope: string) => `client-key|${owner}|${groupId}|${scope}`;
export const eventPurpose = (owner: string, groupId: string) => `client-event|${owner}|${groupId}`;

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export interface KeySealer {
  seal(plain: Uint8Array, purpose: string): Uint8Array;
  open(sealed: Uint8Array, purpose: string): Uint8Array;
}

export function clientStore(db: Db, crypto: Crypto, owner: string, groupId: string, sealer?: KeySealer): ClientStorePort {
  const purpose = (scope: string) => keyPurpose(owner, groupId, scope);
  const mine = (t: { owner: AnyPgColumn; pursuance: AnyPgColumn }) => and(eq(t.owner, owner), eq(t.pursuance, groupId));
  // Events hold secrets too (an invite's rendezvous secret, group-readable text): with a sealer they
  // are sealed at rest as well. Plain rows (kind byte 1 or 2) written before still load.
  const evPurpose = eventPurpose(owner, groupId);
  const sealEvent = (b: Uint8Array) => (sealer ? concatBytes(Uint8Array.of(SEALED_EVENT), sealer.seal(b, evPurpose)) : b);
  return {
    async loadEvents() {
      // Read as base64 text, not bytea: both drivers parse bytea row by row in JavaScript (PGlite
      // took 6.7 s for 100,000 events, 1.6 s as base64; PostgreSQL a third less CPU), and Node's
      // decoder skips the line breaks PostgreSQL puts in base64.
      const rows = await db.select({ b64: sql<string>`encode(${clientEvents.bytes}, 'base64')` }).from(clientEvents).where(mine(clientEvents)).orderBy(asc(clientEvents.n));
      return rows.map((r) => {
        const bytes = Buffer.from(r.b64, "base64");
        return sealer && bytes[0] === SEALED_EVENT ? sealer.open(bytes.subarray(1), evPurpose) : bytes;
      });
    },
    async saveEvents(events: StoredEvent[]) {
      if (events.length === 0) return;
      for (let i = 0; i < events.length; i += 500) {
        const chunk = events.slice(i, i + 500).map((e) => ({ owner, pursuance: groupId, id: e.id, bytes: sealEvent(e.bytes) }));
        await db.insert(clientEvents).values(chunk).onConflictDoNothing();
      }
    },
    async loadKeys() {
      const rows = await db.select({ scope: clientKeys.scope, key: clientKeys.key, outOfBand: clientKeys.outOfBand }).from(clientKeys).where(mine(clientKeys));
      if (!sealer) return rows;
      const out: Array<{ scope: string; key: Uint8Array; outOfBand: boolean }> = [];
      for (const r of rows) {
        // A 32-byte row is a key written before sealing (sealed ones carry nonce and tag): seal it now.
        if (r.key.length === 32) {
          const keyId = keyIdOf(crypto, r.key);
          await db.update(clientKeys).set({ key: sealer.seal(r.key, purpose(r.scope)) }).where(and(mine(clientKeys), eq(clientKeys.keyId, keyId)));
          out.push(r);
        } else out.push({ scope: r.scope, key: sealer.open(r.key, purpose(r.scope)), outOfBand: r.outOfBand });
      }
      return out;
    },
    async saveKey(scope, key, outOfBand = false) {
      // The key id is a hash of the key (what the log names it by), not the key.
      const stored = sealer ? sealer.seal(key, purpose(scope)) : key;
      const row = { owner, pursuance: groupId, keyId: keyIdOf(crypto, key), scope, key: stored, outOfBand };
      // Once out of band, always: a key first kept from an event and then handed over by a welcome is marked.
      if (outOfBand) await db.insert(clientKeys).values(row).onConflictDoUpdate({ target: [clientKeys.owner, clientKeys.pursuance, clientKeys.keyId], set: { outOfBand: true } });
      else await db.insert(clientKeys).values(row).onConflictDoNothing();
    },
    async loadCursors() {
      const rows = await db.select({ relay: clientCursors.relay, seq: clientCursors.seq }).from(clientCursors).where(mine(clientCursors));
      return Object.fromEntries(rows.map((r) => [r.relay, r.seq]));
    },
    async saveChunks(frames) {
      for (let i = 0; i < frames.length; i += 100) {
        const rows = frames.slice(i, i + 100).map((f) => ({ owner, pursuance: groupId, tag: f.tag, blob: f.blob }));
        await db.insert(clientChunks).values(rows).onConflictDoNothing();
      }
    },
    async loadChunks(tags) {
      const out = new Map<string, Uint8Array>();
      for (let i = 0; i < tags.length; i += 500) {
        const rows = await db.select({ tag: clientChunks.tag, blob: clientChunks.blob }).from(clientChunks).where(and(mine(clientChunks), inArray(clientChunks.tag, [...tags.slice(i, i + 500)])));
        for (const r of rows) out.set(r.tag, r.blob);
      }
      return out;
    },
    async saveCursor(relay, seq) {
      await db
        .insert(clientCursors)
        .values({ owner, pursuance: groupId, relay, seq })
        .onConflictDoUpdate({ target: [clientCursors.owner, clientCursors.pursuance, clientCursors.relay], set: { seq } });
    },
  };
}
