// Proof-of-work stamps for relay posts (see relay-protocol.ts). The stamp is
// bound to the frame (tag and blob), so minting one costs ~2^bits hashes per
// post and a stamp cannot be replayed on unrelated frames. Tag and blob are
// length-prefixed, so no two (tag, blob, nonce) triples share one hash input:
// without the prefixes, bytes could move between tag, blob and nonce (e.g. the
// blob's last bytes re-read as the nonce) and one stamp would fit other frames.
// v2 hashes the frame once and each attempt hashes only that 32-byte digest
// and the nonce: a stamp's cost no longer grows with the blob, so a relay can
// raise the difficulty under flood without pricing out a member's 96 KiB post.
import { concat, fromB64, toB64, utf8 } from "./bytes.js";
import type { Crypto } from "./crypto.js";
import { leadingZeroBits } from "./relay-protocol.js";

export const POW_DOMAIN = utf8.encode("pursuance/pow/v2");
const FRAME_DOMAIN = utf8.encode("pursuance/pow/v2/frame");
export const POW_MAX_NONCE_BYTES = 16;
/** Beyond this a single post would take minutes even on fast hardware. */
export const POW_MAX_BITS = 32;

export class PowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PowError";
  }
}

function u32be(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

/**
 * The fixed part of the hashed input: "pursuance/pow/v2" ‖ BLAKE2b-256("pursuance/pow/v2/frame"
 * ‖ u32be(len tag) ‖ utf8(tag) ‖ u32be(len blob) ‖ blob).
 */
function powPrefix(crypto: Crypto, tag: string, blob: Uint8Array): Uint8Array {
  const t = utf8.encode(tag);
  return concat(POW_DOMAIN, crypto.hash(concat(FRAME_DOMAIN, u32be(t.length), t, u32be(blob.length), blob), 32));
}

/**
 * BLAKE2b-256("pursuance/pow/v2" ‖ frameDigest ‖ nonce), where frameDigest =
 * BLAKE2b-256("pursuance/pow/v2/frame" ‖ u32be(len tag) ‖ utf8(tag) ‖ u32be(len blob) ‖ blob);
 * lengths in bytes, the nonce last (its length is implied).
 */
export function powDigest(crypto: Crypto, tag: string, blob: Uint8Array, nonce: Uint8Array): Uint8Array {
  return crypto.hash(concat(powPrefix(crypto, tag, blob), nonce), 32);
}

/** True when the base64url nonce `pow` stamps (tag, blob) with at least `bits` zero bits. */
export function checkPow(crypto: Crypto, tag: string, blob: Uint8Array, pow: string, bits: number): boolean {
  let nonce: Uint8Array;
  try {
    nonce = fromB64(pow);
  } catch {
    return false;
  }
  if (nonce.length === 0 || nonce.length > POW_MAX_NONCE_BYTES) return false;
  return leadingZeroBits(powDigest(crypto, tag, blob, nonce)) >= bits;
}

/** Find a stamp for (tag, blob); returns the base64url nonce to put in `post.pow`. */
export function mintPow(crypto: Crypto, tag: string, blob: Uint8Array, bits: number): string {
  if (!Number.isInteger(bits) || bits < 0 || bits > POW_MAX_BITS) throw new PowError(`pow bits must be 0..${POW_MAX_BITS}, got ${bits}`);
  return mintStamp(crypto, powPrefix(crypto, tag, blob), bits, "stamp");
}

/**
 * A nonce such that BLAKE2b-256(prefix ‖ nonce) starts with `bits` zero bits: ~2^bits hashes. The
 * nonce is 12 bytes, 8 random (so two minters never collide) and a counter; one buffer is reused.
 * `what` names the stamp in the error when none is found.
 */
export function mintStamp(crypto: Crypto, prefix: Uint8Array, bits: number, what: string): string {
  const s = new StampSearch(crypto, prefix, bits);
  const found = s.step(0x100000000);
  if (found !== null) return found;
  throw new PowError(`no ${what} of ${bits} bits found in 2^32 attempts`);
}

/** Attempts between looks at the clock and turns to the event loop (~5 ms of hashing). */
const SLICE = 4096;

/**
 * mintPow that gives the event loop a turn every few milliseconds and gives up
 * when `deadline` (ms, `now()`'s clock) passes, returning null: a difficulty the
 * machine cannot meet in time fails the post at its deadline instead of freezing
 * the process past it.
 */
export async function mintPowBefore(crypto: Crypto, tag: string, blob: Uint8Array, bits: number, deadline: number, now: () => number = Date.now): Promise<string | null> {
  if (!Number.isInteger(bits) || bits < 0 || bits > POW_MAX_BITS) throw new PowError(`pow bits must be 0..${POW_MAX_BITS}, got ${bits}`);
  const s = new StampSearch(crypto, powPrefix(crypto, tag, blob), bits);
  while (!s.exhausted) {
    if (now() >= deadline) return null;
    const found = s.step(SLICE);
    if (found !== null) return found;
    await new Promise<void>((r) => setImmediate(r));
  }
  throw new PowError(`no stamp of ${bits} bits found in 2^32 attempts`);
}

/** The counter search behind both minters, resumable in slices. */
class StampSearch {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private next = 0;
  constructor(
    private readonly crypto: Crypto,
    private readonly prefix: Uint8Array,
    private readonly bits: number,
  ) {
    this.buf = new Uint8Array(prefix.length + 12);
    this.buf.set(prefix);
    this.buf.set(crypto.randomBytes(8), prefix.length);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset + prefix.length + 8, 4);
  }
  get exhausted(): boolean {
    return this.next > 0xffffffff;
  }
  /** Up to `count` more attempts; the base64url nonce when one reaches the bits. */
  step(count: number): string | null {
    const end = Math.min(this.next + count, 0x100000000);
    for (let i = this.next; i < end; i++) {
      this.view.setUint32(0, i);
      if (leadingZeroBits(this.crypto.hash(this.buf, 32)) >= this.bits) return toB64(this.buf.subarray(this.prefix.length));
    }
    this.next = end;
    return null;
  }
}
