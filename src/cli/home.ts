// A member's home folder: identity (secret key, mode 0600), the pursuance it
// belongs to, and its database (embedded PGlite in <home>/db unless --db
// names a PostgreSQL URL). Several homes let several members share a machine.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { fromB64, toB64, toHex } from "../cwtch/bytes.js";
import { loadCrypto, type Crypto, type SignKeyPair } from "../cwtch/crypto.js";
import { RelayClient } from "../cwtch/relay-client.js";
import { CLIENT_START_AFTER, VerifyPool, withVerifyPool } from "../cwtch/verify-pool.js";
import type { ClientConfig } from "../pursuance/client/client.js";
import type { ClientPorts } from "../pursuance/ports.js";
import { clientStore } from "../store/client-store.js";
import { openDatabase, type Database } from "../store/db.js";
import { UsageError } from "./usage.js";
import { systemTimer } from "../cwtch/timer.js";

export function defaultHome(): string {
  return process.env.PURSUANCE_HOME ?? join(homedir(), ".pursuance");
}

export interface Identity {
  name: string;
  keys: SignKeyPair;
  id: string;
}

/** Write via a temp file and rename: a crash never leaves half a file. */
export function writeFileAtomic(path: string, data: string, mode = 0o600): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, path);
  chmodSync(path, mode);
}

