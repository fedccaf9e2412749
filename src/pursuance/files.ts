// Documents attached to a task (task.attach): the file is encrypted under a
// fresh file key, cut into chunks of one frame each (padded to the largest
// frame bucket, so every chunk frame is the size of a large event frame),
// and posted under tags that look unrelated to a relay. The event carries the
// size, the chunk count, the tag key and a hash per sealed chunk in clear (to
// members: the event itself is sealed under the group key), and the name, the
// file key and the plaintext hash encrypted under the task's content key,
// which only the task's readers open (task-crypto.ts). Pure: crypto is given.
import { concat, fromB64, toB64, utf8 } from "../cwtch/bytes.js";
import { AEAD_NONCE_BYTES, type Crypto } from "../cwtch/crypto.js";
import { BUCKETS, pad, unpad } from "../cwtch/envelope.js";
import { BodyError, type Ciphertext, type FileRef } from "./events.js";
import { decryptWith, encryptWith } from "./task-crypto.js";

export type { FileRef } from "./events.js";

/** Plaintext bytes per chunk: one chunk padded fills the largest frame bucket exactly. */
export const CHUNK_BYTES = BUCKETS[BUCKETS.length - 1]! - 4;
/** Bytes of each sealed chunk's hash in the event (BLAKE2b-128: a relay would need a second preimage). */
export const CHUNK_HASH_BYTES = 16;
/** No rules may allow more: the chunk hash list of the largest file must fit in one event frame. */
export const MAX_FILE_BYTES = 128 * 1024 * 1024;
export const MAX_FILE_NAME = 255;

const TAG_INFO = utf8.encode("pursuance/file-tag/v1");
/** The chunk hash's domain, as the key of a keyed BLAKE2b (no copy of the 64 KiB blob to prefix it). */
const HASH_KEY = utf8.encode("pursuance/file-chunk-hash/v1....");
const CHUNK_AD = utf8.encode("pursuance/file-chunk/v1");
const META_AD = utf8.encode("pursuance/file-meta/v1");

/** What only the task's readers learn of a file. */
export interface FileMeta {
  name: string;
  /** The file key, base64url of 32 bytes. */
  key: string;
  /** BLAKE2b-256 of the whole plaintext, base64url. */
  hash: string;
}

/**
 * Why a file name cannot be one (null: it can): it becomes a path on a
 * reader's disk, so no separators, no "." or "..", nothing invisible or that
 * hides or reorders what a reader sees: no character of the Unicode categories
 * Cc (controls), Cf (format: bidi marks, zero-width characters, BOM), Zl, Zp
 * (line and paragraph separators), Co (private use), Cn (unassigned) or Cs
 * (lone surrogates); 1..255 bytes of UTF-8, what a disk takes. Checked when
 * attaching and again when a reader opens the meta: a name the author's client
 * did not check is refused there.
 */
export function fileNameProblem(name: string): string | null {
  if (name.length === 0 || utf8.encode(name).length > MAX_FILE_NAME) return `a file name must be 1 to ${MAX_FILE_NAME} bytes (UTF-8)`;
  if (name === "." || name === "..") return `a file name cannot be ${JSON.stringify(name)}`;
  if (/[/\\]/.test(name)) return "a file name cannot hold a slash";
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}\p{Cs}]/u.test(name)) return "a file name cannot hold control or direction characters, nor other invisible (format), line-separator, private-use, unassigned or lone surrogate ones";
  return null;
}

