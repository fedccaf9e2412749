// The one door to cryptography. Everything above uses this small interface, so
// the backend (libsodium-wrappers, or the faster native sodium-native when it
// loads) is a choice made once at start-up and measured in `npm run bench`.
import { createRequire } from "node:module";

export interface SignKeyPair {
  /** Ed25519 public key, 32 bytes. */
  publicKey: Uint8Array;
  /** Ed25519 secret key, 64 bytes (seed ‖ public key). */
  secretKey: Uint8Array;
}

export type CryptoBackendName = "libsodium-wrappers" | "sodium-native";

/** One detached Ed25519 signature to check: what `verify` takes, as one item of a batch. */
export interface VerifyItem {
  sig: Uint8Array;
  message: Uint8Array;
  publicKey: Uint8Array;
}

export interface Crypto {
  readonly backend: CryptoBackendName;
  randomBytes(n: number): Uint8Array;
  signKeyPair(seed?: Uint8Array): SignKeyPair;
  /** Detached Ed25519 signature, 64 bytes. */
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  /**
   * Optional: many signatures at once, off this thread (verify-pool.ts's worker
   * pool). Answers `verify` would give, one per item, in order; a backend
   * without it is used one `verify` at a time.
   */
  verifyMany?(items: readonly VerifyItem[]): Promise<boolean[]>;
  /** BLAKE2b; `outLen` 16..64, optional key 16..64 bytes. */
  hash(message: Uint8Array, outLen?: number, key?: Uint8Array): Uint8Array;
  /** XChaCha20-Poly1305 (IETF); nonce 24 bytes, key 32 bytes; output = ciphertext ‖ 16-byte tag. */
  aeadEncrypt(plain: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array;
  /**
   * Returns null when authentication fails: callers drop, never throw on hostile input.
   * With `into` (at least cipher.length − 16 bytes, which the caller reuses), a backend may
   * write the plaintext there and return a view of it instead of allocating one.
   */
  aeadDecrypt(cipher: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array, into?: Uint8Array): Uint8Array | null;
  /** Anonymous sealed box to an Ed25519 identity (converted to X25519). */
  sealTo(message: Uint8Array, edPublicKey: Uint8Array): Uint8Array;
  openSealed(cipher: Uint8Array, edPublicKey: Uint8Array, edSecretKey: Uint8Array): Uint8Array | null;
}

export const SIGN_PUBLIC_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const AEAD_NONCE_BYTES = 24;
export const AEAD_TAG_BYTES = 16;
export const SEAL_OVERHEAD = 48;

export class CryptoInputError extends Error {
  constructor(message: string, readonly value: unknown) {
    super(message);
    this.name = "CryptoInputError";
  }
}

function checkLen(what: string, b: Uint8Array, n: number): void {
  if (!(b instanceof Uint8Array) || b.length !== n) {
    throw new CryptoInputError(`${what} must be ${n} bytes, got ${b instanceof Uint8Array ? b.length : typeof b}`, b);
  }
}

// Both backends enforce the documented ranges the same way (libsodium-wrappers
// alone would accept 1..15-byte outputs and short keys that sodium-native rejects).
function checkHash(outLen: number, key: Uint8Array | undefined): void {
  if (!Number.isInteger(outLen) || outLen < 16 || outLen > 64) throw new CryptoInputError(`hash length must be 16..64, got ${outLen}`, outLen);
  if (key !== undefined && (!(key instanceof Uint8Array) || key.length < 16 || key.length > 64)) {
    throw new CryptoInputError(`hash key must be 16..64 bytes, got ${key instanceof Uint8Array ? key.length : typeof key}`, key);
  }
}

async function loadLibsodium(): Promise<Crypto> {
  const mod = await import("libsodium-wrappers");
  const s = (mod as unknown as { default: typeof import("libsodium-wrappers") }).default ?? mod;
  await s.ready;
  return {
    backend: "libsodium-wrappers",
    randomBytes: (n) => s.randombytes_buf(n),
    signKeyPair(seed) {
      const kp = seed ? (checkLen("seed", seed, 32), s.crypto_sign_seed_keypair(seed)) : s.crypto_sign_keypair();
      return { publicKey: kp.publicKey, secretKey: kp.privateKey };
    },
    sign: (m, sk) => (checkLen("secret key", sk, 64), s.crypto_sign_detached(m, sk)),
    verify(sig, m, pk) {
      if (sig.length !== SIGNATURE_BYTES || pk.length !== SIGN_PUBLIC_BYTES) return false;
      try {
        return s.crypto_sign_verify_detached(sig, m, pk);
      } catch {
        return false;
      }
    },
    hash: (m, outLen = 32, key) => (checkHash(outLen, key), s.crypto_generichash(outLen, m, key ?? null)),
    aeadEncrypt(p, ad, nonce, key) {
      checkLen("nonce", nonce, AEAD_NONCE_BYTES);
      checkLen("key", key, 32);
      return s.crypto_aead_xchacha20poly1305_ietf_encrypt(p, ad, null, nonce, key);
    },
    aeadDecrypt(c, ad, nonce, key) {
      if (nonce.length !== AEAD_NONCE_BYTES || key.length !== 32 || c.length < AEAD_TAG_BYTES) return null;
      try {
        return s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, c, ad, nonce, key);
      } catch {
        return null;
      }
    },
    sealTo(m, edPk) {
      checkLen("public key", edPk, 32);
      return s.crypto_box_seal(m, s.crypto_sign_ed25519_pk_to_curve25519(edPk));
    },
    openSealed(c, edPk, edSk) {
      if (c.length < SEAL_OVERHEAD) return null;
      try {
        return s.crypto_box_seal_open(
          c,
          s.crypto_sign_ed25519_pk_to_curve25519(edPk),
          s.crypto_sign_ed25519_sk_to_curve25519(edSk),
        );
      } catch {
        return null;
      }
    },
  };
}

