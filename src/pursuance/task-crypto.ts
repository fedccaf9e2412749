// Task content: encrypted once under a fresh content key, which is wrapped
// under each reader role's current key and sealed to personal assignees.
import { concat, fromB64, toB64, utf8 } from "../cwtch/bytes.js";
import type { Crypto, SignKeyPair } from "../cwtch/crypto.js";
import type { Ciphertext, SealedContent } from "./events.js";
import type { KeyRing } from "./keyring.js";
import type { Task } from "./state.js";

export interface TaskText {
  title: string;
  deliverables: string;
}

const AD_TEXT = utf8.encode("pursuance/task-text/v1");
const AD_WRAP = utf8.encode("pursuance/task-key/v1");

export function encryptWith(crypto: Crypto, key: Uint8Array, plain: Uint8Array, ad: Uint8Array = AD_TEXT): Ciphertext {
  const nonce = crypto.randomBytes(24);
  return { nonce: toB64(nonce), ct: toB64(crypto.aeadEncrypt(plain, ad, nonce, key)) };
}

export function decryptWith(crypto: Crypto, key: Uint8Array, c: Ciphertext, ad: Uint8Array = AD_TEXT): Uint8Array | null {
  try {
    return crypto.aeadDecrypt(fromB64(c.ct), ad, fromB64(c.nonce), key);
  } catch {
    return null;
  }
}

export function sealTaskContent(
  crypto: Crypto,
  text: TaskText,
  readers: Array<{ role: string; keyId: string; key: Uint8Array }>,
  members: Array<{ member: string; publicKey: Uint8Array }>,
): { content: SealedContent; contentKey: Uint8Array } {
  const contentKey = crypto.randomBytes(32);
  const body = encryptWith(crypto, contentKey, utf8.encode(JSON.stringify(text)));
  const wraps: SealedContent["wraps"] = {};
  for (const r of readers) {
    const nonce = crypto.randomBytes(24);
    wraps[r.role] = { keyId: r.keyId, w: toB64(concat(nonce, crypto.aeadEncrypt(contentKey, AD_WRAP, nonce, r.key))) };
  }
  const sealed: Record<string, string> = {};
  for (const m of members) sealed[m.member] = toB64(crypto.sealTo(contentKey, m.publicKey));
  return { content: { ...body, wraps, members: sealed }, contentKey };
}

/** The content key of a task, if any key we hold opens it. */
export function openContentKey(crypto: Crypto, ring: KeyRing, me: SignKeyPair, meHex: string, task: Task): Uint8Array | null {
  for (const w of Object.values(task.sealed.wraps)) {
    const k = ring.get(w.keyId);
    if (!k) continue;
    let raw: Uint8Array;
    try {
      raw = fromB64(w.w);
    } catch {
      continue;
    }
    if (raw.length < 24 + 16) continue;
    const ck = crypto.aeadDecrypt(raw.subarray(24), AD_WRAP, raw.subarray(0, 24), k.key);
    if (ck && ck.length === 32) return ck;
  }
  const sealed = task.memberKeys[meHex];
  if (sealed) {
    try {
      const ck = crypto.openSealed(fromB64(sealed), me.publicKey, me.secretKey);
      if (ck && ck.length === 32) return ck;
    } catch {
      return null;
    }
  }
  return null;
}

export function sealContentKeyTo(crypto: Crypto, contentKey: Uint8Array, publicKey: Uint8Array): string {
  return toB64(crypto.sealTo(contentKey, publicKey));
}

export function decryptText(crypto: Crypto, contentKey: Uint8Array, c: Ciphertext): TaskText | null {
  const p = decryptWith(crypto, contentKey, c);
  if (!p) return null;
  try {
    const v = JSON.parse(utf8.decode(p)) as TaskText;
    return typeof v.title === "string" && typeof v.deliverables === "string" ? v : null;
  } catch {
    return null;
  }
}

export function encryptComment(crypto: Crypto, contentKey: Uint8Array, text: string): Ciphertext {
  return encryptWith(crypto, contentKey, utf8.encode(text));
}

export function decryptComment(crypto: Crypto, contentKey: Uint8Array, c: Ciphertext): string | null {
  const p = decryptWith(crypto, contentKey, c);
  if (!p) return null;
  try {
    return utf8.decode(p);
  } catch {
    return null;
  }
}
