// The relay's onion service key, made by `pursuance init-deploy` instead of by
// Tor at its first start, so the deployment knows its published address
// (ws://<address>.onion/) before anything runs: it goes into the bridge's
// config (invites carry it) and into the setup's output. Tor reads the key
// from the deploy directory (docker/tor-start.sh copies it into place).
//
// Formats (Tor's rend-spec-v3 and its key files): the address is
// base32(pubkey || checksum[0..2] || 0x03) with checksum = SHA3-256(".onion
// checksum" || pubkey || 0x03); hs_ed25519_secret_key is a 32-byte header
// followed by the 64-byte expanded ed25519 secret (SHA-512 of the seed, the
// scalar half clamped), which is what Tor keeps instead of the seed.
import { createHash, createPrivateKey, createPublicKey, randomBytes } from "node:crypto";

const SECRET_HEADER = "== ed25519v1-secret: type0 ==";
/** PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows. */
const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");

export class OnionKeyError extends Error {
  constructor(
    message: string,
    readonly input: string,
  ) {
    super(message);
    this.name = "OnionKeyError";
  }
}

export interface OnionKey {
  /** `<56 base32 characters>.onion` */
  hostname: string;
  /** The file Tor reads as HiddenServiceDir/hs_ed25519_secret_key. */
  secretKeyFile: Buffer;
}

function publicKeyOf(seed: Buffer): Buffer {
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: "der", type: "pkcs8" });
  const jwk = createPublicKey(priv).export({ format: "jwk" }) as { x: string };
  return Buffer.from(jwk.x, "base64url");
}

function base32(b: Buffer): string {
  const abc = "abcdefghijklmnopqrstuvwxyz234567";
  let bits = 0;
  let acc = 0;
  let out = "";
  for (const byte of b) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += abc[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += abc[(acc << (5 - bits)) & 31];
  return out;
}

/** The v3 onion address of an ed25519 public key. */
export function onionAddress(pubkey: Buffer): string {
  if (pubkey.length !== 32) throw new OnionKeyError(`an ed25519 public key is 32 bytes, not ${pubkey.length}`, pubkey.toString("hex"));
  const version = Buffer.from([3]);
  const checksum = createHash("sha3-256").update(".onion checksum").update(pubkey).update(version).digest().subarray(0, 2);
  return `${base32(Buffer.concat([pubkey, checksum, version]))}.onion`;
}

/** A fresh onion service key (or the one from `seed`, for tests). */
export function newOnionKey(seed: Buffer = randomBytes(32)): OnionKey {
  if (seed.length !== 32) throw new OnionKeyError(`an ed25519 seed is 32 bytes, not ${seed.length}`, seed.toString("hex"));
  const h = createHash("sha512").update(seed).digest();
  h[0]! &= 248;
  h[31]! &= 127;
  h[31]! |= 64;
  const header = Buffer.alloc(32);
  header.write(SECRET_HEADER, "latin1");
  return { hostname: onionAddress(publicKeyOf(seed)), secretKeyFile: Buffer.concat([header, h]) };
}

/** The hostname for a key file Tor reads (hs_ed25519_secret_key), from its scalar: for checking a deploy directory. */
export function hostnameOfSecretKeyFile(file: Buffer): string {
  if (file.length !== 96 || !file.subarray(0, SECRET_HEADER.length).equals(Buffer.from(SECRET_HEADER, "latin1")))
    throw new OnionKeyError("not a Tor hs_ed25519_secret_key file (96 bytes starting with the ed25519v1-secret header)", file.subarray(0, 32).toString("latin1"));
  return onionAddress(scalarBaseMult(file.subarray(32, 64)));
}

// The public key from the clamped scalar alone (the seed is not in Tor's file):
// a*B on edwards25519. Small and slow (BigInt), run once per init-deploy.
const P = 2n ** 255n - 19n;
const D = (-121665n * inv(121666n)) % P;
function mod(a: bigint): bigint {
  const r = a % P;
  return r >= 0n ? r : r + P;
}
function pow(b: bigint, e: bigint): bigint {
  let r = 1n;
  b = mod(b);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return r;
}
function inv(a: bigint): bigint {
  return pow(a, P - 2n);
}
type Pt = [bigint, bigint, bigint, bigint];
function add(p: Pt, q: Pt): Pt {
  const [x1, y1, z1, t1] = p;
  const [x2, y2, z2, t2] = q;
  const a = mod((y1 - x1) * (y2 - x2));
  const b = mod((y1 + x1) * (y2 + x2));
  const c = mod(2n * D * t1 * t2);
  const d = mod(2n * z1 * z2);
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}
function scalarBaseMult(scalarLE: Buffer): Buffer {
  const by = (4n * inv(5n)) % P;
  const u = mod(by * by - 1n);
  const v = mod(D * by * by + 1n);
  let bx = pow(u * inv(v), (P + 3n) / 8n);
  if (mod(bx * bx * v - u) !== 0n) bx = mod(bx * pow(2n, (P - 1n) / 4n));
  if (bx & 1n) bx = P - bx;
  let q: Pt = [0n, 1n, 1n, 0n];
  let base: Pt = [bx, by, 1n, mod(bx * by)];
  let k = 0n;
  for (let i = 31; i >= 0; i--) k = (k << 8n) | BigInt(scalarLE[i]!);
  while (k > 0n) {
    if (k & 1n) q = add(q, base);
    base = add(base, base);
    k >>= 1n;
  }
  const zi = inv(q[2]);
  const x = mod(q[0] * zi);
  const y = mod(q[1] * zi);
  const out = Buffer.alloc(32);
  let yy = y;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(yy & 255n);
    yy >>= 8n;
  }
  if (x & 1n) out[31]! |= 0x80;
  return out;
}
