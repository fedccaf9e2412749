// One member's view of one group: its identity, the group's epoch keys and the
// causal log. Pure of I/O: frames in, outcomes out; the caller moves frames
// to and from relays. Nothing unverified ever reaches the log.
import { equalBytes, fromB64Canonical, toHex } from "./bytes.js";
import type { Crypto, SignKeyPair } from "./crypto.js";
import { deriveEpochKeys, openFrame, sealFrame, type EpochKeys } from "./envelope.js";
import { EventLog, type AddResult, type Equivocation } from "./event-log.js";
import { DecodeError, decodeAndVerify, signControl, signEvent, type ControlTypeName, type SignedControl, type SignedEvent } from "./message.js";

export type DropReason =
  | "unknown-tag"
  | "undecryptable"
  | "malformed"
  | "bad-signature"
  | "wrong-group"
  | "wrong-epoch";

export type ReceiveOutcome =
  | { type: "dropped"; reason: DropReason; detail?: string }
  | { type: "control"; control: SignedControl }
  | ({ type: "event" } & AddResult);

export interface OutFrame {
  tag: string;
  blob: Uint8Array;
}

export interface GroupSessionOptions {
  crypto: Crypto;
  identity: SignKeyPair;
  groupId: Uint8Array;
  epochs: Array<{ epoch: number; key: Uint8Array }>;
  /** Clock port: ms since epoch, written into events as the author's claim. */
  now: () => number;
}

export class GroupSession {
  readonly crypto: Crypto;
  readonly identity: SignKeyPair;
  readonly groupId: Uint8Array;
  readonly me: string;
  readonly log = new EventLog();
  readonly drops = new Map<DropReason, number>();
  private readonly byTag = new Map<string, EpochKeys>();
  private readonly byEpoch = new Map<number, EpochKeys>();
  private current = -1;
  private writeEpoch: number | null = null;
  private readonly now: () => number;

  constructor(o: GroupSessionOptions) {
    if (o.groupId.length !== 32) throw new RangeError(`group id must be 32 bytes, got ${o.groupId.length}`);
    this.crypto = o.crypto;
    this.identity = o.identity;
    this.groupId = o.groupId;
    this.me = toHex(o.identity.publicKey);
    this.now = o.now;
    for (const e of o.epochs) this.addEpoch(e.epoch, e.key);
  }

  get groupHex(): string {
    return toHex(this.groupId);
  }
  /** The epoch we write in: set by the layer above after a rotation, else the highest known. */
  get currentEpoch(): number {
    return this.writeEpoch ?? this.current;
  }
  setWriteEpoch(epoch: number): void {
    this.epochKeys(epoch);
    this.writeEpoch = epoch;
  }
  hasEpoch(epoch: number): boolean {
    return this.byEpoch.has(epoch);
  }
  get tags(): string[] {
    return [...this.byTag.keys()];
  }
  tagOf(epoch: number): string | undefined {
    return this.byEpoch.get(epoch)?.tag;
  }

  /** Learn an epoch key (from a rotation or a key share). The highest epoch is the one we write in. */
  addEpoch(epoch: number, key: Uint8Array): void {
    const k = deriveEpochKeys(this.crypto, epoch, key);
    const old = this.byEpoch.get(epoch);
    if (old && old.tag !== k.tag) throw new Error(`conflicting key for epoch ${epoch}`);
    this.byEpoch.set(epoch, k);
    this.byTag.set(k.tag, k);
    if (epoch > this.current) this.current = epoch;
  }

  /** Sign our next event (chained to our previous one, citing the log's tips) and seal it. */
  compose(body: Uint8Array, epoch = this.currentEpoch): { event: SignedEvent; frame: OutFrame; result: AddResult } {
    const keys = this.epochKeys(epoch);
    const event = this.sign(body, epoch);
    const result = this.log.add(event);
    return { event, frame: { tag: keys.tag, blob: sealFrame(this.crypto, keys, event.bytes) }, result };
  }

