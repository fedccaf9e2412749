// The text form shared by the tokens people copy around (request addresses,
// link tokens): a fixed prefix, then base64url JSON. Decoding says which part
// is wrong, in the words of the token's own kind, and goes no further: each
// kind validates its own fields.
import { fromB64, toB64, utf8 } from "../cwtch/bytes.js";

export function encodeTokenText(prefix: string, value: unknown): string {
  return prefix + toB64(utf8.encode(JSON.stringify(value)));
}

/** The token's JSON object; `fail(message, value)` builds the kind's own error. */
export function decodeTokenText(prefix: string, text: string, kind: string, fail: (message: string, value: unknown) => Error): Record<string, unknown> {
  const t = text.trim();
  if (!t.startsWith(prefix)) throw fail(`not a ${kind} (it starts with ${prefix}): ${JSON.stringify(t.slice(0, 40))}`, t);
  let o: unknown;
  try {
    o = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fromB64(t.slice(prefix.length))));
  } catch {
    throw fail(`a ${kind} that does not decode (copied only in part?)`, t);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw fail(`a ${kind} that is not an object`, o);
  return o as Record<string, unknown>;
}

const RELAY = /^wss?:\/\//;

/** A non-empty list of ws:// or wss:// URLs, as tokens carry them. */
export const isRelayList = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every((r) => typeof r === "string" && RELAY.test(r));
