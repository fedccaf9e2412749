// Canonical binary encoding of signed group messages. Every byte is fixed by
// this file (and pinned by test/vectors/), so a second implementation can
// interoperate: big-endian integers, fixed-width keys and hashes, sorted deps.
//
// event   = 0x01 ‖ 0x01(version) ‖ group[32] ‖ epoch u32 ‖ author[32] ‖ seq u32
//           ‖ prev[32] ‖ ts u64 ‖ ndeps u16 ‖ deps[32·n] ‖ len u32 ‖ body ‖ sig[64]
// control = 0x02 ‖ 0x01(version) ‖ group[32] ‖ epoch u32 ‖ author[32] ‖ ts u64
//           ‖ ctype u8 ‖ len u32 ‖ payload ‖ sig[64]
//
// sig = Ed25519(author, "pursuance/msg/v1\0" ‖ everything before sig). The
// signature covers group and epoch, so a frame replayed into another group or
// epoch fails. Event id = BLAKE2b-256(whole encoding, sig included).
import { compareBytes, concat, equalBytes, utf8 } from "./bytes.js";
import type { Crypto } from "./crypto.js";

export const KIND_EVENT = 1;
export const KIND_CONTROL = 2;
export const VERSION = 1;
export const HASH_BYTES = 32;
export const MAX_DEPS = 64;
export const MAX_BODY_BYTES = 60 * 1024;
const SIG_DOMAIN = utf8.encode("pursuance/msg/v1\0");
const ZERO32 = new Uint8Array(32);
const NO_ID = new Uint8Array(0);

export interface EventFields {
  group: Uint8Array;
  epoch: number;
  author: Uint8Array;
  seq: number;
  /** Hash of the author's previous event; 32 zero bytes when seq = 1. */
  prev: Uint8Array;
  ts: number;
  deps: Uint8Array[];
  body: Uint8Array;
}

export interface SignedEvent extends EventFields {
  kind: "event";
  sig: Uint8Array;
  id: Uint8Array;
  /** The canonical bytes, kept so any member can carry the event verbatim. */
  bytes: Uint8Array;
}

export const ControlType = { want: 1, heads: 2 } as const;
export type ControlTypeName = keyof typeof ControlType;

export interface ControlFields {
  group: Uint8Array;
  epoch: number;
  author: Uint8Array;
  ts: number;
  ctype: ControlTypeName;
  payload: Uint8Array;
}

export interface SignedControl extends ControlFields {
  kind: "control";
  sig: Uint8Array;
  bytes: Uint8Array;
}

export type SignedMessage = SignedEvent | SignedControl;

export class DecodeError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = "DecodeError";
  }
}

export class EncodeError extends Error {
  constructor(message: string, readonly value: unknown) {
    super(message);
    this.name = "EncodeError";
  }
}

class Writer {
  private parts: Uint8Array[] = [];
  u8(n: number) {
    this.parts.push(Uint8Array.of(n));
  }
  u16(n: number) {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, n);
    this.parts.push(b);
  }
  u32(n: number) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    this.parts.push(b);
  }
  u64(n: number) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n));
    this.parts.push(b);
  }
  bytes(b: Uint8Array) {
    this.parts.push(b);
  }
  done(): Uint8Array {
    return concat(...this.parts);
  }
}

class Reader {
  private o = 0;
  private readonly dv: DataView;
  constructor(private readonly b: Uint8Array) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  get offset() {
    return this.o;
  }
  private need(n: number) {
    if (this.o + n > this.b.length) throw new DecodeError(`truncated: need ${n} bytes`, this.o);
  }
  u8() {
    this.need(1);
    return this.b[this.o++]!;
  }
  u16() {
    this.need(2);
    const v = this.dv.getUint16(this.o);
    this.o += 2;
    return v;
  }
  u32() {
    this.need(4);
    const v = this.dv.getUint32(this.o);
    this.o += 4;
    return v;
  }
  u64() {
    this.need(8);
    // Two u32 halves (no BigInt per field): beyond 2^53 − 1 exactly when the high half exceeds 2^21 − 1.
    const hi = this.dv.getUint32(this.o);
    if (hi > 0x1fffff) throw new DecodeError("u64 beyond 2^53", this.o);
    const v = hi * 0x100000000 + this.dv.getUint32(this.o + 4);
    this.o += 8;
    return v;
  }
  bytes(n: number) {
    this.need(n);
    const v = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return v;
  }
  end() {
    if (this.o !== this.b.length) throw new DecodeError(`${this.b.length - this.o} trailing bytes`, this.o);
  }
}

