// The two crypto backends must be interchangeable: same outputs for the
// deterministic primitives, each other's ciphertexts and signatures accepted,
// and the same documented behaviour on bad input (CryptoInputError on the
// writing side, false/null on the reading side).
import { beforeAll, describe, expect, it } from "vitest";
import { fromHex, toHex, utf8 } from "../src/cwtch/bytes.js";
import { CryptoInputError, loadCrypto, SEAL_OVERHEAD, type Crypto } from "../src/cwtch/crypto.js";

let L: Crypto;
let N: Crypto;
let both: Crypto[];
beforeAll(async () => {
  L = await loadCrypto("libsodium-wrappers");
  N = await loadCrypto("sodium-native");
  both = [L, N];
});

const msg = utf8.encode("the quick brown fox");
const seed1 = new Uint8Array(32).fill(1);

describe("backends load", () => {
  it("each reports its own name and is cached", async () => {
    expect(L.backend).toBe("libsodium-wrappers");
    expect(N.backend).toBe("sodium-native");
    expect(await loadCrypto("sodium-native")).toBe(N);
  });

  it("randomBytes: right length, not constant", () => {
    for (const c of both) {
      const a = c.randomBytes(32);
      const b = c.randomBytes(32);
      expect(a).toBeInstanceOf(Uint8Array);
      expect(a.length).toBe(32);
      expect(toHex(a)).not.toBe(toHex(b));
      expect(c.randomBytes(0).length).toBe(0);
    }
  });
});

