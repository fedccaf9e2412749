// One member's view of one group: its identity, the group's epoch keys and the
// causal log. Pure of I/O: frames in, outcomes out; the caller moves frames
// to and from relays. Nothing unverified ever reaches the log.
import { equalBytes, fromB64Canonical, toHex } from "./bytes.js";
import { AEAD_NONCE_BYTES, AEAD_TAG_BYTES, type Crypto, type SignKeyPair, type VerifyItem } from "./crypto.js";
import { BUCKETS, deriveEpochKeys, openFrame, sealFrame, type EpochKeys } from "./envelope.js";
import { EventLog, type AddResult, type Equivocation } from "./event-log.js";
import { DecodeError, decodeSigned, finishDecoded, signControl, signEvent, type ControlTypeName, type DecodedUnverified, type SignedControl, type SignedEvent } from "./message.js";

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

/** A frame as `receiveMany` takes it: what `receive` takes, as one item. */
export interface InFrame {
  tag: string;
  blob: Uint8Array | string;
}

export interface ReceiveManyOptions {
  /** Called with each outcome in input order, as soon as it is settled (before the next frame's). */
  each?: (outcome: ReceiveOutcome, index: number) => void;
  /** Asked before each frame is settled: once true, that frame and the rest are left (the result is shorter). */
  stop?: () => boolean;
}

/** The largest frame a session decodes in place: nonce ‖ the largest bucket ‖ tag (a larger one is decoded apart). */
const MAX_FRAME_BYTES = AEAD_NONCE_BYTES + BUCKETS[7] + AEAD_TAG_BYTES;

/** Frames per verify batch: enough to amortise a worker round trip, few enough to keep every worker busy. */
export const RECEIVE_BATCH = 256;
/** Batches decoded ahead of the one being settled. */
const RECEIVE_WINDOW = 4;

/** A frame opened and decoded, its signature not checked yet; or why it is dropped before any check. */
type Prepared = { drop: DropReason; detail?: string } | { d: DecodedUnverified; epoch: number };

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
  private scratch: Uint8Array | undefined;
  private scratchIn: Buffer | undefined;

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
    const p = this.prepare(tag, blob);
    return this.settle(p, "d" in p && this.crypto.verify(p.d.sig, p.d.signed, p.d.msg.author));
  }

  /**
   * `receive` over many frames, with the signatures checked by the crypto
   * port's `verifyMany` (a worker pool) when it has one: frames are opened and
   * decoded here, their signatures checked in batches, and each is then bound,
   * deduplicated and logged here in input order, only once its own signature
   * verified. Outcomes, the log, `drops` and equivocations are exactly those
   * of calling `receive` on each frame in order (other calls made while this
   * waits on the pool come between two of its frames).
   */
  async receiveMany(frames: readonly InFrame[], o: ReceiveManyOptions = {}): Promise<ReceiveOutcome[]> {
    const out: ReceiveOutcome[] = [];
    const verifyMany = this.crypto.verifyMany;
    if (!verifyMany || frames.length < 2) {
      for (let i = 0; i < frames.length; i++) {
        if (o.stop?.()) break;
        const r = this.receive(frames[i]!.tag, frames[i]!.blob);
        out.push(r);
        o.each?.(r, i);
      }
      return out;
    }
    const crypto = this.crypto;
    const inflight: Array<{ at: number; prepared: Prepared[]; items: VerifyItem[]; ok: Promise<boolean[]> }> = [];
    let next = 0;
    const dispatch = () => {
      const at = next;
      const end = Math.min(frames.length, at + RECEIVE_BATCH);
      const prepared: Prepared[] = [];
      const items: VerifyItem[] = [];
      for (let i = at; i < end; i++) {
        const p = this.prepare(frames[i]!.tag, frames[i]!.blob);
        prepared.push(p);
        if ("d" in p) items.push({ sig: p.d.sig, message: p.d.signed, publicKey: p.d.msg.author });
      }
      next = end;
      const ok = items.length === 0 ? Promise.resolve([]) : verifyMany.call(crypto, items);
      ok.catch(() => {}); // judged when its turn comes
      inflight.push({ at, prepared, items, ok });
    };
    while (next < frames.length || inflight.length > 0) {
      while (next < frames.length && inflight.length < RECEIVE_WINDOW) dispatch();
      const b = inflight.shift()!;
      let ok: boolean[] | null = null;
      try {
        ok = await b.ok;
      } catch {
        ok = null;
      }
      // A pool that failed, or answered for some other number of items, is not believed: check here.
      if (!Array.isArray(ok) || ok.length !== b.items.length) ok = b.items.map((it) => crypto.verify(it.sig, it.message, it.publicKey));
      let k = 0;
      for (let j = 0; j < b.prepared.length; j++) {
        if (o.stop?.()) return out;
        const p = b.prepared[j]!;
        // A tag unknown when the frame was prepared ahead may be known now (an epoch key learnt from an
        // earlier frame's outcome, or by a call made while this waited): judged as `receive` would judge it now.
        // Keys are only ever added, so every other drop found ahead stands.
        const r = "drop" in p && p.drop === "unknown-tag" ? this.receive(frames[b.at + j]!.tag, frames[b.at + j]!.blob) : this.settle(p, "d" in p && ok[k++] === true);
        out.push(r);
        o.each?.(r, b.at + j);
      }
    }
    return out;
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
    const p = this.decode(bytes, epoch);
    return this.settle(p, "d" in p && this.crypto.verify(p.d.sig, p.d.signed, p.d.msg.author));
  }

  /** Tag lookup, base64url decode, decrypt, unpad, decode: everything before the signature. Counts nothing. */
  private prepare(tag: string, blob: Uint8Array | string): Prepared {
    const keys = this.byTag.get(tag);
    if (!keys) return { drop: "unknown-tag" };
    let bytes: Uint8Array;
    if (typeof blob === "string") {
      // Decoded into a buffer reused for every frame: the message is copied out of the frame before the next.
      const b = fromB64Canonical(blob, (this.scratchIn ??= Buffer.allocUnsafe(MAX_FRAME_BYTES)));
      if (!b) return { drop: "malformed", detail: "blob is not base64url" };
      bytes = b;
    } else bytes = blob;
    // Decrypted into one buffer reused for every frame: decodeSigned copies the message out of it.
    const plain = openFrame(this.crypto, keys, bytes, (this.scratch ??= new Uint8Array(BUCKETS[7])));
    if (!plain) return { drop: "undecryptable" };
    return this.decode(plain, keys.epoch);
  }

  private decode(plain: Uint8Array, epoch: number): Prepared {
    try {
      return { d: decodeSigned(plain), epoch };
    } catch (e) {
      return { drop: "malformed", detail: e instanceof DecodeError ? e.message : String(e) };
    }
  }

  /** Everything after the signature check, whose answer is `verified`: drops counted, binding, the log. */
  private settle(p: Prepared, verified: boolean): ReceiveOutcome {
    if ("drop" in p) return this.drop(p.drop, p.detail);
    if (!verified) return this.drop("bad-signature");
    const msg = finishDecoded(this.crypto, p.d);
    if (!equalBytes(msg.group, this.groupId)) return this.drop("wrong-group");
    if (msg.epoch !== p.epoch) return this.drop("wrong-epoch");
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
