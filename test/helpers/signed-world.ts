// A pursuance's log signed by hand: real libsodium, real signed events, the
// real fold. For tests that build the exact shapes an attacker can sign.
import { toHex } from "../../src/cwtch/bytes.js";
import { loadCrypto, type Crypto, type SignKeyPair } from "../../src/cwtch/crypto.js";
import { signEvent, type SignedEvent } from "../../src/cwtch/message.js";
import type { Actor } from "../../src/pursuance/actions.js";
import { encodeBody, type Body } from "../../src/pursuance/events.js";
import { Fold, foldAll } from "../../src/pursuance/fold.js";
import { KeyRing } from "../../src/pursuance/keyring.js";
import { toPEvent } from "../../src/pursuance/pevent.js";

export interface Signer {
  kp: SignKeyPair;
  hex: string;
  actor: Actor;
  last: SignedEvent | null;
  seq: number;
}

export class SignedWorld {
  readonly group: Uint8Array;
  readonly events: SignedEvent[] = [];
  genesis!: SignedEvent;
  clock = 1_700_000_000_000;
  private constructor(readonly crypto: Crypto) {
    this.group = crypto.randomBytes(32);
  }
  static async make(): Promise<SignedWorld> {
    return new SignedWorld(await loadCrypto());
  }
  signer(): Signer {
    const kp = this.crypto.signKeyPair();
    const hex = toHex(kp.publicKey);
    return { kp, hex, actor: { crypto: this.crypto, identity: kp, me: hex, ring: new KeyRing(this.crypto, kp) }, last: null, seq: 0 };
  }
  /** Sign `body` by `w` citing `deps` (and its own last event); `posted: false` keeps it out of the log (signed, never sent). */
  sign(w: Signer, body: Body, deps: SignedEvent[] = [], o: { posted?: boolean } = {}): SignedEvent {
    this.clock += 1000;
    const seq = w.seq + 1;
    const e = signEvent(
      this.crypto,
      { group: this.group, epoch: 0, author: w.kp.publicKey, seq, prev: w.last ? w.last.id : new Uint8Array(32), ts: this.clock, deps: deps.filter((d) => d !== w.last).map((d) => d.id), body: encodeBody(body) },
      w.kp.secretKey,
    );
    w.seq = seq;
    w.last = e;
    w.actor.ring.ingest(body);
    if (o.posted !== false) this.events.push(e);
    return e;
  }
  gid(): string {
    return toHex(this.genesis.id);
  }
  fold(evs: readonly SignedEvent[] = this.events): Fold {
    return foldAll(this.crypto, evs.map(toPEvent), this.gid());
  }
  get(id: string): SignedEvent | undefined {
    return this.events.find((e) => toHex(e.id) === id);
  }
}
