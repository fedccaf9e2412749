// Who listens to what on a relay, and the live push of newly stored frames to
// them; each frame's message is built by hand, once per frame, as bytes that
// every listener's socket sends as they are (a text message).

/** A connection as the fan-out sees it. */
export interface Listener {
  /** Subscribed to every tag. */
  readonly all: boolean;
  /** A live frame's message, UTF-8, shared by every listener: sent as is, never changed. */
  pushFrame(message: Buffer): void;
}

/** ws.send's options for bytes that are a text message (UTF-8): the socket sends them as they are. */
export const TEXT = { binary: false } as const;

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
    const message = frameMessage(tag, seq, blob);
    for (const c of this.all) c.pushFrame(message);
    // A connection subscribed to all and to this tag gets the frame once.
    if (tagged) for (const c of tagged) if (!c.all) c.pushFrame(message);
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

/** `postedText` as the UTF-8 bytes a socket sends (all ASCII: numbers, a boolean, base64url). */
export function postedMessage(rid: number, seq: number, duplicate: boolean, ack: string): Buffer {
  return Buffer.from(postedText(rid, seq, duplicate, ack), "latin1");
}

/**
 * `frameText` as UTF-8 bytes, without building the text: the head (which
 * holds the tag, JSON-escaped) encoded, then the blob copied in as the ASCII
 * it is (canonical base64url), instead of flattening head and blob into one
 * string and encoding all of it.
 */
export function frameMessage(tag: string, seq: number, blob: string): Buffer {
  const head = `{"op":"frame","seq":${seq},"tag":${JSON.stringify(tag)},"blob":"`;
  const n = Buffer.byteLength(head, "utf8");
  const out = Buffer.allocUnsafe(n + blob.length + 2);
  out.write(head, 0, n, "utf8");
  out.write(blob, n, blob.length, "latin1");
  out[n + blob.length] = 0x22; // "
  out[n + blob.length + 1] = 0x7d; // }
  return out;
}
