// Rows out of and into the database for `pursuance backup`/`restore`, the
// same on PostgreSQL and PGlite (drizzle over either), so a backup taken on
// one restores into the other. Arrival-order columns (`n`, bigserial) are not
// copied: rows go back in that order and the target numbers them afresh, so
// its own sequence stays ahead of every row and later inserts sort after.
import { asc, eq, sql } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import { bridgeAnnouncePosted, bridgeAnnounceRooms } from "./announce-schema.js";
import { bridgeDirectRooms, bridgeE2eeDevices, bridgeGhosts, bridgeIdentities, bridgeInbound, bridgePosted, bridgeRequests, bridgeRoleRooms, bridgeRooms, bridgeSaid, bridgeDigests, bridgeDigestSent } from "./bridge-schema.js";
import { clientCursors, clientEvents, clientKeys, clientChunks } from "./client-schema.js";
import type { Db } from "./db.js";

export type Row = Record<string, unknown>;
/** Table name → its rows, as drizzle reads them (TypeScript property names; bytea as Uint8Array). */
export type TableDump = Record<string, Row[]>;

interface TableSpec {
  name: string;
  table: PgTable;
  /** Arrival order (the property `n` in every such table): read in it, not copied. */
  order?: PgColumn;
  /** For a member's backup: the column naming whose row it is. */
  owner?: PgColumn;
}

const CLIENT_TABLES: TableSpec[] = [
  { name: "client_events", table: clientEvents, order: clientEvents.n, owner: clientEvents.owner },
  { name: "client_keys", table: clientKeys, owner: clientKeys.owner },
  { name: "client_cursors", table: clientCursors, owner: clientCursors.owner },
  { name: "client_chunks", table: clientChunks, owner: clientChunks.owner },
];

const BRIDGE_TABLES: TableSpec[] = [
  { name: "bridge_rooms", table: bridgeRooms },
  { name: "bridge_identities", table: bridgeIdentities },
  { name: "bridge_posted", table: bridgePosted },
  { name: "bridge_ghosts", table: bridgeGhosts },
  { name: "bridge_inbound", table: bridgeInbound, order: bridgeInbound.n },
  { name: "bridge_role_rooms", table: bridgeRoleRooms },
  { name: "bridge_direct_rooms", table: bridgeDirectRooms },
  { name: "bridge_said", table: bridgeSaid },
  { name: "bridge_digests", table: bridgeDigests },
  { name: "bridge_digest_sent", table: bridgeDigestSent },
  { name: "bridge_requests", table: bridgeRequests },
  { name: "bridge_e2ee_devices", table: bridgeE2eeDevices },
  { name: "bridge_announce_rooms", table: bridgeAnnounceRooms },
  { name: "bridge_announce_posted", table: bridgeAnnouncePosted },
  ...CLIENT_TABLES,
];

/** What a backup holds: one member's rows (by owner), or the whole bridge. */
export type Scope = { kind: "member"; owner: string } | { kind: "bridge" };

function specs(scope: Scope): TableSpec[] {
  return scope.kind === "member" ? CLIENT_TABLES : BRIDGE_TABLES;
}

function where(s: TableSpec, scope: Scope) {
  return scope.kind === "member" ? eq(s.owner!, scope.owner) : undefined;
}

/** Every row in scope, read in one transaction so the copy is consistent while others write. */
export async function dumpTables(db: Db, scope: Scope): Promise<TableDump> {
  return db.transaction(
    async (tx) => {
      const out: TableDump = {};
      for (const s of specs(scope)) {
        const q = tx.select().from(s.table).where(where(s, scope));
        const rows = (s.order ? await q.orderBy(asc(s.order)) : await q) as Row[];
        if (s.order) for (const r of rows) delete r.n;
        out[s.name] = rows;
      }
      return out;
    },
    { isolationLevel: "repeatable read" },
  );
}

/** How many rows in scope the database holds already (restore refuses to mix unless forced). */
export async function countRows(db: Db, scope: Scope): Promise<number> {
  let n = 0;
  for (const s of specs(scope)) {
    const [r] = await db.select({ n: sql<number>`count(*)` }).from(s.table).where(where(s, scope));
    n += Number(r?.n ?? 0);
  }
  return n;
}

export class RestoreShapeError extends Error {
  constructor(message: string, readonly value: unknown) {
    super(message);
    this.name = "RestoreShapeError";
  }
}

/**
 * Replace what the database holds in scope with `dump`, in one transaction:
 * either all of it lands or none of it does. Unknown tables in the dump are
 * an error (a newer backup than this code), not silently dropped.
 */
export async function loadTables(db: Db, scope: Scope, dump: TableDump): Promise<number> {
  const known = new Map(specs(scope).map((s) => [s.name, s]));
  for (const name of Object.keys(dump)) {
    if (!known.has(name)) throw new RestoreShapeError(`the backup has a table this version does not know: ${name}`, name);
    if (!Array.isArray(dump[name])) throw new RestoreShapeError(`the backup's ${name} is not a list of rows`, name);
  }
  return db.transaction(async (tx) => {
    let n = 0;
    for (const s of specs(scope)) await tx.delete(s.table).where(where(s, scope));
    for (const s of specs(scope)) {
      const rows = dump[s.name] ?? [];
      if (scope.kind === "member") {
        for (const r of rows) if (r.owner !== scope.owner) throw new RestoreShapeError(`the backup's ${s.name} holds a row of another member`, r.owner);
      }
      for (let i = 0; i < rows.length; i += 500) {
        await tx.insert(s.table).values(rows.slice(i, i + 500));
        n += Math.min(500, rows.length - i);
      }
    }
    return n;
  });
}

/** Every table a bridge backup carries (a test checks no table of the schema is left out). */
export const BRIDGE_BACKUP_TABLES: readonly string[] = BRIDGE_TABLES.map((t) => t.name);