type SodiumNative = Record<string, (...args: unknown[]) => unknown>;

function loadSodiumNative(): Crypto | null {
  let s: SodiumNative;
  try {
    s = createRequire(import.meta.url)("sodium-native") as SodiumNative;
  } catch {
    return null;
  }
  const buf = (n: number) => Buffer.alloc(n);
  const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  const B = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  const x25519Pk = (edPk: Uint8Array) => {
    const out = buf(32);
    s.crypto_sign_ed25519_pk_to_curve25519!(out, B(edPk));
    return out;
  };
  return {
    backend: "sodium-native",
    randomBytes(n) {
      const b = buf(n);
      s.randombytes_buf!(b);
      return u8(b);
    },
    signKeyPair(seed) {
      const pk = buf(32);
      const sk = buf(64);
      if (seed) {
        checkLen("seed", seed, 32);
        s.crypto_sign_seed_keypair!(pk, sk, B(seed));
      } else s.crypto_sign_keypair!(pk, sk);
      return { publicKey: u8(pk), secretKey: u8(sk) };
    },
    sign(m, sk) {
      checkLen("secret key", sk, 64);
      const sig = buf(64);
      s.crypto_sign_detached!(sig, B(m), B(sk));
      return u8(sig);
    },
    verify(sig, m, pk) {
      if (sig.length !== SIGNATURE_BYTES || pk.length !== SIGN_PUBLIC_BYTES) return false;
      try {
        // sodium-native takes any typed array (no Buffer view made per argument on this hot path).
        return s.crypto_sign_verify_detached!(sig, m, pk) as boolean;
      } catch {
        return false;
      }
    },
    hash(m, outLen = 32, key) {
      checkHash(outLen, key);
      const out = new Uint8Array(outLen);
      if (key) s.crypto_generichash!(out, m, key);
      else s.crypto_generichash!(out, m);
      return out;
    },
    aeadEncrypt(p, ad, nonce, key) {
      checkLen("nonce", nonce, AEAD_NONCE_BYTES);
      checkLen("key", key, 32);
      const c = buf(p.length + AEAD_TAG_BYTES);
      s.crypto_aead_xchacha20poly1305_ietf_encrypt!(c, B(p), B(ad), null, B(nonce), B(key));
      return u8(c);
    },
    aeadDecrypt(c, ad, nonce, key, into) {
      if (nonce.length !== AEAD_NONCE_BYTES || key.length !== 32 || c.length < AEAD_TAG_BYTES) return null;
      const n = c.length - AEAD_TAG_BYTES;
      const m = into && into.length >= n ? into.subarray(0, n) : new Uint8Array(n);
      try {
        s.crypto_aead_xchacha20poly1305_ietf_decrypt!(m, null, c, ad, nonce, key);
        return m;
      } catch {
        return null;
      }
    },
    sealTo(m, edPk) {
      checkLen("public key", edPk, 32);
      const c = buf(m.length + SEAL_OVERHEAD);
      s.crypto_box_seal!(c, B(m), x25519Pk(edPk));
      return u8(c);
    },
    openSealed(c, edPk, edSk) {
      if (c.length < SEAL_OVERHEAD || edSk.length !== 64 || edPk.length !== 32) return null;
      try {
        const xsk = buf(32);
        s.crypto_sign_ed25519_sk_to_curve25519!(xsk, B(edSk));
        const m = buf(c.length - SEAL_OVERHEAD);
        const ok = s.crypto_box_seal_open!(m, B(c), x25519Pk(edPk), xsk) as boolean;
        return ok ? u8(m) : null;
      } catch {
        // Like the libsodium-wrappers backend: a key that is not a valid point opens nothing.
        return null;
      }
    },
  };
}

