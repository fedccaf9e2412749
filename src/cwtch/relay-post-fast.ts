// The strict fast path of parseClientFrame (relay-protocol.ts) for the one
// frame a relay gets by the tens of thousands: a `post` spelled as clients
// spell it (JSON.stringify of op, rid, tag, blob and pow, in any order, no
// whitespace, no escapes). It reads the members with native string scans
// and decodes the blob straight into the post's buffer (PostBytes), instead
// of JSON.parse copying the ~1.4 KB blob into a new string and building an
// object, with the blob decoded afterwards.
//
// It never refuses anything itself: whatever is not such a post, down to an
// escape, a space or a repeated key, gets null and goes to parseClientFrame,
// which decides it (its errors included). So the relay accepts and refuses
// exactly what it did; test/relay-protocol-fast.test.ts holds the two paths
// to the same answer on a corpus and on generated frames.
//
// Why the blob needs no scan of its own: JSON would read a backslash or a
// control character in it differently from the raw text, but both are
// outside base64's alphabet, and the canonical decode refuses any string with
// such a character (the decoder skips it, so the length does not add up).
// A blob that decodes is therefore its own JSON value.
import { PostBytes } from "./relay-post-bytes.js";
import { TAG_PATTERN, type ClientFrame } from "./relay-protocol.js";

export type PostFrame = Extract<ClientFrame, { op: "post" }>;

const POW_PATTERN = /^[A-Za-z0-9_-]{1,24}$/;
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * `text` as parseClientFrame would return it, with the blob decoded, when it
 * is a well-formed post in the clients' spelling whose blob is canonical and
 * at most `maxB64` characters long; otherwise null (parseClientFrame decides).
 */
export function parsePostFast(text: string, maxB64: number): { frame: PostFrame; bytes: PostBytes } | null {
  if (text.charCodeAt(0) !== 0x7b || text.charCodeAt(text.length - 1) !== 0x7d) return null;
  let op = false;
  let rid = -1;
  let tag: string | undefined;
  let blob: string | undefined;
  let pow: string | undefined;
  let i = 1;
  for (;;) {
    // "key":
    if (text.charCodeAt(i) !== QUOTE) return null;
    const k = text.indexOf('"', i + 1);
    if (k < 0 || text.charCodeAt(k + 1) !== COLON) return null;
    const key = text.slice(i + 1, k);
    i = k + 2;
    if (key === "rid") {
      // 0, or up to 15 digits without a leading zero: always a safe integer. Anything else (-0, 1e3, 1.0) is JSON.parse's.
      if (rid >= 0) return null;
      const start = i;
      while (i < text.length && text.charCodeAt(i) >= ZERO && text.charCodeAt(i) <= NINE) i++;
      const n = i - start;
      if (n === 0 || n > 15 || (n > 1 && text.charCodeAt(start) === ZERO)) return null;
      rid = Number(text.slice(start, i));
    } else if (key === "op") {
      if (op || !text.startsWith('"post"', i)) return null;
      op = true;
      i += 6;
    } else {
      // A string: up to the next quote (an escaped quote ends the slice early, and the slice then fails its check).
      if (text.charCodeAt(i) !== QUOTE) return null;
      const end = text.indexOf('"', i + 1);
      if (end < 0) return null;
      const v = text.slice(i + 1, end);
      i = end + 1;
      if (key === "tag") {
        if (tag !== undefined || !TAG_PATTERN.test(v)) return null;
        tag = v;
      } else if (key === "blob") {
        if (blob !== undefined || v.length === 0 || v.length > maxB64) return null;
        blob = v;
      } else if (key === "pow") {
        if (pow !== undefined || !POW_PATTERN.test(v)) return null;
        pow = v;
      } else return null;
    }
    const c = text.charCodeAt(i);
    if (c === COMMA) i++;
    else if (i === text.length - 1) break; // the closing brace, checked first
    else return null;
  }
  if (!op || rid < 0 || tag === undefined || blob === undefined) return null;
  const bytes = PostBytes.decode(tag, blob);
  if (bytes === null) return null;
  return { frame: { op: "post", rid, tag, blob, ...(pow !== undefined ? { pow } : {}) }, bytes };
}
