// Small byte helpers shared by the protocol layer. Hex for ids people read and
// compare; base64url for bytes that travel inside JSON frames.

// Buffer's own hex encoder, called on the Uint8Array itself: no Buffer view is made per call
// (ids are spelt in hex several times per received event). Node's Buffer.prototype has had
// hexSlice for as long as it has had Buffer; the fallback is for a runtime without it.
const hexSlice = (Buffer.prototype as unknown as { hexSlice?: (this: Uint8Array, start: number, end: number) => string }).hexSlice;
export const toHex: (b: Uint8Array) => string =
  typeof hexSlice === "function"
    ? (b) => hexSlice.call(b, 0, b.length)
    : (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

const HEX = /^(?:[0-9a-f]{2})*$/;
export function fromHex(s: string): Uint8Array {
  if (!HEX.test(s)) throw new TypeError(`not lower-case hex: ${JSON.stringify(s.slice(0, 80))}`);
  return new Uint8Array(Buffer.from(s, "hex"));
}

export function toB64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64url");
}

const B64URL = /^[A-Za-z0-9_-]*$/;
export function fromB64(s: string): Uint8Array {
  if (!B64URL.test(s)) throw new TypeError(`not base64url: ${JSON.stringify(s.slice(0, 80))}`);
  return new Uint8Array(Buffer.from(s, "base64url"));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export const utf8 = {
  encode: (s: string): Uint8Array => new TextEncoder().encode(s),
  decode: (b: Uint8Array): string => new TextDecoder("utf-8", { fatal: true }).decode(b),
};

const B64URL_VALUE = new Int8Array(128).fill(-1);
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".split("").forEach((c, i) => (B64URL_VALUE[c.charCodeAt(0)] = i));

/**
 * Decode base64url only if it is the one canonical spelling of its bytes (no
 * padding, nothing outside the alphabet, zero trailing bits); else null.
 * Cheaper than a regex: Buffer's decoder skips characters it does not know,
 * so a decoded length short of what the string's length implies means there
 * were some (it does know + and /, so those are looked for).
 */
export function fromB64Canonical(s: string): Buffer | null;
/**
 * With `into` (a buffer the caller reuses): decoded there when it is large enough,
 * the result a view of it, valid until the caller's next use of `into`.
 */
export function fromB64Canonical(s: string, into: Buffer): Uint8Array | null;
export function fromB64Canonical(s: string, into?: Buffer): Uint8Array | null {
  const rem = s.length % 4;
  // The decoder also takes the standard alphabet's + and /: refuse them (two fast native scans).
  if (rem === 1 || s.includes("+") || s.includes("/")) return null;
  // Node's decoder reads a character beyond ASCII by its low byte ("Ł" as "A"): two spellings of one blob.
  if (Buffer.byteLength(s, "utf8") !== s.length) return null;
  const want = Math.floor((s.length * 3) / 4);
  let b: Uint8Array;
  if (into !== undefined && into.length >= want) {
    const n = into.write(s, 0, "base64url");
    if (n !== want) return null;
    b = into.subarray(0, n);
  } else {
    b = Buffer.from(s, "base64url");
    if (b.length !== want) return null;
  }
  if (rem !== 0) {
    const v = B64URL_VALUE[s.charCodeAt(s.length - 1)] ?? -1;
    if (v < 0 || (v & (rem === 2 ? 0x0f : 0x03)) !== 0) return null;
  }
  return b;
}
