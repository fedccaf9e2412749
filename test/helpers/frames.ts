// Real sessions and signed chains for receive-pipeline tests (from the atk15
// attacker's helpers): real libsodium, real GroupSession, real sealed frames.
import { loadCrypto, type Crypto, type SignKeyPair } from "../../src/cwtch/crypto.js";
import { GroupSession } from "../../src/cwtch/group-session.js";
import { deriveEpochKeys, sealFrame, type EpochKeys } from "../../src/cwtch/envelope.js";
import { signEvent, type SignedEvent } from "../../src/cwtch/message.js";
import { toB64, utf8 } from "../../src/cwtch/bytes.js";

export async function setup(backend: "sodium-native" | "libsodium-wrappers" = "sodium-native") {
  const crypto = await loadCrypto(backend);
  const groupId = new Uint8Array(32).fill(7);
  const epochKey = new Uint8Array(32).fill(9);
  const keys = deriveEpochKeys(crypto, 0, epochKey);
  const alice = crypto.signKeyPair(new Uint8Array(32).fill(1));
  const bob = crypto.signKeyPair(new Uint8Array(32).fill(2));
  const mallory = crypto.signKeyPair(new Uint8Array(32).fill(3));
  const session = (who: SignKeyPair = bob, c: Crypto = crypto) =>
    new GroupSession({ crypto: c, identity: who, groupId, epochs: [{ epoch: 0, key: epochKey }], now: () => 1000 });
  return { crypto, groupId, epochKey, keys, alice, bob, mallory, session };
}

/** An author's chain of events: seq 1.. each citing `deps`. */
export class Author {
  seq = 0;
  prev: Uint8Array = new Uint8Array(32);
  constructor(readonly crypto: Crypto, readonly kp: SignKeyPair, readonly groupId: Uint8Array, readonly epoch = 0) {}
  next(body: Uint8Array | string, deps: Uint8Array[] = [], o: { ts?: number; seq?: number; prev?: Uint8Array } = {}): SignedEvent {
    const seq = o.seq ?? this.seq + 1;
    const ev = signEvent(
      this.crypto,
      {
        group: this.groupId,
        epoch: this.epoch,
        author: this.kp.publicKey,
        seq,
        prev: o.prev ?? (seq === 1 ? new Uint8Array(32) : this.prev),
        ts: o.ts ?? 1000 + seq,
        deps,
        body: typeof body === "string" ? utf8.encode(body) : body,
      },
      this.kp.secretKey,
    );
    if (o.seq === undefined) {
      this.seq = seq;
      this.prev = ev.id;
    }
    return ev;
  }
}

export function frameOf(crypto: Crypto, keys: EpochKeys, bytes: Uint8Array, asString = true) {
  const blob = sealFrame(crypto, keys, bytes);
  return { tag: keys.tag, blob: asString ? toB64(blob) : blob };
}
