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
  if (!(BUCKETS as readonly number[]).includes(padded.length)) return null;
  const len = new DataView(padded.buffer, padded.byteOffset, padded.byteLength).getUint32(0);
  if (len + 4 > padded.length) return null;
  for (let i = 4 + len; i < padded.length; i++) if (padded[i] !== 0) return null;
  return padded.subarray(4, 4 + len);
}

export function sealFrame(crypto: Crypto, keys: EpochKeys, message: Uint8Array, nonce?: Uint8Array): Uint8Array {
  const n = nonce ?? crypto.randomBytes(AEAD_NONCE_BYTES);
  return concat(n, crypto.aeadEncrypt(pad(message), keys.ad, n, keys.encKey));
}

export function openFrame(crypto: Crypto, keys: EpochKeys, blob: Uint8Array): Uint8Array | null {
  if (blob.length < AEAD_NONCE_BYTES + 16 + BUCKETS[0]) return null;
  const plain = crypto.aeadDecrypt(blob.subarray(AEAD_NONCE_BYTES), keys.ad, blob.subarray(0, AEAD_NONCE_BYTES), keys.encKey);
  return plain ? unpad(plain) : null;
}
