// Task content: encrypted once under a fresh content key, which is wrapped
// under each reader role's current key and sealed to personal assignees.
import { concat, fromB64, toB64, utf8 } from "../cwtch/bytes.js";
import type { Crypto, SignKeyPair } from "../cwtch/crypto.js";
import { PRIORITIES, type Ciphertext, type Priority, type SealedContent } from "./events.js";
import type { KeyRing } from "./keyring.js";
import type { Task } from "./state.js";

export interface TaskText {
  title: string;
  deliverables: string;
}

/** A task's labels and priority, sealed under its content key (task.meta). */
export interface TaskMeta {
  labels: string[];
  priority: Priority;
}

export const NO_META: TaskMeta = { labels: [], priority: "normal" };

const AD_TEXT = utf8.encode("pursuance/task-text/v1");
// Its own associated data: a comment's or a title's ciphertext cannot be replayed as labels.
const AD_META = utf8.encode("pursuance/task-meta/v1");
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

/**
 * The content key of a task, if any key we hold opens it. A candidate counts
 * only if it opens the task's first text (AEAD: only the key it was sealed
 * under does), so a creator who wraps one key for one role and another for the
 * next, or an assigner who seals a key of their own to the assignee, cannot
 * give two honest readers two different keys: the wrong one reads as none.
 */
export function openContentKey(crypto: Crypto, ring: KeyRing, me: SignKeyPair, meHex: string, task: Task): Uint8Array | null {
  const first = { nonce: task.sealed.nonce, ct: task.sealed.ct };
  const isTheKey = (ck: Uint8Array | null): ck is Uint8Array => ck !== null && ck.length === 32 && decryptWith(crypto, ck, first) !== null;
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
    let ck: Uint8Array | null = null;
    try {
      ck = crypto.aeadDecrypt(raw.subarray(24), AD_WRAP, raw.subarray(0, 24), k.key);
    } catch {
      ck = null;
    }
    if (isTheKey(ck)) return ck;
  }
  const sealed = task.memberKeys[meHex];
  if (sealed) {
    try {
      const ck = crypto.openSealed(fromB64(sealed), me.publicKey, me.secretKey);
      if (isTheKey(ck)) return ck;
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

export function encryptMeta(crypto: Crypto, contentKey: Uint8Array, meta: TaskMeta): Ciphertext {
  return encryptWith(crypto, contentKey, utf8.encode(JSON.stringify({ labels: meta.labels, priority: meta.priority })), AD_META);
}

/**
 * What a task.meta says, as every reader takes it: labels that are names in
 * the vocabulary's shape (deduplicated, sorted) and a known priority. The fold
 * cannot see inside, so this is where a member's malformed meta is refused:
 * null (shown as "unreadable"), the same for every reader.
 */
export function decryptMeta(crypto: Crypto, contentKey: Uint8Array, c: Ciphertext, labelName: RegExp): TaskMeta | null {
  const p = decryptWith(crypto, contentKey, c, AD_META);
  if (!p) return null;
  try {
    const v = JSON.parse(utf8.decode(p)) as { labels?: unknown; priority?: unknown };
    if (!Array.isArray(v.labels) || v.labels.length > 64) return null;
    if (!v.labels.every((l): l is string => typeof l === "string" && labelName.test(l))) return null;
    if (!(PRIORITIES as readonly unknown[]).includes(v.priority)) return null;
    return { labels: [...new Set(v.labels)].sort(), priority: v.priority as Priority };
  } catch {
    return null;
  }
}
