// Matrix encrypted attachments (client-server spec, "Sending encrypted
// attachments", v2): AES-256-CTR under a fresh key, the IV's counter half
// zero, and the ciphertext's SHA-256 in the event, so a media server that
// alters the bytes is caught. The key travels only inside the (Megolm-
// encrypted) event.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

export interface EncryptedFile {
  url: string;
  key: { kty: "oct"; key_ops: string[]; alg: "A256CTR"; k: string; ext: true };
  iv: string;
  hashes: { sha256: string };
  v: "v2";
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64").replace(/=+$/, "");
const b64url = (b: Uint8Array) => Buffer.from(b).toString("base64url");

export class AttachmentError extends Error {
  constructor(message: string, readonly url: string) {
    super(message);
    this.name = "AttachmentError";
  }
}

/** The bytes to upload, and the `file` object (url filled in after the upload). */
export function encryptAttachment(plain: Uint8Array): { data: Uint8Array; info: Omit<EncryptedFile, "url"> } {
  const key = randomBytes(32);
  // The low 8 bytes are the block counter: zero, so a file never wraps it.
  const iv = Buffer.concat([randomBytes(8), Buffer.alloc(8)]);
  const c = createCipheriv("aes-256-ctr", key, iv);
  const data = Buffer.concat([c.update(plain), c.final()]);
  return {
    data,
    info: {
      key: { kty: "oct", key_ops: ["encrypt", "decrypt"], alg: "A256CTR", k: b64url(key), ext: true },
      iv: b64(iv),
      hashes: { sha256: b64(createHash("sha256").update(data).digest()) },
      v: "v2",
    },
  };
}

/** Checked before it is opened: a hash that does not match, a key of the wrong kind, is refused naming the url. */
export function decryptAttachment(data: Uint8Array, f: EncryptedFile): Uint8Array {
  const want = f.hashes?.sha256;
  if (typeof want !== "string" || b64(createHash("sha256").update(data).digest()) !== want.replace(/=+$/, "")) {
    throw new AttachmentError("the file's bytes do not match its hash (altered on the media server?)", f.url);
  }
  if (f.key?.alg !== "A256CTR" || typeof f.key.k !== "string" || typeof f.iv !== "string") throw new AttachmentError("the file's key is not an A256CTR key", f.url);
  const key = Buffer.from(f.key.k, "base64url");
  const iv = Buffer.from(f.iv, "base64");
  if (key.length !== 32 || iv.length !== 16) throw new AttachmentError("the file's key or IV has the wrong length", f.url);
  // The spec's counter is the IV's low 64 bits, which clients wrap at 2^64 while Node carries into
  // all 128: a counter half that is not zero could open to other bytes here than in the room.
  if (iv.subarray(8).some((x) => x !== 0)) throw new AttachmentError("the file's IV does not start its counter at zero", f.url);
  const d = createDecipheriv("aes-256-ctr", key, iv);
  return Buffer.concat([d.update(data), d.final()]);
}