describe("Ed25519", () => {
  it("seeded key pairs agree and match the RFC 8032 layout", () => {
    const a = L.signKeyPair(seed1);
    const b = N.signKeyPair(seed1);
    expect(toHex(a.publicKey)).toBe("8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c");
    expect(toHex(b.publicKey)).toBe(toHex(a.publicKey));
    expect(toHex(b.secretKey)).toBe(toHex(a.secretKey));
    expect(toHex(a.secretKey)).toBe("01".repeat(32) + toHex(a.publicKey));
  });

  it("RFC 8032 test 1 (empty message)", () => {
    const seed = fromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    for (const c of both) {
      const kp = c.signKeyPair(seed);
      expect(toHex(kp.publicKey)).toBe("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
      expect(toHex(c.sign(new Uint8Array(0), kp.secretKey))).toBe(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
      );
    }
  });

  it("signatures are identical and verify across backends", () => {
    const kp = L.signKeyPair();
    const sL = L.sign(msg, kp.secretKey);
    const sN = N.sign(msg, kp.secretKey);
    expect(sL.length).toBe(64);
    expect(toHex(sN)).toBe(toHex(sL));
    for (const c of both) {
      expect(c.verify(sL, msg, kp.publicKey)).toBe(true);
      expect(c.verify(sN, msg, kp.publicKey)).toBe(true);
    }
  });

  it("rejects a wrong key, a changed message or a changed signature", () => {
    const kp = N.signKeyPair();
    const other = N.signKeyPair();
    const sig = N.sign(msg, kp.secretKey);
    const badMsg = Uint8Array.from(msg);
    badMsg[0]! ^= 1;
    for (const c of both) {
      expect(c.verify(sig, msg, other.publicKey)).toBe(false);
      expect(c.verify(sig, badMsg, kp.publicKey)).toBe(false);
      for (const i of [0, 31, 32, 63]) {
        const s = Uint8Array.from(sig);
        s[i]! ^= 0x80;
        expect(c.verify(s, msg, kp.publicKey)).toBe(false);
      }
    }
  });

  it("bad lengths: sign/seed throw CryptoInputError, verify returns false", () => {
    const kp = L.signKeyPair();
    const sig = L.sign(msg, kp.secretKey);
    for (const c of both) {
      expect(() => c.signKeyPair(new Uint8Array(31))).toThrow(CryptoInputError);
      expect(() => c.signKeyPair(new Uint8Array(33))).toThrow(CryptoInputError);
      expect(() => c.sign(msg, kp.secretKey.subarray(0, 32))).toThrow(CryptoInputError);
      expect(() => c.sign(msg, new Uint8Array(65))).toThrow(CryptoInputError);
      expect(c.verify(sig.subarray(0, 63), msg, kp.publicKey)).toBe(false);
      expect(c.verify(new Uint8Array(65), msg, kp.publicKey)).toBe(false);
      expect(c.verify(sig, msg, kp.publicKey.subarray(0, 31))).toBe(false);
      expect(c.verify(sig, msg, new Uint8Array(33))).toBe(false);
      // Not a point / small order: false, never a throw.
      expect(c.verify(sig, msg, new Uint8Array(32))).toBe(false);
      expect(c.verify(sig, msg, new Uint8Array(32).fill(0xff))).toBe(false);
      expect(c.verify(new Uint8Array(64), msg, kp.publicKey)).toBe(false);
    }
  });
});

describe("BLAKE2b", () => {
  it("RFC 7693 'abc' with 64-byte output, and empty input unkeyed 32-byte", () => {
    for (const c of both) {
      expect(toHex(c.hash(utf8.encode("abc"), 64))).toBe(
        "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
      );
      expect(toHex(c.hash(new Uint8Array(0)))).toBe("0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
    }
  });

  it("backends agree with and without key, all lengths 16..64", () => {
    const key = N.randomBytes(32);
    for (let n = 16; n <= 64; n++) {
      const a = L.hash(msg, n);
      expect(a.length).toBe(n);
      expect(toHex(N.hash(msg, n))).toBe(toHex(a));
      const k = L.hash(msg, n, key);
      expect(toHex(N.hash(msg, n, key))).toBe(toHex(k));
      expect(toHex(k)).not.toBe(toHex(a));
    }
    for (const kl of [16, 33, 64]) {
      const k = N.randomBytes(kl);
      expect(toHex(N.hash(msg, 32, k))).toBe(toHex(L.hash(msg, 32, k)));
    }
  });

  it("a different key gives a different hash", () => {
    for (const c of both) {
      expect(toHex(c.hash(msg, 32, new Uint8Array(32).fill(1)))).not.toBe(toHex(c.hash(msg, 32, new Uint8Array(32).fill(2))));
    }
  });

  it("out-of-range output or key length → CryptoInputError on both backends", () => {
    for (const c of both) {
      for (const n of [0, 1, 15, 65, 1.5]) expect(() => c.hash(msg, n)).toThrow(CryptoInputError);
      for (const kl of [0, 1, 15, 65]) expect(() => c.hash(msg, 32, new Uint8Array(kl))).toThrow(CryptoInputError);
    }
  });
});

describe("XChaCha20-Poly1305", () => {
  const key = new Uint8Array(32).fill(7);
  const nonce = new Uint8Array(24).fill(9);
  const ad = utf8.encode("associated");

  it("libsodium test vector (draft-irtf-cfrg-xchacha A.3.1)", () => {
    const plaintext = utf8.encode(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
    const k = fromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
    const n = fromHex("404142434445464748494a4b4c4d4e4f5051525354555657");
    const a = fromHex("50515253c0c1c2c3c4c5c6c7");
    for (const c of both) {
      const ct = c.aeadEncrypt(plaintext, a, n, k);
      expect(toHex(ct.subarray(0, 16))).toBe("bd6d179d3e83d43b9576579493c0e939");
      expect(toHex(ct.subarray(ct.length - 16))).toBe("c0875924c1c7987947deafd8780acf49");
    }
  });

  it("round trip in both directions, identical ciphertexts", () => {
    for (const len of [0, 1, 100, 4096]) {
      const p = L.randomBytes(len);
      const cL = L.aeadEncrypt(p, ad, nonce, key);
      const cN = N.aeadEncrypt(p, ad, nonce, key);
      expect(cL.length).toBe(len + 16);
      expect(toHex(cN)).toBe(toHex(cL));
      expect(toHex(N.aeadDecrypt(cL, ad, nonce, key)!)).toBe(toHex(p));
      expect(toHex(L.aeadDecrypt(cN, ad, nonce, key)!)).toBe(toHex(p));
    }
  });

  it("tampering with ciphertext, tag, AD, nonce or key → null", () => {
    const p = utf8.encode("secret payload");
    const ct = L.aeadEncrypt(p, ad, nonce, key);
    for (const c of both) {
      for (let i = 0; i < ct.length; i++) {
        const t = Uint8Array.from(ct);
        t[i]! ^= 1 << (i % 8);
        expect(c.aeadDecrypt(t, ad, nonce, key)).toBeNull();
      }
      expect(c.aeadDecrypt(ct, utf8.encode("associatee"), nonce, key)).toBeNull();
      expect(c.aeadDecrypt(ct, new Uint8Array(0), nonce, key)).toBeNull();
      const n2 = Uint8Array.from(nonce);
      n2[23]! ^= 1;
      expect(c.aeadDecrypt(ct, ad, n2, key)).toBeNull();
      const k2 = Uint8Array.from(key);
      k2[0]! ^= 1;
      expect(c.aeadDecrypt(ct, ad, nonce, k2)).toBeNull();
      expect(c.aeadDecrypt(ct.subarray(0, ct.length - 1), ad, nonce, key)).toBeNull();
    }
  });

  it("bad lengths: encrypt throws CryptoInputError, decrypt returns null", () => {
    const ct = L.aeadEncrypt(msg, ad, nonce, key);
    for (const c of both) {
      expect(() => c.aeadEncrypt(msg, ad, new Uint8Array(12), key)).toThrow(CryptoInputError);
      expect(() => c.aeadEncrypt(msg, ad, nonce, new Uint8Array(31))).toThrow(CryptoInputError);
      expect(() => c.aeadEncrypt(msg, ad, nonce, new Uint8Array(33))).toThrow(CryptoInputError);
      expect(c.aeadDecrypt(ct, ad, new Uint8Array(12), key)).toBeNull();
      expect(c.aeadDecrypt(ct, ad, nonce, new Uint8Array(16))).toBeNull();
      for (const n of [0, 1, 15]) expect(c.aeadDecrypt(new Uint8Array(n), ad, nonce, key)).toBeNull();
      expect(c.aeadDecrypt(new Uint8Array(16), ad, nonce, key)).toBeNull();
    }
  });
});

describe("sealed boxes to Ed25519 identities", () => {
  it("seal with either backend, open with either", () => {
    const kp = N.signKeyPair();
    const m = utf8.encode("role key for you");
    for (const sealer of both) {
      const ct = sealer.sealTo(m, kp.publicKey);
      expect(ct.length).toBe(m.length + SEAL_OVERHEAD);
      for (const opener of both) expect(utf8.decode(opener.openSealed(ct, kp.publicKey, kp.secretKey)!)).toBe("role key for you");
    }
    // Anonymous and randomised: two seals of one message differ.
    expect(toHex(L.sealTo(m, kp.publicKey))).not.toBe(toHex(L.sealTo(m, kp.publicKey)));
    expect(N.openSealed(N.sealTo(new Uint8Array(0), kp.publicKey), kp.publicKey, kp.secretKey)!.length).toBe(0);
  });

  it("wrong recipient, tampering or short input → null", () => {
    const kp = L.signKeyPair();
    const other = L.signKeyPair();
    const ct = L.sealTo(msg, kp.publicKey);
    for (const c of both) {
      expect(c.openSealed(ct, other.publicKey, other.secretKey)).toBeNull();
      // Right public key, wrong secret key.
      expect(c.openSealed(ct, kp.publicKey, other.secretKey)).toBeNull();
      for (const i of [0, 31, 32, 47, 48, ct.length - 1]) {
        const t = Uint8Array.from(ct);
        t[i]! ^= 0x04;
        expect(c.openSealed(t, kp.publicKey, kp.secretKey)).toBeNull();
      }
      expect(c.openSealed(ct.subarray(0, SEAL_OVERHEAD - 1), kp.publicKey, kp.secretKey)).toBeNull();
      expect(c.openSealed(new Uint8Array(0), kp.publicKey, kp.secretKey)).toBeNull();
      expect(c.openSealed(ct.subarray(0, ct.length - 1), kp.publicKey, kp.secretKey)).toBeNull();
    }
  });

  it("bad key lengths or invalid points: sealTo throws, openSealed returns null (both backends)", () => {
    const kp = L.signKeyPair();
    const ct = L.sealTo(msg, kp.publicKey);
    for (const c of both) {
      expect(() => c.sealTo(msg, new Uint8Array(31))).toThrow(CryptoInputError);
      expect(() => c.sealTo(msg, new Uint8Array(33))).toThrow(CryptoInputError);
      // Right length but not a usable curve point.
      expect(() => c.sealTo(msg, new Uint8Array(32))).toThrow();
      expect(c.openSealed(ct, kp.publicKey.subarray(0, 31), kp.secretKey)).toBeNull();
      expect(c.openSealed(ct, kp.publicKey, kp.secretKey.subarray(0, 63))).toBeNull();
      expect(c.openSealed(ct, new Uint8Array(32).fill(0xff), kp.secretKey)).toBeNull();
    }
  });
});