export function chunkCount(size: number): number {
  return Math.max(1, Math.ceil(size / CHUNK_BYTES));
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

/** The relay tag of chunk `i`: a keyed hash, so chunks of one file share nothing a relay can see. */
export function chunkTag(crypto: Crypto, tagKey: Uint8Array, i: number): string {
  return toB64(crypto.hash(concat(TAG_INFO, u32(i)), 16, tagKey));
}

export function chunkHash(crypto: Crypto, blob: Uint8Array): Uint8Array {
  return crypto.hash(blob, CHUNK_HASH_BYTES, HASH_KEY);
}

/** The expected hash of chunk `i`, from a file's hash list. */
export function expectedHash(ref: FileRef, i: number): Uint8Array {
  return fromB64(ref.hashes).subarray(i * CHUNK_HASH_BYTES, (i + 1) * CHUNK_HASH_BYTES);
}

function chunkAd(i: number, n: number): Uint8Array {
  return concat(CHUNK_AD, u32(i), u32(n));
}

export function sealChunk(crypto: Crypto, fileKey: Uint8Array, i: number, n: number, plain: Uint8Array): Uint8Array {
  const nonce = crypto.randomBytes(AEAD_NONCE_BYTES);
  return concat(nonce, crypto.aeadEncrypt(pad(plain), chunkAd(i, n), nonce, fileKey));
}

export function openChunk(crypto: Crypto, fileKey: Uint8Array, i: number, n: number, blob: Uint8Array): Uint8Array | null {
  if (blob.length < AEAD_NONCE_BYTES + 16) return null;
  const p = crypto.aeadDecrypt(blob.subarray(AEAD_NONCE_BYTES), chunkAd(i, n), blob.subarray(0, AEAD_NONCE_BYTES), fileKey);
  return p ? unpad(p) : null;
}

export interface SealedFile {
  ref: Omit<FileRef, "meta">;
  meta: FileMeta;
  frames: Array<{ tag: string; blob: Uint8Array }>;
}

/** Encrypt and cut a file: its frames, and the clear part of its event (the meta is sealed by `sealMeta`). */
export function sealFile(crypto: Crypto, name: string, bytes: Uint8Array): SealedFile {
  const fileKey = crypto.randomBytes(32);
  const tagKey = crypto.randomBytes(32);
  const n = chunkCount(bytes.length);
  const hashes = new Uint8Array(n * CHUNK_HASH_BYTES);
  const frames: SealedFile["frames"] = [];
  for (let i = 0; i < n; i++) {
    const blob = sealChunk(crypto, fileKey, i, n, bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
    hashes.set(chunkHash(crypto, blob), i * CHUNK_HASH_BYTES);
    frames.push({ tag: chunkTag(crypto, tagKey, i), blob });
  }
  return {
    ref: { size: bytes.length, chunks: n, tagKey: toB64(tagKey), hashes: toB64(hashes) },
    meta: { name, key: toB64(fileKey), hash: toB64(crypto.hash(bytes, 32)) },
    frames,
  };
}

export function sealMeta(crypto: Crypto, contentKey: Uint8Array, meta: FileMeta): Ciphertext {
  return encryptWith(crypto, contentKey, utf8.encode(JSON.stringify(meta)), META_AD);
}

/** The meta of a file, if the content key opens it and it is well formed. */
export function openMeta(crypto: Crypto, contentKey: Uint8Array, c: Ciphertext): FileMeta | null {
  const p = decryptWith(crypto, contentKey, c, META_AD);
  if (!p) return null;
  try {
    const m = JSON.parse(utf8.decode(p)) as Partial<FileMeta>;
    if (typeof m.name !== "string" || typeof m.key !== "string" || typeof m.hash !== "string") return null;
    if (fileNameProblem(m.name) !== null) return null;
    if (fromB64(m.key).length !== 32 || fromB64(m.hash).length !== 32) return null;
    return { name: m.name, key: m.key, hash: m.hash };
  } catch {
    return null;
  }
}

/** The clear fields of a task.attach body, validated (events-parse.ts): the size bound and a hash list that fits the count. */
export function parseFileRef(o: Record<string, unknown>, meta: Ciphertext): FileRef {
  const size = o.size;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0 || size > MAX_FILE_BYTES) throw new BodyError(`size must be a whole number of bytes from 0 to ${MAX_FILE_BYTES}`, size);
  if (o.chunks !== chunkCount(size)) throw new BodyError(`chunks must be ${chunkCount(size)} for ${size} bytes`, o.chunks);
  const b64Len = (v: unknown, bytes: number, what: string): string => {
    let ok = false;
    try {
      ok = typeof v === "string" && fromB64(v).length === bytes && toB64(fromB64(v)) === v;
    } catch {
      ok = false;
    }
    if (!ok) throw new BodyError(`${what} must be base64url of ${bytes} bytes`, typeof v === "string" ? v.slice(0, 80) : v);
    return v as string;
  };
  return {
    size,
    chunks: o.chunks,
    tagKey: b64Len(o.tagKey, 32, "tagKey"),
    hashes: b64Len(o.hashes, o.chunks * CHUNK_HASH_BYTES, "hashes"),
    meta,
  };
}
