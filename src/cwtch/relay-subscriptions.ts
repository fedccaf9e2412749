// Who listens to what on a relay, and the live push of newly stored frames to
// them; the frame texts are built by hand, once per frame, for all listeners.

/** A connection as the fan-out sees it. */
export interface Listener {
  /** Subscribed to every tag. */
  readonly all: boolean;
  pushText(text: string): void;
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
    // of { op, seq, tag, blob } (test/relay-server.test.ts compares them).
    const text = frameText(tag, seq, blob);
    for (const c of this.all) c.pushText(text);
    // A connection subscribed to all and to this tag gets the frame once.
    if (tagged) for (const c of tagged) if (!c.all) c.pushText(text);
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

