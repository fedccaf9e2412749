// Frames as the relay sees them: a tag that links frames of one epoch without
// naming the group, and a blob that is nonce ‖ XChaCha20-Poly1305 of the padded
// message. Padding to fixed buckets keeps sizes from revealing event types.
import { concat, toB64, utf8 } from "./bytes.js";
import { AEAD_NONCE_BYTES, type Crypto } from "./crypto.js";

export const BUCKETS = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536] as const;
const TAG_INFO = utf8.encode("pursuance/tag/v1");
const ENC_INFO = utf8.encode("pursuance/enc/v1");
const AD_DOMAIN = utf8.encode("pursuance/frame/v1");

export interface EpochKeys {
  epoch: number;
  /** Relay tag: base64url of a 16-byte keyed BLAKE2b of the epoch key. */
  tag: string;
  encKey: Uint8Array;
  ad: Uint8Array;
}

export function deriveEpochKeys(crypto: Crypto, epoch: number, epochKey: Uint8Array): EpochKeys {
  if (epochKey.length !== 32) throw new RangeError(`epoch key must be 32 bytes, got ${epochKey.length}`);
  const tagBytes = crypto.hash(TAG_INFO, 16, epochKey);
  return {
    epoch,
    tag: toB64(tagBytes),
    encKey: crypto.hash(ENC_INFO, 32, epochKey),
    ad: concat(AD_DOMAIN, tagBytes),
  };
}

export class PaddingError extends Error {
  constructor(readonly size: number) {
    super(`message of ${size} bytes exceeds the largest bucket (${BUCKETS[BUCKETS.length - 1]} bytes less 4)`);
    this.name = "PaddingError";
  }
}

export function pad(message: Uint8Array): Uint8Array {
  const need = message.length + 4;
  const bucket = BUCKETS.find((b) => b >= need);
  if (bucket === undefined) throw new PaddingError(message.length);
  const out = new Uint8Array(bucket);
  new DataView(out.buffer).setUint32(0, message.length);
  out.set(message, 4);
  return out;
}

/** Returns null for anything that is not a well-formed padded plaintext. */
export function unpad(padded: Uint8Array): Uint8Array | null {
  const n = padded.length;
  // Every bucket is a power of two from 512 to 65536.
  if (n < BUCKETS[0] || n > BUCKETS[7] || (n & (n - 1)) !== 0) return null;
  const len = ((padded[0]! << 24) | (padded[1]! << 16) | (padded[2]! << 8) | padded[3]!) >>> 0;
  if (len + 4 > n) return null;
  // The padding must be zeros: compared natively against a zero buffer (a byte loop here cost as much as decrypting).
  if (Buffer.compare(padded.subarray(4 + len), ZEROS.subarray(0, n - 4 - len)) !== 0) return null;
  return padded.subarray(4, 4 + len);
}
const ZEROS = new Uint8Array(BUCKETS[7]);

export function sealFrame(crypto: Crypto, keys: EpochKeys, message: Uint8Array, nonce?: Uint8Array): Uint8Array {
  const n = nonce ?? crypto.randomBytes(AEAD_NONCE_BYTES);
  return concat(n, crypto.aeadEncrypt(pad(message), keys.ad, n, keys.encKey));
}

/**
 * The message inside a frame, or null. With `scratch` (BUCKETS[7] bytes, reused by the caller)
 * the backend may decrypt into it: the result is then a view of it, to be copied before the next call.
 */
export function openFrame(crypto: Crypto, keys: EpochKeys, blob: Uint8Array, scratch?: Uint8Array): Uint8Array | null {
  if (blob.length < AEAD_NONCE_BYTES + 16 + BUCKETS[0]) return null;
  const plain = crypto.aeadDecrypt(blob.subarray(AEAD_NONCE_BYTES), keys.ad, blob.subarray(0, AEAD_NONCE_BYTES), keys.encKey, scratch);
  return plain ? unpad(plain) : null;
}
