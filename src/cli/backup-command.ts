// `pursuance backup` and `pursuance restore`: one passphrase-sealed file
// (backup-file.ts) holding a member's identity, pursuance and client rows, or
// the bridge's whole state (bindings, sealed identities, every hosted client's
// rows, what it posted where) with the identity key those rows are sealed
// under. Restore checks everything before it writes anything, and writes the
// database rows in one transaction before the files.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { resealDump } from "../bridge/backup-reseal.js";
import { ConfigErrors, loadConfig, resolveIdentityKey } from "../bridge/config/config.js";
import { IdentityVault } from "../bridge/identity-vault.js";
import { equalBytes, fromB64, toB64, toHex } from "../cwtch/bytes.js";
import { loadCrypto, type Crypto } from "../cwtch/crypto.js";
import type { ClientConfig } from "../pursuance/client/client.js";
import { countRows, dumpTables, loadTables, type Scope, type TableDump } from "../store/backup-tables.js";
import { openDatabase, type Database } from "../store/db.js";
import { BackupError, openBackup, sealBackup } from "./backup-file.js";
import { defaultHome, Home, writeFileAtomic } from "./home.js";
import { readPassphrase, PASSPHRASE_ENV } from "./passphrase.js";
import { UsageError } from "./usage.js";

export const BACKUP_HELP = `Usage: pursuance backup FILE [--home DIR] [--db URL]
       pursuance backup FILE --bridge [-c config.yaml]

Write one passphrase-encrypted file (Argon2id, XChaCha20-Poly1305) holding a
member's identity, pursuance and log (from --home and its database), or with
--bridge the bridge's whole state (its database and the identity key its rows
are sealed under). Stop a bridge that uses the embedded database first.

Options:
  --home DIR             the member's folder (default $PURSUANCE_HOME or ~/.pursuance)
  --db URL               the member's PostgreSQL database instead of <home>/db
  --bridge               back up the bridge named by -c instead of a member
  -c, --config FILE      the bridge config (default ./config.yaml)
  --passphrase-file F    read the passphrase from F (else $${PASSPHRASE_ENV}, else a prompt)
  --force                overwrite FILE if it exists
  -h, --help             show this help

Example:
  pursuance backup ada.pbak --home ~/ada
  pursuance backup bridge.pbak --bridge -c config.yaml
`;

export const RESTORE_HELP = `Usage: pursuance restore FILE [--home DIR] [--db URL] [--force]
       pursuance restore FILE --bridge [-c config.yaml] [--force]

Bring back what 'pursuance backup' wrote, on this machine: into --home and its
database (embedded or PostgreSQL, whichever the backup came from), or with
--bridge into the database of the bridge config (rows are re-sealed if its
identity key differs from the backup's). A wrong passphrase or a damaged file
fails and writes nothing. An existing identity (or bridge state) is replaced
only with --force. The member or bridge then catches up from the relays.

Options: as for backup, plus
  --force                replace the identity or bridge state already there

Example:
  pursuance restore ada.pbak --home ~/ada --db postgres://ada@127.0.0.1:5432/ada
`;