const cache = new Map<string, Promise<Crypto>>();

/**
 * Load a backend. Default: the environment's PURSUANCE_CRYPTO, else
 * sodium-native when it loads (measured ~2x faster verify), else libsodium-wrappers.
 */
export function loadCrypto(prefer?: CryptoBackendName): Promise<Crypto> {
  const want = prefer ?? (process.env.PURSUANCE_CRYPTO as CryptoBackendName | undefined) ?? "sodium-native";
  let p = cache.get(want);
  if (!p) {
    p = want === "sodium-native" ? Promise.resolve(loadSodiumNative() ?? loadLibsodium()) : loadLibsodium();
    cache.set(want, p);
  }
  return p;
}

/** Argon2id cost a passphrase key is derived with (libsodium's crypto_pwhash). */
export interface PwhashParams {
  opslimit: number;
  /** Bytes. */
  memlimit: number;
}

/** libsodium's MODERATE: ~1 s and 256 MiB on a small server; what a backup file is sealed with. */
export const PWHASH_MODERATE: PwhashParams = { opslimit: 3, memlimit: 256 * 1024 * 1024 };
/** libsodium's SENSITIVE: the most a file may ask for (a damaged header must not make us allocate gigabytes). */
export const PWHASH_MAX: PwhashParams = { opslimit: 4, memlimit: 1024 * 1024 * 1024 };
export const PWHASH_SALT_BYTES = 16;

/**
 * A 32-byte key from a passphrase: Argon2id (crypto_pwhash, ALG_ARGON2ID13),
 * run off the event loop. Only sodium-native has it (libsodium-wrappers is
 * built without crypto_pwhash), so it is loaded here whichever backend signs.
 */
export async function pwhashArgon2id(passphrase: Uint8Array, salt: Uint8Array, p: PwhashParams): Promise<Uint8Array> {
  checkLen("salt", salt, PWHASH_SALT_BYTES);
  if (!Number.isInteger(p.opslimit) || p.opslimit < 1 || p.opslimit > PWHASH_MAX.opslimit) throw new CryptoInputError(`pwhash opslimit must be 1..${PWHASH_MAX.opslimit}, got ${p.opslimit}`, p.opslimit);
  if (!Number.isInteger(p.memlimit) || p.memlimit < 8192 || p.memlimit > PWHASH_MAX.memlimit) throw new CryptoInputError(`pwhash memlimit must be 8 KiB..1 GiB, got ${p.memlimit}`, p.memlimit);
  let s: SodiumNative;
  try {
    s = createRequire(import.meta.url)("sodium-native") as SodiumNative;
  } catch (e) {
    throw new CryptoInputError(`Argon2id needs sodium-native, which did not load: ${(e as Error).message}`, null);
  }
  const out = Buffer.alloc(32);
  const pw = Buffer.from(passphrase);
  try {
    await new Promise<void>((res, rej) => {
      s.crypto_pwhash_async!(out, pw, Buffer.from(salt), p.opslimit, p.memlimit, s.crypto_pwhash_ALG_ARGON2ID13 as unknown as number, (err: Error | null) => (err ? rej(err) : res()));
    });
  } finally {
    pw.fill(0);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
