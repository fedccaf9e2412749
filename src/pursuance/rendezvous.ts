// The rendezvous of a keyless invite: how a joiner who holds no group key
// reaches the group, and how the group's keys reach the joiner.
//
//   seed (in the token only) ──BLAKE2b-256 keyed by seed──► rendezvous secret
//     (in the invite event, which only group members can read)
//   rendezvous secret ──deriveEpochKeys──► relay tag + frame key
//     (exactly as a group epoch key: a relay cannot tell these frames from group frames)
//
// 1. The joiner signs its `join` (seq 1, citing the invite event, in the epoch
//    the token names) and posts `{k:"join", ev}` under the rendezvous tag.
// 2. Every member's client listens on the tags of open invites. One that hears
//    a join carries it into the group log unchanged (signed events are
//    self-authenticating: any member may carry them); every client folds it.
// 3. Once the join is applied, a member posts on the rendezvous tag
//    `{k:"welcome", to, keys}`: the group epoch keys it holds, each sealed to the
//    joiner's identity key. The joiner opens them (a key is taken only if it
//    hashes to the id it claims), reads the log, and finds the `keys.share` that
//    a member posted there for its role's keys (the ordinary share duty).
//
// Anyone who learns the rendezvous secret (a member, or a former member who
// can still read an old epoch) sees only the joiner's signed join, which goes
// into the log anyway, and welcome boxes it cannot open. A false welcome
// (keys that read no log with this pursuance's genesis) leaves the joiner
// waiting for a true one; it cannot make the joiner accept a foreign genesis.
// 4. A join heard on an invite that can no longer let anyone in (used by
//    someone else, revoked, expired) is answered `{k:"refused", to, reason}`,
//    so the joiner stops waiting and may try another invite. Whoever holds the
//    token can forge one, which costs the joiner no more than that holder
//    using the invite first would.
import { fromB64, toB64, utf8 } from "../cwtch/bytes.js";
import type { Crypto } from "../cwtch/crypto.js";
import { deriveEpochKeys, openFrame, sealFrame, type EpochKeys } from "../cwtch/envelope.js";
import type { KeyRef } from "./events.js";

const RV_DOMAIN = utf8.encode("pursuance/rendezvous/v1");

export type RvMessage =
  | { k: "join"; ev: Uint8Array }
  | { k: "welcome"; to: string; keys: KeyRef[] }
  | { k: "refused"; to: string; reason: string };

/** A refusal's reason is a sentence, not a channel. */
export const MAX_REFUSAL_CHARS = 300;

/** The secret members learn from the invite event; the joiner derives it from the token's seed. */
export function rendezvousSecret(crypto: Crypto, inviteSeed: Uint8Array): Uint8Array {
  return crypto.hash(RV_DOMAIN, 32, inviteSeed);
}

export function rendezvousKeys(crypto: Crypto, secret: Uint8Array | string): EpochKeys {
  return deriveEpochKeys(crypto, 0, typeof secret === "string" ? fromB64(secret) : secret);
}

export function sealRv(crypto: Crypto, keys: EpochKeys, m: RvMessage): { tag: string; blob: Uint8Array } {
  const json = m.k === "join" ? { k: "join", ev: toB64(m.ev) } : m;
  return { tag: keys.tag, blob: sealFrame(crypto, keys, utf8.encode(JSON.stringify(json))) };
}

const HEX64 = /^[0-9a-f]{64}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const B64 = /^[A-Za-z0-9_-]+$/;

/** Open and validate a rendezvous frame; null for anything that is not one. */
export function openRv(crypto: Crypto, keys: EpochKeys, blob: Uint8Array | string): RvMessage | null {
  let bytes: Uint8Array;
  try {
    bytes = typeof blob === "string" ? fromB64(blob) : blob;
  } catch {
    return null;
  }
  const plain = openFrame(crypto, keys, bytes);
  if (!plain) return null;
  try {
    const v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain)) as Record<string, unknown>;
    if (v.k === "join" && typeof v.ev === "string" && B64.test(v.ev)) return { k: "join", ev: fromB64(v.ev) };
    if (v.k === "welcome" && typeof v.to === "string" && HEX64.test(v.to) && Array.isArray(v.keys) && v.keys.length <= 4096) {
      const keys: KeyRef[] = [];
      for (const r of v.keys as Array<Record<string, unknown>>) {
        if (r?.scope !== "group" || typeof r.keyId !== "string" || !HEX32.test(r.keyId) || typeof r.sealed !== "string" || !B64.test(r.sealed)) return null;
        keys.push({ scope: "group", keyId: r.keyId, sealed: r.sealed });
      }
      return { k: "welcome", to: v.to, keys };
    }
    if (v.k === "refused" && typeof v.to === "string" && HEX64.test(v.to) && typeof v.reason === "string" && v.reason.length <= MAX_REFUSAL_CHARS) return { k: "refused", to: v.to, reason: v.reason };
  } catch {
    return null;
  }
  return null;
}
