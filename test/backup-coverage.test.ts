// A bridge backup must carry every table the bridge and its clients keep: a
// table added by a later migration and forgotten here would be lost on restore.
import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { BRIDGE_BACKUP_TABLES } from "../src/store/backup-tables.js";
import { openDatabase } from "../src/store/db.js";

it("a bridge backup covers every bridge_ and client_ table of the migrated schema", async () => {
  const db = await openDatabase("memory://");
  try {
    const res = (await db.db.execute(sql`select tablename from pg_tables where schemaname = 'public'`)) as unknown as { rows?: Array<{ tablename: string }> } & Array<{ tablename: string }>;
    const names = (res.rows ?? res).map((r) => r.tablename).filter((n) => /^(bridge|client)_/.test(n)).sort();
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n) => !BRIDGE_BACKUP_TABLES.includes(n))).toEqual([]);
  } finally {
    await db.close();
  }
});