const OPTIONS = {
  home: { type: "string" },
  db: { type: "string" },
  bridge: { type: "boolean" },
  config: { type: "string", short: "c" },
  "passphrase-file": { type: "string" },
  force: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

type Values = { home?: string; db?: string; bridge?: boolean; config?: string; "passphrase-file"?: string; force?: boolean; help?: boolean };

interface MemberPayload {
  kind: "member";
  createdAt: string;
  identity: { name: string; publicKey: string; secretKey: string };
  pursuance: ClientConfig | null;
  tables: TableDump;
}
interface BridgePayload {
  kind: "bridge";
  createdAt: string;
  identityKey: Uint8Array;
  tables: TableDump;
}
type Payload = MemberPayload | BridgePayload;

export interface BackupIo {
  out(line: string): void;
  err(line: string): void;
  env?: Record<string, string | undefined>;
}
const stdio: BackupIo = { out: (l) => void process.stdout.write(l + "\n"), err: (l) => void process.stderr.write(l + "\n") };

export const runBackupCommand = (argv: string[], io: BackupIo = stdio) => run("backup", argv, io);
export const runRestoreCommand = (argv: string[], io: BackupIo = stdio) => run("restore", argv, io);

async function run(cmd: "backup" | "restore", argv: string[], io: BackupIo): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const v = parsed.values as Values;
    if (v.help) return io.out(cmd === "backup" ? BACKUP_HELP : RESTORE_HELP), 0;
    const file = parsed.positionals[0];
    if (!file || parsed.positionals.length > 1) throw new UsageError(`want exactly one FILE, got ${parsed.positionals.length}`);
    if (v.bridge && (v.home || v.db)) throw new UsageError("--bridge takes its database from the config; drop --home/--db");
    if (!v.bridge && v.config) throw new UsageError("-c names a bridge config: add --bridge");
    const passphrase = { ...(v["passphrase-file"] !== undefined ? { file: v["passphrase-file"] } : {}), ...(io.env ? { env: io.env } : {}) };
    const crypto = await loadCrypto();
    if (cmd === "backup") {
      if (existsSync(file) && !v.force) throw new UsageError(`${file} exists; use --force to overwrite it`);
      // The passphrase first: a typo in it should not cost a database read.
      const pass = await readPassphrase({ ...passphrase, confirm: true });
      const payload = v.bridge ? await bridgePayload(crypto, v, io) : await memberPayload(v);
      const bytes = await sealBackup(crypto, payload, pass);
      writeBytesAtomic(file, bytes);
      io.out(`${describe(payload)} written to ${file} (${bytes.length} bytes)`);
    } else {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(file));
      } catch (e) {
        throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const pass = await readPassphrase({ ...passphrase, confirm: false });
      const payload = checkPayload(await openBackup(crypto, bytes, pass, file));
      if (payload.kind === "bridge" ? !v.bridge : v.bridge) throw new UsageError(`${file} is a ${payload.kind} backup: ${payload.kind === "bridge" ? "add --bridge -c config.yaml" : "drop --bridge"}`);
      const n = payload.kind === "bridge" ? await restoreBridge(crypto, payload, v, io) : await restoreMember(payload, v);
      io.out(`restored ${describe(payload)} (${n} rows); it catches up from the relays when it next runs`);
    }
    return 0;
  } catch (e) {
    const err = e as Error;
    if (err instanceof UsageError) io.err(`pursuance ${cmd}: ${err.message}\nRun 'pursuance ${cmd} --help' for usage.`);
    else if (err instanceof ConfigErrors) io.err(`pursuance ${cmd}: ${err.message}`);
    else io.err(`pursuance ${cmd}: ${err instanceof BackupError ? "" : `${err.name}: `}${err.message}`);
    return err instanceof UsageError ? 2 : 1;
  }
}

/** Via a temp file and rename, mode 0600: a crash never leaves half a backup under the final name. */
function writeBytesAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes, { mode: 0o600 });
  renameSync(tmp, path);
}

function describe(p: Payload): string {
  if (p.kind === "bridge") return `bridge state (${p.tables.bridge_rooms?.length ?? 0} rooms, ${p.tables.bridge_identities?.length ?? 0} identities)`;
  return `member ${p.identity.name} (${p.identity.publicKey.slice(0, 16)}…)${p.pursuance ? ` of pursuance ${p.pursuance.name}` : ""}`;
}

