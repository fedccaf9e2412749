// The edge between the protocol and the domain: a verified, causally
// delivered group event becomes a PEvent, its body parsed once here.
import { toHex } from "../cwtch/bytes.js";
import type { SignedEvent } from "../cwtch/message.js";
import type { PEvent } from "./apply-common.js";
import { BodyError, MAX_TS } from "./events.js";
import { parseBody } from "./events-parse.js";

export function toPEvent(e: SignedEvent): PEvent {
  const parents = e.deps.map(toHex);
  if (e.seq > 1) parents.push(toHex(e.prev));
  const base = { id: toHex(e.id), author: toHex(e.author), seq: e.seq, ts: e.ts, parents };
  // The wire allows any u64 below 2^53; a time no Date can hold is refused here, once, whatever the body.
  if (e.ts > MAX_TS) return { ...base, body: null, bodyError: `event ts ${e.ts} out of range (0..${MAX_TS})` };
  try {
    return { ...base, body: parseBody(e.body) };
  } catch (err) {
    return { ...base, body: null, bodyError: err instanceof BodyError ? `${err.message}: ${JSON.stringify(err.value)?.slice(0, 60)}` : String(err) };
  }
}
