// Text from people (display names, titles, comments) shown in a room can
// carry control characters, bidi overrides and newlines that make one line
// look like another ("alice\nalice removed bob", "‮txet"). Names become one
// line of visible text; bodies keep their newlines and lose the rest.
import { withoutHidden } from "../pursuance/names.js";

/** Bidi embeddings, overrides, isolates and marks: they reorder what is shown. */
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
/** C0 (but tab and newline), DEL and C1 controls. */
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
/** Anything that breaks a line or hides a character, for names. */
const NAME_BREAKS = /[\u0000-\u001F\u007F-\u009F\u2028\u2029\u200B\uFEFF]/g;

export const MAX_NAME = 64;

/** A name as one line of plain, visible text (never empty). */
export function cleanName(s: string, max = MAX_NAME): string {
  // Then the rest of what renders as nothing (zero-width joiners, soft hyphens, variation selectors…): a
  // display name becomes a member name, and the log refuses names holding them (pursuance/names.ts).
  const one = withoutHidden(s.replace(BIDI, "").replace(NAME_BREAKS, " ")).replace(/\s+/gu, " ").trim();
  const chars = Array.from(one);
  const cut = chars.length > max ? chars.slice(0, max - 1).join("") + "…" : one;
  return cut === "" ? "?" : cut;
}

/** A message body: newlines and tabs stay, other controls and bidi overrides go. */
export function cleanBody(s: string): string {
  return s.replace(/\r\n?/g, "\n").replace(/[\u2028\u2029]/g, "\n").replace(BIDI, "").replace(CONTROL, "");
}
