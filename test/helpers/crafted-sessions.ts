// Sessions sharing one group and key, and raw events with any chain fields (from the atk17 attacker).
import { loadCrypto, type Crypto } from "../../src/cwtch/crypto.js";
import { GroupSession } from "../../src/cwtch/group-session.js";
import { signEvent, type SignedEvent } from "../../src/cwtch/message.js";

export async function setup(n: number) {
  const crypto: Crypto = await loadCrypto();
  const groupId = crypto.randomBytes(32);
  const key = crypto.randomBytes(32);
  let t = 1_000;
  const mk = () => new GroupSession({ crypto, identity: crypto.signKeyPair(), groupId, epochs: [{ epoch: 0, key }], now: () => ++t });
  const sessions = Array.from({ length: n }, mk);
  return { crypto, groupId, key, sessions, mk };
}

/** A raw event signed by `s`'s identity with arbitrary chain fields. */
export function craft(s: GroupSession, f: { seq: number; prev: Uint8Array; deps?: Uint8Array[]; body?: string; ts?: number }): SignedEvent {
  return signEvent(
    s.crypto,
    { group: s.groupId, epoch: 0, author: s.identity.publicKey, seq: f.seq, prev: f.seq === 1 ? new Uint8Array(32) : f.prev, ts: f.ts ?? 5_000, deps: f.deps ?? [], body: new TextEncoder().encode(f.body ?? "x") },
    s.identity.secretKey,
  );
}
