// One way to open the database, whichever engine: embedded PGlite (a folder,
// the default, so one command runs everything) or PostgreSQL (a postgres://
// URL, for production). Migrations from `migrations/` run on open.
import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePg } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { MIGRATIONS_DIR, migrateDatabase } from "./relay-pg-store.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Db = PgDatabase<PgQueryResultHKT, any>;

export interface Database {
  db: Db;
  kind: "pglite" | "postgres";
  close(): Promise<void>;
}

export class DatabaseError extends Error {
  constructor(message: string, readonly location: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DatabaseError";
  }
}

/** `location`: a postgres:// URL, or a folder for embedded PGlite ("memory://" for a throwaway one). */
export async function openDatabase(location: string): Promise<Database> {
  if (/^postgres(ql)?:\/\//.test(location)) {
    try {
      await migrateDatabase(location);
    } catch (e) {
      throw new DatabaseError(`cannot open PostgreSQL at ${redact(location)}: ${(e as Error).message}`, location, { cause: e });
    }
    const client = postgres(location, { max: 5, onnotice: () => {} });
    return { db: drizzlePg(client) as unknown as Db, kind: "postgres", close: () => client.end({ timeout: 5 }) };
  }
  const dir = location === "memory://" ? undefined : location;
  if (dir) mkdirSync(dir, { recursive: true });
  let pg: PGlite;
  try {
    pg = new PGlite(dir);
    await pg.waitReady;
    const db = drizzlePglite(pg);
    await migratePglite(db, { migrationsFolder: MIGRATIONS_DIR });
    return { db: db as unknown as Db, kind: "pglite", close: () => pg.close() };
  } catch (e) {
    throw new DatabaseError(`cannot open embedded database in ${location}: ${(e as Error).message}`, location, { cause: e });
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]+@/, "//$1:***@");
}