  /** Our next event, signed but not yet in our log (a caller that stores it first adds it with `log.add`). */
  sign(body: Uint8Array, epoch = this.currentEpoch): SignedEvent {
    this.epochKeys(epoch); // an epoch we cannot write in fails here, before anything is signed
    const head = this.log.head(this.me);
    return signEvent(
      this.crypto,
      {
        group: this.groupId,
        epoch,
        author: this.identity.publicKey,
        seq: (head?.seq ?? 0) + 1,
        prev: head ? this.log.get(head.id)!.id : new Uint8Array(32),
        ts: this.now(),
        deps: this.log.tips(this.me),
        body,
      },
      this.identity.secretKey,
    );
  }

  /** Re-seal a held event with a fresh nonce: repair, or moving to a new relay. */
  frameFor(event: SignedEvent): OutFrame {
    const keys = this.epochKeys(event.epoch);
    return { tag: keys.tag, blob: sealFrame(this.crypto, keys, event.bytes) };
  }

  control(ctype: ControlTypeName, payload: Uint8Array): OutFrame {
    const keys = this.epochKeys(this.currentEpoch);
    const c = signControl(
      this.crypto,
      { group: this.groupId, epoch: this.currentEpoch, author: this.identity.publicKey, ts: this.now(), ctype, payload },
      this.identity.secretKey,
    );
    return { tag: keys.tag, blob: sealFrame(this.crypto, keys, c.bytes) };
  }

  /** The receive pipeline: tag lookup, decrypt, decode, verify, bind, dedupe, gap and fork checks. */
  receive(tag: string, blob: Uint8Array | string): ReceiveOutcome {
    const keys = this.byTag.get(tag);
    if (!keys) return this.drop("unknown-tag");
    let bytes: Uint8Array;
    if (typeof blob === "string") {
      const b = fromB64Canonical(blob);
      if (!b) return this.drop("malformed", "blob is not base64url");
      bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } else bytes = blob;
    const plain = openFrame(this.crypto, keys, bytes);
    if (!plain) return this.drop("undecryptable");
    return this.verifyAndAdd(plain, keys.epoch);
  }

  /**
   * A signed event that reached us outside a group frame (a joiner's first
   * event, handed over a side channel by someone who holds no group key):
   * the same checks as `receive`, and its epoch must be one we hold so that
   * we can carry it into the group. Events only; controls are never carried.
   */
  accept(bytes: Uint8Array): ReceiveOutcome {
    let epoch: number;
    try {
      // Peek at the epoch (kind, version, group, then u32 epoch) before verifying.
      if (bytes.length < 38 || bytes[0] !== 1) return this.drop("malformed", "not an event");
      epoch = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(34);
    } catch {
      return this.drop("malformed");
    }
    if (!this.byEpoch.has(epoch)) return this.drop("wrong-epoch", `epoch ${epoch} is not one we hold`);
    return this.verifyAndAdd(bytes, epoch);
  }

  private verifyAndAdd(plain: Uint8Array, epoch: number): ReceiveOutcome {
    let msg;
    try {
      msg = decodeAndVerify(this.crypto, plain);
    } catch (e) {
      return this.drop("malformed", e instanceof DecodeError ? e.message : String(e));
    }
    if (!msg) return this.drop("bad-signature");
    if (!equalBytes(msg.group, this.groupId)) return this.drop("wrong-group");
    if (msg.epoch !== epoch) return this.drop("wrong-epoch");
    if (msg.kind === "control") return { type: "control", control: msg };
    return { type: "event", ...this.log.add(msg) };
  }

  /** Load events from our own store at start-up (they were verified before being stored). */
  restore(events: Iterable<SignedEvent>): Equivocation[] {
    const found: Equivocation[] = [];
    for (const e of events) {
      const r = this.log.add(e);
      if ((r.status === "pending" || r.status === "delivered") && r.equivocation) found.push(r.equivocation);
    }
    return found;
  }

  private epochKeys(epoch: number): EpochKeys {
    const k = this.byEpoch.get(epoch);
    if (!k) throw new Error(`no key for epoch ${epoch} of group ${this.groupHex.slice(0, 12)}`);
    return k;
  }

  private drop(reason: DropReason, detail?: string): ReceiveOutcome {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
    return { type: "dropped", reason, ...(detail ? { detail } : {}) };
  }
}