export class Home {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }
  get identityPath() {
    return join(this.dir, "identity.json");
  }
  get pursuancePath() {
    return join(this.dir, "pursuance.json");
  }

  init(crypto: Crypto, name: string): Identity {
    if (existsSync(this.identityPath)) throw new UsageError(`${this.identityPath} already exists: this home has an identity`);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const keys = crypto.signKeyPair();
    writeFileAtomic(this.identityPath, JSON.stringify({ name, publicKey: toHex(keys.publicKey), secretKey: toB64(keys.secretKey) }, null, 2) + "\n");
    return { name, keys, id: toHex(keys.publicKey) };
  }

  identity(): Identity {
    if (!existsSync(this.identityPath)) throw new UsageError(`no identity in ${this.dir}: run 'pursuance client init --name NAME --home ${this.dir}' first`);
    const v = JSON.parse(readFileSync(this.identityPath, "utf8")) as { name: string; publicKey: string; secretKey: string };
    const secretKey = fromB64(v.secretKey);
    if (secretKey.length !== 64) throw new UsageError(`${this.identityPath}: secretKey is not an Ed25519 secret key`);
    const publicKey = secretKey.slice(32);
    if (toHex(publicKey) !== v.publicKey) throw new UsageError(`${this.identityPath}: publicKey does not match secretKey`);
    return { name: v.name, keys: { publicKey, secretKey }, id: v.publicKey };
  }

  get requestKeysPath() {
    return join(this.dir, "request-keys.json");
  }

  /**
   * The key this home asks one pursuance's address with: made fresh for that
   * address and kept (mode 0600), so asking again reads the same answer and two
   * requests by one home do not share a key.
   */
  requestKey(crypto: Crypto, addressRv: string): SignKeyPair {
    const all = existsSync(this.requestKeysPath) ? (JSON.parse(readFileSync(this.requestKeysPath, "utf8")) as Record<string, string>) : {};
    const kept = all[addressRv];
    if (kept) {
      const secretKey = fromB64(kept);
      return { publicKey: secretKey.slice(32), secretKey };
    }
    const keys = crypto.signKeyPair();
    all[addressRv] = toB64(keys.secretKey);
    writeFileAtomic(this.requestKeysPath, JSON.stringify(all, null, 2) + "\n");
    return keys;
  }

  /**
   * Become the key a request was made with, once admitted: the member who
   * joins is the one who asked (the admission names that key). The identity
   * this home had is kept beside it, named by its key.
   */
  adoptIdentity(keys: SignKeyPair): void {
    const was = this.identity();
    if (was.id === toHex(keys.publicKey)) return;
    writeFileAtomic(join(this.dir, `identity-${was.id.slice(0, 16)}.json`), readFileSync(this.identityPath, "utf8"));
    writeFileAtomic(this.identityPath, JSON.stringify({ name: was.name, publicKey: toHex(keys.publicKey), secretKey: toB64(keys.secretKey) }, null, 2) + "\n");
  }

  get lockPath() {
    return join(this.dir, "lock");
  }

  /**
   * Hold this home for one command: a lock file naming our pid, made with
   * O_EXCL. A lock whose process is gone is taken over; a live one is waited
   * for (up to `waitMs`), then refused naming its pid. Returns the release.
   */
  async lock(waitMs = 30_000): Promise<() => void> {
    const end = Date.now() + waitMs;
    for (;;) {
      try {
        writeFileSync(this.lockPath, String(process.pid), { flag: "wx", mode: 0o600 });
        let held = true;
        return () => {
          if (held) rmSync(this.lockPath, { force: true });
          held = false;
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const pid = Number(readFileSync(this.lockPath, "utf8").trim());
      if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) {
        rmSync(this.lockPath, { force: true }); // its command died without letting go
        continue;
      }
      if (Date.now() >= end) throw new UsageError(`${this.dir} is in use by another pursuance command (pid ${pid}); try again when it is done`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  get noticesPath() {
    return join(this.dir, "notices.json");
  }

  /** What this home has told its member already (tasks given to them, the last digest): never told twice. */
  notices(): Notices {
    if (!existsSync(this.noticesPath)) return { told: [], lastDigest: 0 };
    const v = JSON.parse(readFileSync(this.noticesPath, "utf8")) as Partial<Notices>;
    return { told: Array.isArray(v.told) ? v.told.filter((x) => typeof x === "string") : [], lastDigest: typeof v.lastDigest === "number" ? v.lastDigest : 0 };
  }

  saveNotices(n: Notices): void {
    writeFileAtomic(this.noticesPath, JSON.stringify(n, null, 2) + "\n");
  }

  hasPursuance(): boolean {
    return existsSync(this.pursuancePath);
  }

  pursuance(): ClientConfig {
    if (!this.hasPursuance()) throw new UsageError(`no pursuance in ${this.dir}: 'create' one or 'join' with an invite`);
    return JSON.parse(readFileSync(this.pursuancePath, "utf8")) as ClientConfig;
  }

  savePursuance(c: ClientConfig): void {
    writeFileAtomic(this.pursuancePath, JSON.stringify(c, null, 2) + "\n");
  }

  /**
   * Start over after a join that was never let in: the request is kept aside
   * (pursuance-<id>.json beside identity-<id>.json) and this home gets a new
   * key, so a join with another invite is a new member's first event and
   * never a second one from the old key (which every client would take as
   * equivocation). Returns the old identity's id.
   */
  startOver(crypto: Crypto): string {
    const was = this.identity();
    const tag = was.id.slice(0, 16);
    writeFileAtomic(join(this.dir, `identity-${tag}.json`), readFileSync(this.identityPath, "utf8"));
    renameSync(this.pursuancePath, join(this.dir, `pursuance-${tag}.json`));
    const keys = crypto.signKeyPair();
    writeFileAtomic(this.identityPath, JSON.stringify({ name: was.name, publicKey: toHex(keys.publicKey), secretKey: toB64(keys.secretKey) }, null, 2) + "\n");
    return was.id;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface Notices {
  /** Ids of tasks the member was told were given to them. */
  told: string[];
  /** When the last digest was shown (ms); 0: never. */
  lastDigest: number;
}

export interface Session {
  home: Home;
  me: Identity;
  crypto: Crypto;
  db: Database;
  ports(groupId: string, log?: (m: string) => void): ClientPorts;
}

export async function openSession(dir: string, dbUrl: string | undefined, socksProxy: string | undefined): Promise<Session> {
  const home = new Home(dir);
  const me = home.identity();
  const crypto = await loadCrypto();
  // A long catch-up (joining a big pursuance) checks signatures on every core; a short one never starts a worker.
  const pool = new VerifyPool(crypto, { startAfter: CLIENT_START_AFTER });
  const reading = withVerifyPool(crypto, pool);
  // One command at a time per home: two would each write the config (the unsent queue) over the other's.
  const release = await home.lock();
  let opened: Database;
  try {
    opened = await openDatabase(dbUrl ?? join(home.dir, "db"));
  } catch (e) {
    release();
    await pool.close();
    throw e;
  }
  const db: Database = { ...opened, close: () => opened.close().finally(() => (release(), pool.close())) };
  return {
    home,
    me,
    crypto,
    db,
    ports: (groupId, log) => ({
      crypto: reading,
      now: () => Date.now(),
      setTimer: systemTimer,
      connect: (url) => new RelayClient({ url, crypto, ...(socksProxy ? { socksProxy } : {}) }),
      store: clientStore(db.db, crypto, me.id, groupId),
      ...(log ? { log } : {}),
    }),
  };
}
