// The relay wire protocol: JSON text frames over one WebSocket. The relay sees
// only opaque `{tag, blob}` pairs (base64url) and hands out per-relay sequence
// numbers; it knows no users, groups or keys.
//
// Cursor semantics: `seq` numbers start at 1 and only grow. A fetch `since: N`
// returns frames with seq > N. When frames after N were already evicted, the
// relay says so with a `pruned` frame (naming the oldest seq it still holds)
// before replaying what it has, so a client never mistakes loss for silence.

import { createHash } from "node:crypto";

export const RELAY_PROTOCOL_VERSION = 1;

/** A post acknowledgement's binding (postAck): 16 bytes, base64url without padding. */
const ACK_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/** Tags are 16-byte keyed hashes, base64url without padding (22 chars). */
export const TAG_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

// ---- client → relay ----------------------------------------------------------

export type ClientFrame =
  | { op: "post"; rid: number; tag: string; blob: string; pow?: string }
  | { op: "fetch"; rid: number; tags?: string[]; since?: number; limit?: number }
  | { op: "subscribe"; rid: number; tags?: string[] }
  | { op: "unsubscribe"; rid: number; tags?: string[] }
  | { op: "ping"; rid: number };

// ---- relay → client ----------------------------------------------------------

export type ErrorCode =
  | "bad-frame"
  | "unknown-op"
  | "too-large"
  | "rate-limited"
  | "pow-required"
  | "pow-invalid"
  | "too-many-subscriptions"
  | "overloaded"
  | "internal";

export type ServerFrame =
  | {
      op: "hello";
      version: number;
      /** Oldest seq still held (0 when empty). */
      oldest: number;
      /** Highest seq ever assigned (0 when none). */
      latest: number;
      powBits: number;
      maxBlobBytes: number;
      /** Names the store's numbering; a different one means cursors from before do not apply. "" if unknown. */
      instance: string;
      /** 1: every `posted` on this connection carries `ack` (see postAck); absent from relays that predate it. */
      acks?: 1;
    }
  /**
   * `duplicate`: the relay already held this exact tag+blob (a re-sent post) and names its seq:
   * the post is held, so for the poster this is success like any other `posted`.
   */
  | { op: "posted"; rid: number; seq: number; duplicate: boolean; ack?: string }
  | { op: "frame"; seq: number; tag: string; blob: string; rid?: number }
  | { op: "pruned"; rid: number; requested: number; oldest: number }
  | { op: "caught-up"; rid: number; latest: number }
  | { op: "subscribed"; rid: number; tags: number | "all" }
  | { op: "pong"; rid: number }
  /** `powBits` on pow-required/pow-invalid: the difficulty required now (it rises under load). */
  | { op: "error"; rid?: number; code: ErrorCode; message: string; powBits?: number };

export class FrameError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly rid?: number,
  ) {
    super(message);
    this.name = "FrameError";
  }
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function uint(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

function tags(x: unknown, rid: number, max: number): string[] | undefined {
  if (x === undefined) return undefined;
  if (!Array.isArray(x)) throw new FrameError("bad-frame", "tags must be an array of strings", rid);
  if (x.length > max) throw new FrameError("too-many-subscriptions", `at most ${max} tags per request, got ${x.length}`, rid);
  for (const t of x) {
    if (typeof t !== "string" || !TAG_PATTERN.test(t)) {
      throw new FrameError("bad-frame", `bad tag ${JSON.stringify(t)?.slice(0, 80)}`, rid);
    }
  }
  return x as string[];
}

/** Validate one untrusted client frame. Throws FrameError naming what is wrong. */
export function parseClientFrame(text: string, maxTagsPerRequest = 256): ClientFrame {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new FrameError("bad-frame", "frame is not JSON");
  }
  if (!isObj(v)) throw new FrameError("bad-frame", "frame must be a JSON object");
  const rid = v.rid;
  if (!uint(rid)) throw new FrameError("bad-frame", "rid must be a non-negative integer");
  switch (v.op) {
    case "post": {
      if (typeof v.tag !== "string" || !TAG_PATTERN.test(v.tag)) throw new FrameError("bad-frame", "post.tag must be base64url", rid);
      // The alphabet (and canonical form) is checked where the blob is decoded, by re-encoding it:
      // one pass fewer over every post than a regex here.
      if (typeof v.blob !== "string" || v.blob.length === 0) throw new FrameError("bad-frame", "post.blob must be non-empty base64url", rid);
      if (v.pow !== undefined && (typeof v.pow !== "string" || !/^[A-Za-z0-9_-]{1,24}$/.test(v.pow))) {
        throw new FrameError("bad-frame", "post.pow must be base64url of at most 16 bytes", rid);
      }
      return { op: "post", rid, tag: v.tag, blob: v.blob, ...(v.pow !== undefined ? { pow: v.pow as string } : {}) };
    }
    case "fetch": {
      if (v.since !== undefined && !uint(v.since)) throw new FrameError("bad-frame", "fetch.since must be a non-negative integer", rid);
      if (v.limit !== undefined && !(uint(v.limit) && v.limit > 0)) throw new FrameError("bad-frame", "fetch.limit must be a positive integer", rid);
      const t = tags(v.tags, rid, maxTagsPerRequest);
      return {
        op: "fetch",
        rid,
        ...(t ? { tags: t } : {}),
        ...(v.since !== undefined ? { since: v.since as number } : {}),
        ...(v.limit !== undefined ? { limit: v.limit as number } : {}),
      };
    }
    case "subscribe":
    case "unsubscribe": {
      const t = tags(v.tags, rid, maxTagsPerRequest);
      return { op: v.op, rid, ...(t ? { tags: t } : {}) };
    }
    case "ping":
      return { op: "ping", rid };
    default:
      throw new FrameError("unknown-op", `unknown op ${JSON.stringify(v.op)?.slice(0, 40)}`, rid);
  }
}

