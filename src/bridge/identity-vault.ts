// Custodial identities at rest: each Matrix user's Ed25519 secret key, sealed
// with XChaCha20-Poly1305 under the bridge's identity key (from config or the
// PURSUANCE_IDENTITY_KEY environment variable). A stolen database without
// that key yields no identity.
import { concat, utf8 } from "../cwtch/bytes.js";
import type { Crypto, SignKeyPair } from "../cwtch/crypto.js";

const AD = utf8.encode("pursuance/bridge-identity/v1");
const AD_BYTES = utf8.encode("pursuance/bridge-at-rest/v1");

export class VaultError extends Error {
  constructor(message: string, readonly value: unknown) {
    super(message);
    this.name = "VaultError";
  }
}

export class IdentityVault {
  constructor(
    private readonly crypto: Crypto,
    private readonly key: Uint8Array,
  ) {
    if (key.length !== 32) throw new VaultError(`identity key must be 32 bytes, got ${key.length}`, key.length);
  }

  seal(secretKey: Uint8Array, owner: string): Uint8Array {
    const nonce = this.crypto.randomBytes(24);
    return concat(nonce, this.crypto.aeadEncrypt(secretKey, concat(AD, utf8.encode(owner)), nonce, this.key));
  }

  /** Binding the owner in the AD means a sealed key copied to another user's row does not open. */
  open(sealed: Uint8Array, owner: string): SignKeyPair {
    const sk = sealed.length > 24 ? this.crypto.aeadDecrypt(sealed.subarray(24), concat(AD, utf8.encode(owner)), sealed.subarray(0, 24), this.key) : null;
    if (!sk || sk.length !== 64) throw new VaultError(`cannot open the identity of ${owner}: wrong identity key or damaged row`, owner);
    return { secretKey: sk, publicKey: sk.slice(32) };
  }

  /**
   * Any other secret at rest (role and group keys, stored inbound events):
   * sealed the same way, bound to what it is (`purpose`, e.g. owner and
   * pursuance), so a row moved elsewhere does not open.
   */
  sealBytes(plain: Uint8Array, purpose: string): Uint8Array {
    const nonce = this.crypto.randomBytes(24);
    return concat(nonce, this.crypto.aeadEncrypt(plain, concat(AD_BYTES, utf8.encode(purpose)), nonce, this.key));
  }

  openBytes(sealed: Uint8Array, purpose: string): Uint8Array {
    const out = sealed.length > 24 ? this.crypto.aeadDecrypt(sealed.subarray(24), concat(AD_BYTES, utf8.encode(purpose)), sealed.subarray(0, 24), this.key) : null;
    if (!out) throw new VaultError(`cannot open a sealed row (${purpose}): wrong identity key or damaged row`, purpose);
    return out;
  }
}
