// Payloads of the two control messages members use to find and fill gaps:
// `heads` (SSB-style "latest seq per author", so withheld tails are noticed)
// and `want` (ids and author ranges a member lacks; anyone holding them may
// re-post, since signed events are self-authenticating).
import { utf8 } from "./bytes.js";
import type { AuthorRange } from "./event-log.js";

export interface HeadsPayload {
  heads: Array<{ author: string; seq: number }>;
}
export interface WantPayload {
  ids: string[];
  ranges: AuthorRange[];
}

export const MAX_CONTROL_ITEMS = 512;
const HEX32 = /^[0-9a-f]{64}$/;

export class ControlPayloadError extends Error {
  constructor(message: string, readonly value: unknown) {
    super(message);
    this.name = "ControlPayloadError";
  }
}

const isSeq = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 1 && x <= 0xffffffff;

function parseJson(b: Uint8Array): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(utf8.decode(b));
  } catch {
    throw new ControlPayloadError("control payload is not UTF-8 JSON", b.length);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ControlPayloadError("control payload must be an object", v);
  return v as Record<string, unknown>;
}

function list(v: unknown, name: string): unknown[] {
  if (!Array.isArray(v)) throw new ControlPayloadError(`${name} must be an array`, v);
  if (v.length > MAX_CONTROL_ITEMS) throw new ControlPayloadError(`${name} has over ${MAX_CONTROL_ITEMS} items`, v.length);
  return v;
}

export function encodeHeads(p: HeadsPayload): Uint8Array {
  return utf8.encode(JSON.stringify({ heads: p.heads.slice(0, MAX_CONTROL_ITEMS) }));
}

export function decodeHeads(b: Uint8Array): HeadsPayload {
  const v = parseJson(b);
  const heads = list(v.heads, "heads").map((h) => {
    const o = h as Record<string, unknown>;
    if (typeof o !== "object" || o === null || typeof o.author !== "string" || !HEX32.test(o.author) || !isSeq(o.seq)) {
      throw new ControlPayloadError("bad head entry", h);
    }
    return { author: o.author, seq: o.seq };
  });
  return { heads };
}

export function encodeWant(p: WantPayload): Uint8Array {
  return utf8.encode(JSON.stringify({ ids: p.ids.slice(0, MAX_CONTROL_ITEMS), ranges: p.ranges.slice(0, MAX_CONTROL_ITEMS) }));
}

export function decodeWant(b: Uint8Array): WantPayload {
  const v = parseJson(b);
  const ids = list(v.ids ?? [], "ids").map((id) => {
    if (typeof id !== "string" || !HEX32.test(id)) throw new ControlPayloadError("bad id", id);
    return id;
  });
  const ranges = list(v.ranges ?? [], "ranges").map((r) => {
    const o = r as Record<string, unknown>;
    if (typeof o !== "object" || o === null || typeof o.author !== "string" || !HEX32.test(o.author) || !isSeq(o.from) || !isSeq(o.to) || o.to < o.from) {
      throw new ControlPayloadError("bad range", r);
    }
    return { author: o.author, from: o.from, to: o.to };
  });
  return { ids, ranges };
}