/** Validate one untrusted relay frame (the client side of the edge). */
export function parseServerFrame(text: string): ServerFrame {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new FrameError("bad-frame", "relay frame is not JSON");
  }
  if (!isObj(v)) throw new FrameError("bad-frame", "relay frame must be an object");
  const ridOk = (x: unknown) => uint(x);
  switch (v.op) {
    case "hello":
      if (uint(v.version) && uint(v.oldest) && uint(v.latest) && uint(v.powBits) && uint(v.maxBlobBytes)) {
        const instance = typeof v.instance === "string" && /^[0-9a-f]{1,64}$/.test(v.instance) ? v.instance : "";
        return { op: "hello", version: v.version, oldest: v.oldest, latest: v.latest, powBits: v.powBits, maxBlobBytes: v.maxBlobBytes, instance, ...(v.acks === 1 ? { acks: 1 as const } : {}) };
      }
      break;
    case "posted":
      if (ridOk(v.rid) && uint(v.seq) && typeof v.duplicate === "boolean") {
        // A malformed ack is left out: where the hello promised one, its absence refuses the answer.
        const ack = typeof v.ack === "string" && ACK_PATTERN.test(v.ack) ? { ack: v.ack } : {};
        return { op: "posted", rid: v.rid as number, seq: v.seq, duplicate: v.duplicate, ...ack };
      }
      break;
    case "frame":
      if (uint(v.seq) && typeof v.tag === "string" && TAG_PATTERN.test(v.tag) && typeof v.blob === "string" && /^[A-Za-z0-9_-]+$/.test(v.blob)) {
        return { op: "frame", seq: v.seq, tag: v.tag, blob: v.blob, ...(ridOk(v.rid) ? { rid: v.rid as number } : {}) };
      }
      break;
    case "pruned":
      if (ridOk(v.rid) && uint(v.requested) && uint(v.oldest)) return { op: "pruned", rid: v.rid as number, requested: v.requested, oldest: v.oldest };
      break;
    case "caught-up":
      if (ridOk(v.rid) && uint(v.latest)) return { op: "caught-up", rid: v.rid as number, latest: v.latest };
      break;
    case "subscribed":
      if (ridOk(v.rid) && (uint(v.tags) || v.tags === "all")) return { op: "subscribed", rid: v.rid as number, tags: v.tags as number | "all" };
      break;
    case "pong":
      if (ridOk(v.rid)) return { op: "pong", rid: v.rid as number };
      break;
    case "error":
      if (typeof v.code === "string" && typeof v.message === "string") {
        return {
          op: "error",
          code: v.code as ErrorCode,
          message: v.message,
          ...(ridOk(v.rid) ? { rid: v.rid as number } : {}),
          ...(uint(v.powBits) && v.powBits <= 64 ? { powBits: v.powBits } : {}),
        };
      }
      break;
  }
  throw new FrameError("bad-frame", `malformed relay frame op=${JSON.stringify(v.op)?.slice(0, 40)}`);
}

/** The domain of postAck's hash. */
export const ACK_DOMAIN = "pursuance/relay/ack/v1";

/**
 * What binds a `posted` answer to the frame it acknowledges and the seq it
 * names: base64url of the first 16 bytes of SHA-256("pursuance/relay/ack/v1"
 * ‖ u64be(seq) ‖ tag ‖ 0x00 ‖ blob) (tag as UTF-8, blob decoded). A client
 * takes a `posted` as success only when this matches its own frame, so an
 * answer bent on the way (another request's rid, another seq) or the relay's
 * answer to a copy tampered on the way in is not mistaken for its post being
 * held. It is no signature: whoever saw the frame can compute it (a lying
 * relay still can lie; the group protocol's heads and wants repair that).
 */
export function postAck(seq: number, tag: string, blob: Uint8Array): string {
  const n = Buffer.alloc(8);
  n.writeBigUInt64BE(BigInt(seq));
  return createHash("sha256").update(ACK_DOMAIN).update(n).update(tag, "utf8").update("\0").update(blob).digest().subarray(0, 16).toString("base64url");
}

/**
 * Proof-of-work stamp: BLAKE2b-256("pursuance/pow/v2" ‖ BLAKE2b-256("pursuance/pow/v2/frame"
 * ‖ u32be(len tag) ‖ tag ‖ u32be(len blob) ‖ blob) ‖ nonce) must start with `bits` zero
 * bits (tag as UTF-8, blob decoded, lengths in bytes; see pow.ts). The relay's
 * required `bits` rises under flood: hello and pow errors name it. Binding the stamp to the
 * frame means a stamp cannot be reused for another post, and the length
 * prefixes mean bytes cannot be shifted between tag, blob and nonce to make
 * one stamp fit a different frame.
 */
export function leadingZeroBits(h: Uint8Array): number {
  let n = 0;
  for (const byte of h) {
    if (byte === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(byte) - 24;
  }
  return n;
}
