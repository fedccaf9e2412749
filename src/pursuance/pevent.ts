// The edge between the protocol and the domain: a verified, causally
// delivered group event becomes a PEvent, its body parsed once here.
import { toHex } from "../cwtch/bytes.js";
import type { SignedEvent } from "../cwtch/message.js";
import type { PEvent } from "./apply-common.js";
import { BodyError, MAX_TS, type Body } from "./events.js";
import { parseBody } from "./events-parse.js";

/**
 * `shared`, when given, maps hex text to the one string kept for it: a batch's authors and
 * the parents that are ids earlier in the batch then point at one copy (a
 * 64-character hex string costs ~80 bytes, and a 100k-event log names each
 * id about three times).
 */
function one(shared: Map<string, string> | null, hex: string): string {
  if (!shared) return hex;
  const held = shared.get(hex);
  if (held !== undefined) return held;
  shared.set(hex, hex);
  return hex;
}

function convert(e: SignedEvent, shared: Map<string, string> | null): PEvent {
  const parents: string[] = [];
  for (const d of e.deps) parents.push(one(shared, toHex(d)));
  if (e.seq > 1) parents.push(one(shared, toHex(e.prev)));
  const id = one(shared, toHex(e.id));
  const author = one(shared, toHex(e.author));
  // Object literals of one shape, not spreads: each PEvent keeps its fields in the object itself.
  // The wire allows any u64 below 2^53; a time no Date can hold is refused here, once, whatever the body.
  if (e.ts > MAX_TS) return { id, author, seq: e.seq, ts: e.ts, parents, body: null, bodyError: `event ts ${e.ts} out of range (0..${MAX_TS})` };
  let body: Body;
  try {
    body = parseBody(e.body);
  } catch (err) {
    return { id, author, seq: e.seq, ts: e.ts, parents, body: null, bodyError: err instanceof BodyError ? `${err.message}: ${JSON.stringify(err.value)?.slice(0, 60)}` : String(err) };
  }
  // Most events name a task by its id: the same text as that task's event id.
  if (shared && "task" in body && typeof body.task === "string") body.task = one(shared, body.task);
  return { id, author, seq: e.seq, ts: e.ts, parents, body };
}

export function toPEvent(e: SignedEvent): PEvent {
  return convert(e, null);
}

/** A batch of events as PEvents sharing one copy of each hex id and author among them. */
export function toPEvents(events: Iterable<SignedEvent>): PEvent[] {
  const shared = new Map<string, string>();
  const out: PEvent[] = [];
  for (const e of events) out.push(convert(e, shared));
  return out;
}

/**
 * Point an event's author and parents at strings already held for them (equal
 * text, one copy): each parent is some event's id in `events`, each author one
 * of a few members in `authors` (which learns new ones). A fold of 100k events
 * then keeps 64-character hex once per event instead of three or four times.
 * A caller's frozen PEvent keeps its own copies: sharing saves memory, it
 * changes no value.
 */
export function shareHex(e: PEvent, events: ReadonlyMap<string, PEvent>, authors: Map<string, string>): void {
  const author = authors.get(e.author);
  if (author === undefined) authors.set(e.author, e.author);
  else if (!Object.isFrozen(e)) e.author = author;
  const ps = e.parents;
  if (Object.isFrozen(ps)) return;
  for (let k = 0; k < ps.length; k++) {
    const held = events.get(ps[k]!);
    if (held !== undefined) ps[k] = held.id;
  }
}