function checkFixed(name: string, b: Uint8Array, n: number) {
  if (!(b instanceof Uint8Array) || b.length !== n) throw new EncodeError(`${name} must be ${n} bytes`, b);
}
function checkUint(name: string, v: number, max: number) {
  if (!Number.isSafeInteger(v) || v < 0 || v > max) throw new EncodeError(`${name} must be an integer in 0..${max}`, v);
}

function eventUnsigned(f: EventFields): Uint8Array {
  checkFixed("group", f.group, 32);
  checkFixed("author", f.author, 32);
  checkFixed("prev", f.prev, 32);
  checkUint("epoch", f.epoch, 0xffffffff);
  checkUint("seq", f.seq, 0xffffffff);
  if (f.seq < 1) throw new EncodeError("seq starts at 1", f.seq);
  if ((f.seq === 1) !== equalBytes(f.prev, ZERO32)) throw new EncodeError("prev must be zero exactly when seq = 1", f.seq);
  checkUint("ts", f.ts, Number.MAX_SAFE_INTEGER);
  if (f.deps.length > MAX_DEPS) throw new EncodeError(`at most ${MAX_DEPS} deps`, f.deps.length);
  const deps = sortDeps(f.deps);
  if (f.body.length > MAX_BODY_BYTES) throw new EncodeError(`body over ${MAX_BODY_BYTES} bytes`, f.body.length);
  const w = new Writer();
  w.u8(KIND_EVENT);
  w.u8(VERSION);
  w.bytes(f.group);
  w.u32(f.epoch);
  w.bytes(f.author);
  w.u32(f.seq);
  w.bytes(f.prev);
  w.u64(f.ts);
  w.u16(deps.length);
  for (const d of deps) w.bytes(d);
  w.u32(f.body.length);
  w.bytes(f.body);
  return w.done();
}

/** Deps are a set: sorted ascending, duplicates removed, each 32 bytes. */
export function sortDeps(deps: Uint8Array[]): Uint8Array[] {
  for (const d of deps) checkFixed("dep", d, 32);
  const s = [...deps].sort(compareBytes);
  return s.filter((d, i) => i === 0 || compareBytes(d, s[i - 1]!) !== 0);
}

function controlUnsigned(f: ControlFields): Uint8Array {
  checkFixed("group", f.group, 32);
  checkFixed("author", f.author, 32);
  checkUint("epoch", f.epoch, 0xffffffff);
  checkUint("ts", f.ts, Number.MAX_SAFE_INTEGER);
  if (!Object.hasOwn(ControlType, f.ctype)) throw new EncodeError("unknown control type", f.ctype);
  if (f.payload.length > MAX_BODY_BYTES) throw new EncodeError(`payload over ${MAX_BODY_BYTES} bytes`, f.payload.length);
  const w = new Writer();
  w.u8(KIND_CONTROL);
  w.u8(VERSION);
  w.bytes(f.group);
  w.u32(f.epoch);
  w.bytes(f.author);
  w.u64(f.ts);
  w.u8(ControlType[f.ctype]);
  w.u32(f.payload.length);
  w.bytes(f.payload);
  return w.done();
}

export function signEvent(crypto: Crypto, f: EventFields, secretKey: Uint8Array): SignedEvent {
  const unsigned = eventUnsigned(f);
  const sig = crypto.sign(concat(SIG_DOMAIN, unsigned), secretKey);
  const bytes = concat(unsigned, sig);
  return { kind: "event", ...f, deps: sortDeps(f.deps), sig, bytes, id: crypto.hash(bytes, HASH_BYTES) };
}

export function signControl(crypto: Crypto, f: ControlFields, secretKey: Uint8Array): SignedControl {
  const unsigned = controlUnsigned(f);
  const sig = crypto.sign(concat(SIG_DOMAIN, unsigned), secretKey);
  return { kind: "control", ...f, sig, bytes: concat(unsigned, sig) };
}

/**
 * Decode untrusted bytes and verify the signature (`verify = false` only for
 * bytes this member verified before and stored itself). Throws DecodeError on any
 * structural fault; returns null when the signature does not verify.
 */
