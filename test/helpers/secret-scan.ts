// Look for key material in every row and column of every table of a
// database: the raw bytes, and their hex, base64 and base64url spellings.
import { sql } from "drizzle-orm";
import type { Db } from "../../src/store/db.js";

export interface Secret {
  what: string;
  bytes: Uint8Array;
}

export interface ScanResult {
  rows: number;
  tables: number;
  found: Array<{ table: string; column: string; what: string; form: string }>;
}

function forms(b: Uint8Array): Array<[string, Buffer]> {
  const buf = Buffer.from(b);
  const std = buf.toString("base64").replace(/=+$/, "");
  return [
    ["raw", buf],
    ["hex", Buffer.from(buf.toString("hex"))],
    ["HEX", Buffer.from(buf.toString("hex").toUpperCase())],
    ["base64", Buffer.from(std)],
    ["base64url", Buffer.from(buf.toString("base64url"))],
  ];
}

function asBuffer(v: unknown): Buffer {
  if (v === null || v === undefined) return Buffer.alloc(0);
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (typeof v === "string") {
    // PGlite and postgres-js may hand bytea back as "\x…" text: scan its bytes too.
    if (/^\\x[0-9a-f]*$/i.test(v)) return Buffer.concat([Buffer.from(v), Buffer.from(v.slice(2), "hex")]);
    return Buffer.from(v);
  }
  return Buffer.from(typeof v === "object" ? JSON.stringify(v) : String(v));
}

export async function scanForSecrets(db: Db, secrets: readonly Secret[]): Promise<ScanResult> {
  const tables = (await db.execute(sql`select tablename from pg_tables where schemaname = 'public'`)) as unknown as { rows?: Array<{ tablename: string }> } & Array<{ tablename: string }>;
  const names = (tables.rows ?? tables).map((t) => t.tablename);
  const needles = secrets.flatMap((s) => forms(s.bytes).map(([form, b]) => ({ what: s.what, form, b })));
  const out: ScanResult = { rows: 0, tables: names.length, found: [] };
  for (const table of names) {
    const res = (await db.execute(sql.raw(`select * from "${table}"`))) as unknown as { rows?: Array<Record<string, unknown>> } & Array<Record<string, unknown>>;
    for (const row of res.rows ?? res) {
      out.rows++;
      for (const [column, v] of Object.entries(row)) {
        const hay = asBuffer(v);
        for (const n of needles) if (hay.includes(n.b)) out.found.push({ table, column, what: n.what, form: n.form });
      }
    }
  }
  return out;
}
