// The two database engines the stores run on: embedded PGlite (the default) and
// real PostgreSQL at 127.0.0.1:5432 (PURSUANCE_TEST_PG overrides), each test on
// a fresh throw-away database that is dropped afterwards.
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { openDatabase, type Database } from "../../src/store/db.js";

export const PG_ADMIN_URL = process.env.PURSUANCE_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/test";

export interface Engine {
  name: "pglite" | "postgres";
  /** A fresh, migrated database; reopen(location) opens the same one again. */
  fresh(): Promise<{ location: string; db: Database }>;
  cleanup(): Promise<void>;
}

export function pgliteEngine(): Engine {
  return {
    name: "pglite",
    async fresh() {
      return { location: "memory://", db: await openDatabase("memory://") };
    },
    async cleanup() {},
  };
}

export function postgresEngine(prefix: string): Engine {
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  const created: string[] = [];
  return {
    name: "postgres",
    async fresh() {
      const name = `${prefix}_${randomBytes(6).toString("hex")}`;
      await admin.unsafe(`create database ${name}`);
      created.push(name);
      const u = new URL(PG_ADMIN_URL);
      u.pathname = `/${name}`;
      return { location: u.toString(), db: await openDatabase(u.toString()) };
    },
    async cleanup() {
      for (const name of created) await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
