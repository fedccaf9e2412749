// Who listens to what on a relay, and the live push of newly stored frames to
// them; each frame's message is built by hand, once per frame, as the bytes
// of a whole WebSocket frame that every listener's socket writes as they are.
import { asciiWire, wireFor, wireHeadBytes } from "./relay-wire.js";

/** A connection as the fan-out sees it. */
export interface Listener {
  /** Subscribed to every tag. */
  readonly all: boolean;
  /** A live frame as one whole WebSocket frame (relay-wire.ts), shared by every listener: written as it is, never changed. */
  pushFrame(wire: Buffer): void;
}

/** Who listens to what, and the live push of newly stored frames. */
export class Subscriptions {
  readonly all = new Set<Listener>();
  readonly byTag = new Map<string, Set<Listener>>();


  /** `blob` is canonical base64url (checked on post, or written by toB64): nothing in it needs escaping. */
  push(tag: string, seq: number, blob: string): void {
    const tagged = this.byTag.get(tag);
    if (this.all.size === 0 && !tagged?.size) return; // no copy, no text: the common case under ingest
    // Built once for all, by hand: JSON.stringify would scan the 1 KiB+ blob
    // for characters to escape on every frame. Same text as JSON.stringify
    // of { op, seq, tag, blob } (test/relay-frame-text.test.ts compares them).
    // Bytes, not text: a text message is encoded again by each socket it is sent on.
    const wire = frameWire(tag, seq, blob);
    for (const c of this.all) c.pushFrame(wire);
    // A connection subscribed to all and to this tag gets the frame once.
    if (tagged) for (const c of tagged) if (!c.all) c.pushFrame(wire);
  }
}

/** `JSON.stringify({ op: "posted", rid, seq, duplicate, ack })` (ack is base64url), the answer to every post. */
export function postedText(rid: number, seq: number, duplicate: boolean, ack: string): string {
  return `{"op":"posted","rid":${rid},"seq":${seq},"duplicate":${duplicate},"ack":"${ack}"}`;
}

/** `JSON.stringify({ op: "frame", seq, tag, blob })` for a base64url blob, without scanning the blob. */
export function frameText(tag: string, seq: number, blob: string): string {
  return `{"op":"frame","seq":${seq},"tag":${JSON.stringify(tag)},"blob":"${blob}"}`;
}

/** `postedText` as one whole WebSocket text frame (relay-wire.ts; the text is ASCII: numbers, a boolean, base64url). */
export function postedWire(rid: number, seq: number, duplicate: boolean, ack: string): Buffer {
  return asciiWire(postedText(rid, seq, duplicate, ack));
}

/**
 * `frameText` as one whole WebSocket text frame (relay-wire.ts), its UTF-8
 * built without the text: the head (which holds the tag, JSON-escaped)
 * encoded, then the blob copied in as the ASCII it is (canonical base64url),
 * instead of flattening head and blob into one string and encoding all of it.
 */
export function frameWire(tag: string, seq: number, blob: string): Buffer {
  const head = `{"op":"frame","seq":${seq},"tag":${JSON.stringify(tag)},"blob":"`;
  const n = Buffer.byteLength(head, "utf8");
  const payload = n + blob.length + 2;
  const out = wireFor(payload);
  const at = wireHeadBytes(payload);
  out.write(head, at, n, "utf8");
  out.write(blob, at + n, blob.length, "latin1");
  out[at + payload - 2] = 0x22; // "
  out[at + payload - 1] = 0x7d; // }
  return out;
}
