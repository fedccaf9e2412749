// A post's bytes as the relay holds them: the blob decoded once, straight into
// one buffer laid out as ACK_DOMAIN ‖ u64be(seq) ‖ tag ‖ NUL ‖ blob, so the two
// hashes every post needs are each one native call over a slice of it, with
// no copy of the blob: the duplicate digest (tag ‖ NUL ‖ blob, frameDigest in
// relay-store.ts) and the `posted` ack (the whole buffer once the seq is
// written in, postAck in relay-protocol.ts). The buffer is the post's own
// (unpooled, never reused), so a store may keep the blob view without copying.
import * as nodeCrypto from "node:crypto";
import { ACK_DOMAIN } from "./relay-protocol.js";

const DOMAIN = Buffer.from(ACK_DOMAIN, "utf8");
/** Where the tag starts: after the ack's domain and seq. */
const HEAD = DOMAIN.length + 8;

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64URL_VALUE = new Int8Array(128).fill(-1);
B64URL.split("").forEach((c, i) => (B64URL_VALUE[c.charCodeAt(0)] = i));

// One-shot crypto.hash (Node >= 20.12) is ~3x cheaper than a Hash object for a 1 KiB frame,
// and asked for text it makes no Buffer: a digest Buffer is a backing store of its own,
// ~0.5 µs a hash more than the text (two per post).
const oneShot = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, out: "base64" | "base64url") => string }).hash;
const sha256 = (b: Uint8Array, out: "base64" | "base64url"): string => (oneShot ? oneShot("sha256", b, out) : nodeCrypto.createHash("sha256").update(b).digest(out));

export class PostBytes {
  /** The decoded blob: a view into this post's own buffer. */
  readonly blob: Buffer;

  private constructor(
    private readonly buf: Buffer,
    tagBytes: number,
  ) {
    this.blob = buf.subarray(HEAD + tagBytes + 1);
  }

  /**
   * Decode `b64` as fromB64Canonical (bytes.ts) does, accepting and refusing
   * exactly the same strings (test/relay-protocol-fast.test.ts holds them to
   * it), but into the post's buffer beside its tag. Null: not the canonical
   * base64url of any bytes.
   */
  static decode(tag: string, b64: string): PostBytes | null {
    const rem = b64.length % 4;
    // The decoder also takes the standard alphabet's + and /: refuse them (two fast native scans).
    if (rem === 1 || b64.includes("+") || b64.includes("/")) return null;
    // As fromB64Canonical: a character beyond ASCII would be read by its low byte.
    if (Buffer.byteLength(b64, "utf8") !== b64.length) return null;
    const want = Math.floor((b64.length * 3) / 4);
    const n = Buffer.byteLength(tag, "utf8");
    const buf = Buffer.allocUnsafeSlow(HEAD + n + 1 + want);
    // The decoder skips characters it does not know: fewer bytes than the length implies means there were some.
    if (buf.write(b64, HEAD + n + 1, want, "base64url") !== want) return null;
    if (rem !== 0) {
      const v = B64URL_VALUE[b64.charCodeAt(b64.length - 1)] ?? -1;
      if (v < 0 || (v & (rem === 2 ? 0x0f : 0x03)) !== 0) return null;
    }
    DOMAIN.copy(buf, 0);
    buf.write(tag, HEAD, "utf8");
    buf[HEAD + n] = 0;
    return new PostBytes(buf, n);
  }

  /** frameDigest(tag, blob) in base64 (SHA-256 of tag ‖ NUL ‖ blob): the frame's identity for duplicates. */
  digest(): string {
    return sha256(this.buf.subarray(HEAD), "base64");
  }

  /** postAck(seq, tag, blob), without another pass over a copy of the blob. */
  ack(seq: number): string {
    // Two 32-bit halves: seqs are safe integers, and this spares a BigInt per post.
    this.buf.writeUInt32BE(Math.floor(seq / 2 ** 32), DOMAIN.length);
    this.buf.writeUInt32BE(seq >>> 0, DOMAIN.length + 4);
    // The first 16 bytes of the digest in base64url: its first 21 characters, then the 22nd with
    // the bits of the 17th byte masked off (it holds byte 15's last 2 bits and byte 16's first 4).
    const h = sha256(this.buf, "base64url");
    return h.slice(0, 21) + B64URL[B64URL_VALUE[h.charCodeAt(21)]! & 0x30];
  }
}