export function decodeAndVerify(crypto: Crypto, input: Uint8Array, verify = true): SignedMessage | null {
  // Bytes we stored ourselves are the store's answer to us alone: read in place, no copy.
  if (!verify) return finishDecoded(crypto, { msg: parseMessage(input).msg, sig: NO_ID, signed: NO_ID });
  const d = decodeSigned(input);
  if (verify && !crypto.verify(d.sig, d.signed, d.msg.author)) return null;
  return finishDecoded(crypto, d);
}

/**
 * A decoded message whose signature is not checked yet: `signed` is what the
 * signature must cover (SIG_DOMAIN ‖ the unsigned bytes), read in place from
 * the one buffer that also holds `msg.bytes`. An event's `id` is empty until
 * `finishDecoded` (which a caller runs only once the signature verified).
 */
export interface DecodedUnverified {
  msg: SignedMessage;
  sig: Uint8Array;
  signed: Uint8Array;
}

/**
 * Decode untrusted bytes without verifying: throws DecodeError on any
 * structural fault. One copy: the input goes into a buffer laid out as
 * SIG_DOMAIN ‖ bytes, so the signed message is a view of it, not a concat.
 */
export function decodeSigned(input: Uint8Array): DecodedUnverified {
  // Own the bytes: input is often a view into a padded buffer up to 64 KiB, which we must not pin.
  const D = SIG_DOMAIN.length;
  const whole = new Uint8Array(D + input.length);
  whole.set(SIG_DOMAIN, 0);
  whole.set(input, D);
  const { msg, sigAt } = parseMessage(whole.subarray(D));
  return { msg, sig: msg.sig, signed: whole.subarray(0, D + sigAt) };
}

/** The fields of one encoded message, as views of `bytes`; `sigAt` is where its signature starts. */
function parseMessage(bytes: Uint8Array): { msg: SignedMessage; sigAt: number } {
  const r = new Reader(bytes);
  const kind = r.u8();
  const version = r.u8();
  if (version !== VERSION) throw new DecodeError(`unsupported version ${version}`, 1);
  const group = r.bytes(32);
  const epoch = r.u32();
  const author = r.bytes(32);
  if (kind === KIND_EVENT) {
    const seq = r.u32();
    const prev = r.bytes(32);
    const ts = r.u64();
    if (seq < 1) throw new DecodeError("seq 0", r.offset);
    if ((seq === 1) !== equalBytes(prev, ZERO32)) throw new DecodeError("prev must be zero exactly when seq = 1", r.offset);
    const n = r.u16();
    if (n > MAX_DEPS) throw new DecodeError(`too many deps: ${n}`, r.offset);
    const deps: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const d = r.bytes(32);
      if (i > 0 && compareBytes(d, deps[i - 1]!) <= 0) throw new DecodeError("deps not strictly ascending", r.offset);
      deps.push(d);
    }
    const len = r.u32();
    if (len > MAX_BODY_BYTES) throw new DecodeError(`body too long: ${len}`, r.offset);
    const body = r.bytes(len);
    const sigAt = r.offset;
    const sig = r.bytes(64);
    r.end();
    const msg: SignedEvent = { kind: "event", group, epoch, author, seq, prev, ts, deps, body, sig, bytes, id: NO_ID };
    return { msg, sigAt };
  }
  if (kind === KIND_CONTROL) {
    const ts = r.u64();
    const code = r.u8();
    const ctype = (Object.keys(ControlType) as ControlTypeName[]).find((k) => ControlType[k] === code);
    if (!ctype) throw new DecodeError(`unknown control type ${code}`, r.offset - 1);
    const len = r.u32();
    if (len > MAX_BODY_BYTES) throw new DecodeError(`payload too long: ${len}`, r.offset);
    const payload = r.bytes(len);
    const sigAt = r.offset;
    const sig = r.bytes(64);
    r.end();
    return { msg: { kind: "control", group, epoch, author, ts, ctype, payload, sig, bytes }, sigAt };
  }
  throw new DecodeError(`unknown message kind ${kind}`, 0);
}

/** The message of a decoded one whose signature verified: an event gets its id (the hash of its bytes) here. */
export function finishDecoded(crypto: Crypto, d: DecodedUnverified): SignedMessage {
  if (d.msg.kind === "event") d.msg.id = crypto.hash(d.msg.bytes, HASH_BYTES);
  return d.msg;
}
