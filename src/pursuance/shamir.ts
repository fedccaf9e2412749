// Shamir secret sharing over GF(2^8) (the AES field), byte by byte: any
// `threshold` shares give the secret back, fewer give nothing about it.
// Pure: the caller supplies the random coefficients' bytes.

const EXP = new Uint8Array(510);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    // Multiply by the generator 3: x ^ xtime(x).
    x ^= ((x << 1) ^ (x & 0x80 ? 0x1b : 0)) & 0xff;
  }
  for (let i = 255; i < 510; i++) EXP[i] = EXP[i - 255]!;
}

const mul = (a: number, b: number) => (a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!);
const div = (a: number, b: number) => (a === 0 ? 0 : EXP[(LOG[a]! + 255 - LOG[b]!) % 255]!);

export interface Share {
  /** The evaluation point, 1..255. */
  x: number;
  y: Uint8Array;
}

export class ShamirError extends Error {
  constructor(message: string, readonly value: unknown) {
    super(message);
    this.name = "ShamirError";
  }
}

/** Split `secret` into one share per x in `xs` (distinct, 1..255); `random` gives (threshold-1)·|secret| bytes. */
export function split(secret: Uint8Array, threshold: number, xs: number[], random: (n: number) => Uint8Array): Share[] {
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > xs.length) throw new ShamirError(`threshold must be 1..${xs.length}`, threshold);
  if (new Set(xs).size !== xs.length || xs.some((x) => !Number.isInteger(x) || x < 1 || x > 255)) throw new ShamirError("share points must be distinct integers 1..255", xs);
  const coeffs = random((threshold - 1) * secret.length);
  return xs.map((x) => {
    const y = new Uint8Array(secret.length);
    for (let j = 0; j < secret.length; j++) {
      // Horner, highest coefficient first; the constant term is the secret byte.
      let acc = 0;
      for (let c = threshold - 2; c >= 0; c--) acc = mul(acc, x) ^ coeffs[c * secret.length + j]!;
      y[j] = mul(acc, x) ^ secret[j]!;
    }
    return { x, y };
  });
}

/** Interpolate at 0. With fewer than the threshold (or a forged share) the result is garbage: check it. */
export function combine(shares: Share[]): Uint8Array {
  if (shares.length === 0) throw new ShamirError("no shares", shares);
  const len = shares[0]!.y.length;
  if (shares.some((s) => s.y.length !== len)) throw new ShamirError("shares differ in length", shares.map((s) => s.y.length));
  if (new Set(shares.map((s) => s.x)).size !== shares.length) throw new ShamirError("two shares have the same point", shares.map((s) => s.x));
  const out = new Uint8Array(len);
  for (const [i, si] of shares.entries()) {
    let l = 1;
    for (const [m, sm] of shares.entries()) if (m !== i) l = mul(l, div(sm.x, sm.x ^ si.x));
    for (let j = 0; j < len; j++) out[j] = out[j]! ^ mul(si.y[j]!, l);
  }
  return out;
}
