// The backup file: one passphrase-sealed blob. Layout (all integers big-endian):
//
//   "PURSUANCE-BACKUP" (16) | version u8 = 1 | kdf u8 = 1 (Argon2id13)
//   | opslimit u32 | memlimit u32 (KiB) | salt (16) | nonce (24)          ← header, 66 bytes
//   | XChaCha20-Poly1305(deflate(JSON payload), ad = header)              ← sealed
//   | BLAKE2b-256(header ‖ sealed)                                        ← checksum
//
// The checksum is unkeyed: it only tells a damaged file (a flipped byte, a
// truncated copy) from a wrong passphrase, so each gets its own error; the
// AEAD, keyed by the passphrase, is what protects the content. Every check
// runs before anything is returned, so a caller writes nothing on failure.
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { concat, equalBytes, fromB64, toB64, utf8 } from "../cwtch/bytes.js";
import { PWHASH_MAX, PWHASH_MODERATE, PWHASH_SALT_BYTES, pwhashArgon2id, type Crypto, type PwhashParams } from "../cwtch/crypto.js";

const MAGIC = utf8.encode("PURSUANCE-BACKUP");
export const BACKUP_VERSION = 1;
const KDF_ARGON2ID13 = 1;
const HEADER_BYTES = MAGIC.length + 1 + 1 + 4 + 4 + PWHASH_SALT_BYTES + 24;
const CHECKSUM_BYTES = 32;

export type BackupErrorCode = "not-a-backup" | "unsupported-version" | "damaged" | "wrong-passphrase";

export class BackupError extends Error {
  constructor(readonly code: BackupErrorCode, message: string, readonly value?: unknown) {
    super(message);
    this.name = "BackupError";
  }
}

/** JSON with bytes: a Uint8Array travels as {"$b64": "..."}. */
function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? { $b64: toB64(x) } : x));
}
function fromJson(s: string): unknown {
  return JSON.parse(s, (_k, x: unknown) => {
    if (x && typeof x === "object" && !Array.isArray(x) && Object.keys(x).length === 1 && typeof (x as { $b64?: unknown }).$b64 === "string") return fromB64((x as { $b64: string }).$b64);
    return x;
  });
}

function header(p: PwhashParams, salt: Uint8Array, nonce: Uint8Array): Uint8Array {
  const h = new Uint8Array(HEADER_BYTES);
  const dv = new DataView(h.buffer);
  h.set(MAGIC, 0);
  let o = MAGIC.length;
  h[o++] = BACKUP_VERSION;
  h[o++] = KDF_ARGON2ID13;
  dv.setUint32(o, p.opslimit);
  dv.setUint32(o + 4, p.memlimit / 1024);
  h.set(salt, o + 8);
  h.set(nonce, o + 8 + PWHASH_SALT_BYTES);
  return h;
}

export async function sealBackup(crypto: Crypto, payload: unknown, passphrase: string, params: PwhashParams = PWHASH_MODERATE): Promise<Uint8Array> {
  const salt = crypto.randomBytes(PWHASH_SALT_BYTES);
  const nonce = crypto.randomBytes(24);
  const h = header(params, salt, nonce);
  const key = await pwhashArgon2id(utf8.encode(passphrase), salt, params);
  const plain = new Uint8Array(deflateRawSync(utf8.encode(toJson(payload))));
  const sealed = crypto.aeadEncrypt(plain, h, nonce, key);
  key.fill(0);
  const body = concat(h, sealed);
  return concat(body, crypto.hash(body, CHECKSUM_BYTES));
}

/** The payload, or a BackupError saying which of the four things is wrong. `what` names the file in messages. */
export async function openBackup(crypto: Crypto, file: Uint8Array, passphrase: string, what = "the backup"): Promise<unknown> {
  if (file.length < MAGIC.length || !equalBytes(file.subarray(0, MAGIC.length), MAGIC)) throw new BackupError("not-a-backup", `${what} is not a pursuance backup file (it does not start with PURSUANCE-BACKUP)`, what);
  if (file.length < HEADER_BYTES + 16 + CHECKSUM_BYTES) throw new BackupError("damaged", `${what} is damaged: ${file.length} bytes is too short (truncated?)`, file.length);
  const body = file.subarray(0, file.length - CHECKSUM_BYTES);
  if (!equalBytes(crypto.hash(body, CHECKSUM_BYTES), file.subarray(file.length - CHECKSUM_BYTES))) {
    throw new BackupError("damaged", `${what} is damaged: its checksum does not match (a changed or truncated copy); nothing was restored`, what);
  }
  const dv = new DataView(file.buffer, file.byteOffset, HEADER_BYTES);
  let o = MAGIC.length;
  const version = file[o++]!;
  if (version !== BACKUP_VERSION) throw new BackupError("unsupported-version", `${what} is backup format version ${version}; this pursuance reads version ${BACKUP_VERSION}`, version);
  const kdf = file[o++]!;
  const params = { opslimit: dv.getUint32(o), memlimit: dv.getUint32(o + 4) * 1024 };
  if (kdf !== KDF_ARGON2ID13 || params.opslimit < 1 || params.opslimit > PWHASH_MAX.opslimit || params.memlimit < 8192 || params.memlimit > PWHASH_MAX.memlimit) {
    throw new BackupError("damaged", `${what} has an unknown key derivation (kdf ${kdf}, opslimit ${params.opslimit}, memlimit ${params.memlimit})`, { kdf, ...params });
  }
  const salt = file.subarray(o + 8, o + 8 + PWHASH_SALT_BYTES);
  const nonce = file.subarray(o + 8 + PWHASH_SALT_BYTES, HEADER_BYTES);
  const key = await pwhashArgon2id(utf8.encode(passphrase), salt, params);
  const plain = crypto.aeadDecrypt(body.subarray(HEADER_BYTES), body.subarray(0, HEADER_BYTES), nonce, key);
  key.fill(0);
  if (!plain) throw new BackupError("wrong-passphrase", `wrong passphrase for ${what}; nothing was restored`, what);
  try {
    return fromJson(utf8.decode(inflateRawSync(plain)));
  } catch (e) {
    throw new BackupError("damaged", `${what} opened but its content is unreadable: ${(e as Error).message}`, what);
  }
}
