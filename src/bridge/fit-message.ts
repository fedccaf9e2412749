// A Matrix event may not exceed 65,536 bytes (the whole PDU, signatures and
// all), and a homeserver refuses a bigger one with M_TOO_LARGE forever. The
// bridge sends nothing it has not fitted: a message too long is cut, says so,
// and says where the rest is.
import { esc } from "./mirror-render.js";

/** What message content may take, leaving room for the PDU around it (ids, hashes, signatures, relations). */
export const MAX_CONTENT_BYTES = 56_000;

const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v), "utf8");

/**
 * `content` itself when it fits; else with `body` cut to fit, a marker naming
 * `more` (e.g. "!task show 3"), and `formatted_body` rebuilt from the cut text.
 */
export function fitContent<C extends { body: string; formatted_body?: string }>(content: C, more?: string, limit = MAX_CONTENT_BYTES): C {
  if (bytes(content) <= limit) return content;
  const marker = `\n… (cut: too long for one Matrix message; ${more ? `the whole text: ${more}` : "the whole text is in the pursuance log"})`;
  const chars = Array.from(content.body);
  let n = chars.length;
  for (;;) {
    const body = chars.slice(0, n).join("") + marker;
    const fitted = { ...content, body, ...(content.formatted_body !== undefined ? { formatted_body: esc(body).replace(/\n/g, "<br/>") } : {}) };
    const size = bytes(fitted);
    if (size <= limit || n === 0) return fitted;
    n = Math.max(0, Math.min(n - 1, Math.floor((n * limit) / size) - 16));
  }
}