async function withDb<T>(location: string, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(location);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function memberPayload(v: Values): Promise<MemberPayload> {
  const home = new Home(v.home ?? defaultHome());
  const me = home.identity();
  const raw = JSON.parse(readFileSync(home.identityPath, "utf8")) as { name: string };
  const tables = await withDb(v.db ?? join(home.dir, "db"), (db) => dumpTables(db.db, { kind: "member", owner: me.id }));
  return {
    kind: "member",
    createdAt: new Date().toISOString(),
    identity: { name: raw.name, publicKey: me.id, secretKey: toB64(me.keys.secretKey) },
    pursuance: home.hasPursuance() ? home.pursuance() : null,
    tables,
  };
}

function bridgeSetup(v: Values) {
  const cfg = loadConfig(v.config ?? "config.yaml");
  return { location: cfg.database.kind === "pglite" ? cfg.database.path! : cfg.database.url, key: resolveIdentityKey(cfg) };
}

async function bridgePayload(crypto: Crypto, v: Values, io: BackupIo): Promise<BridgePayload> {
  const { location, key } = bridgeSetup(v);
  const tables = await withDb(location, (db) => dumpTables(db.db, { kind: "bridge" }));
  // Every sealed row must open under the key going into the backup, or the backup would be useless.
  const vault = new IdentityVault(crypto, key);
  resealDump(tables, vault, vault);
  if ((tables.bridge_rooms?.length ?? 0) === 0) io.err("warning: the bridge's database binds no room");
  return { kind: "bridge", createdAt: new Date().toISOString(), identityKey: key, tables };
}

async function restoreMember(p: MemberPayload, v: Values): Promise<number> {
  const home = new Home(v.home ?? defaultHome());
  if (existsSync(home.identityPath) && !v.force) {
    throw new UsageError(`${home.identityPath} already exists (${home.identity().name}); restoring would replace that identity: use --force`);
  }
  const scope: Scope = { kind: "member", owner: p.identity.publicKey };
  mkdirSync(home.dir, { recursive: true, mode: 0o700 });
  const n = await withDb(v.db ?? join(home.dir, "db"), async (db) => {
    if (!v.force && (await countRows(db.db, scope)) > 0) throw new UsageError(`the database already holds rows of member ${p.identity.publicKey.slice(0, 16)}…; use --force to replace them`);
    return loadTables(db.db, scope, p.tables);
  });
  writeFileAtomic(home.identityPath, JSON.stringify(p.identity, null, 2) + "\n");
  if (p.pursuance) home.savePursuance(p.pursuance);
  else rmSync(home.pursuancePath, { force: true });
  return n;
}

async function restoreBridge(crypto: Crypto, p: BridgePayload, v: Values, io: BackupIo): Promise<number> {
  const { location, key } = bridgeSetup(v);
  let tables = p.tables;
  if (!equalBytes(key, p.identityKey)) {
    io.err(`the config's identity key (${fingerprint(crypto, key)}) differs from the backup's (${fingerprint(crypto, p.identityKey)}): re-sealing every row under the config's`);
    tables = resealDump(p.tables, new IdentityVault(crypto, p.identityKey), new IdentityVault(crypto, key));
  }
  const scope: Scope = { kind: "bridge" };
  return withDb(location, async (db) => {
    if (!v.force && (await countRows(db.db, scope)) > 0) throw new UsageError(`the bridge database at ${v.config ?? "config.yaml"}'s database.url already holds state; use --force to replace it`);
    return loadTables(db.db, scope, tables);
  });
}

function fingerprint(crypto: Crypto, key: Uint8Array): string {
  return toHex(crypto.hash(key, 16)).slice(0, 12);
}

/** The decrypted payload is ours (it opened under the passphrase) but may come from a newer version: check its shape. */
function checkPayload(x: unknown): Payload {
  const bad = (what: string) => new BackupError("damaged", `the backup opened but ${what}`, x);
  if (!x || typeof x !== "object") throw bad("holds no payload");
  const p = x as { kind?: unknown; tables?: unknown; identityKey?: unknown; identity?: Partial<MemberPayload["identity"]> };
  if (!p.tables || typeof p.tables !== "object") throw bad("has no tables");
  if (p.kind === "bridge") {
    if (!(p.identityKey instanceof Uint8Array) || p.identityKey.length !== 32) throw bad("has no 32-byte identity key");
    return p as unknown as BridgePayload;
  }
  if (p.kind !== "member") throw bad(`is of an unknown kind ${JSON.stringify(p.kind)}`);
  const id = p.identity;
  if (!id || typeof id.name !== "string" || typeof id.publicKey !== "string" || typeof id.secretKey !== "string") throw bad("has no identity");
  const sk = fromB64(id.secretKey);
  if (sk.length !== 64 || toHex(sk.slice(32)) !== id.publicKey) throw bad("holds an identity whose public key does not match its secret key");
  return p as unknown as MemberPayload;
}
