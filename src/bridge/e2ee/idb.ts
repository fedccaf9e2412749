// The wasm OlmMachine keeps its crypto store in IndexedDB or in memory, nothing
// else. Node has no IndexedDB, so fake-indexeddb (an in-memory implementation)
// stands in for it, and this module turns the databases of one store into
// bytes and back: the bridge keeps those bytes, sealed under the vault key, in
// its own database (PGlite or PostgreSQL), so a restarted bridge is the same
// device with the same Olm/Megolm sessions. The store itself is also encrypted
// by the machine with a key derived from the vault key (StoreHandle.openWithKey),
// so the bytes hold no key in clear even before they are sealed.
import "fake-indexeddb/auto";
import { deserialize, serialize } from "node:v8";

// The few IndexedDB shapes used here (the project compiles without the DOM library).
type Key = unknown;
interface Req<T> { result: T; error: unknown; onsuccess: (() => void) | null; onerror: (() => void) | null }
interface OpenReq extends Req<Db> { onupgradeneeded: (() => void) | null; onblocked: (() => void) | null }
interface Index { keyPath: string | string[]; unique: boolean; multiEntry: boolean }
interface ObjectStore {
  keyPath: string | string[] | null;
  autoIncrement: boolean;
  indexNames: Iterable<string>;
  index(name: string): Index;
  getAllKeys(): Req<Key[]>;
  getAll(): Req<unknown[]>;
  put(value: unknown, key?: Key): unknown;
  createIndex(name: string, keyPath: string | string[], o: { unique: boolean; multiEntry: boolean }): unknown;
}
interface Tx { objectStore(name: string): ObjectStore; error: unknown; oncomplete: (() => void) | null; onerror: (() => void) | null; onabort: (() => void) | null }
interface Db {
  version: number;
  objectStoreNames: Iterable<string>;
  transaction(names: string[], mode: "readonly" | "readwrite"): Tx;
  createObjectStore(name: string, o: { keyPath: string | string[] | null; autoIncrement: boolean }): ObjectStore;
  close(): void;
}
interface Factory {
  open(name: string, version?: number): OpenReq;
  databases(): Promise<Array<{ name?: string; version?: number }>>;
  deleteDatabase(name: string): OpenReq;
}
const indexedDB = (globalThis as unknown as { indexedDB: Factory }).indexedDB;

interface IndexDump {
  name: string;
  keyPath: string | string[];
  unique: boolean;
  multiEntry: boolean;
}

interface StoreDump {
  name: string;
  keyPath: string | string[] | null;
  autoIncrement: boolean;
  indexes: IndexDump[];
  /** [primary key, value] in key order. */
  records: Array<[Key, unknown]>;
}

interface DatabaseDump {
  /** Name without the per-run prefix: the prefix changes between runs. */
  suffix: string;
  version: number;
  stores: StoreDump[];
}

/** The bytes are not a dump of this format (damaged, or written by something else). */
export class IdbDumpError extends Error {
  constructor(message: string, readonly value: unknown) {
    super(message);
    this.name = "IdbDumpError";
  }
}

const FORMAT = "pursuance/e2ee-idb/v1";

function request<T>(r: Req<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function openDb(name: string, version?: number, upgrade?: (db: Db) => void): Promise<Db> {
  return new Promise((resolve, reject) => {
    const r = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
    r.onupgradeneeded = () => upgrade?.(r.result);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: Tx): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });
}

/** Every database whose name starts with `prefix` (one store is two databases: data and meta). */
export async function dumpStore(prefix: string): Promise<Uint8Array> {
  const out: DatabaseDump[] = [];
  for (const info of await indexedDB.databases()) {
    if (!info.name?.startsWith(prefix)) continue;
    const db = await openDb(info.name);
    try {
      const names = [...db.objectStoreNames];
      const stores: StoreDump[] = [];
      if (names.length > 0) {
        // One read-only transaction over all stores: a consistent snapshot even while the machine writes.
        const tx = db.transaction(names, "readonly");
        for (const n of names) {
          const os = tx.objectStore(n);
          const [keys, values] = await Promise.all([request(os.getAllKeys()), request(os.getAll())]);
          stores.push({
            name: n,
            keyPath: os.keyPath,
            autoIncrement: os.autoIncrement,
            indexes: [...os.indexNames].map((i) => {
              const ix = os.index(i);
              return { name: i, keyPath: ix.keyPath, unique: ix.unique, multiEntry: ix.multiEntry };
            }),
            records: keys.map((k, i) => [k, values[i]]),
          });
        }
        await done(tx);
      }
      out.push({ suffix: info.name.slice(prefix.length), version: db.version, stores });
    } finally {
      db.close();
    }
  }
  return new Uint8Array(serialize({ format: FORMAT, databases: out }));
}

/** Recreate the databases of a dump under `prefix` (which must be unused), schema and rows. */
export async function restoreStore(prefix: string, bytes: Uint8Array): Promise<void> {
  let parsed: { format?: unknown; databases?: DatabaseDump[] };
  try {
    parsed = deserialize(bytes) as typeof parsed;
  } catch (e) {
    throw new IdbDumpError(`the crypto store is not readable: ${(e as Error).message}`, bytes.length);
  }
  if (parsed?.format !== FORMAT || !Array.isArray(parsed.databases)) throw new IdbDumpError(`the crypto store has an unknown format`, parsed?.format);
  for (const d of parsed.databases) {
    // Created at the version the machine left it at: the machine finds its schema current and migrates nothing.
    const db = await openDb(prefix + d.suffix, d.version, (up) => {
      for (const s of d.stores) {
        const os = up.createObjectStore(s.name, { keyPath: s.keyPath, autoIncrement: s.autoIncrement });
        for (const i of s.indexes) os.createIndex(i.name, i.keyPath, { unique: i.unique, multiEntry: i.multiEntry });
      }
    });
    try {
      const names = d.stores.map((s) => s.name);
      if (names.length === 0) continue;
      const tx = db.transaction(names, "readwrite");
      for (const s of d.stores) {
        const os = tx.objectStore(s.name);
        for (const [k, v] of s.records) s.keyPath === null ? os.put(v, k) : os.put(v);
      }
      await done(tx);
    } finally {
      db.close();
    }
  }
}

/** Drop a run's databases (after the machine using them is closed). */
export async function deleteStore(prefix: string): Promise<void> {
  for (const info of await indexedDB.databases()) {
    if (!info.name?.startsWith(prefix)) continue;
    await new Promise<void>((resolve) => {
      const r = indexedDB.deleteDatabase(info.name!);
      r.onsuccess = r.onerror = r.onblocked = () => resolve();
    });
  }
}
