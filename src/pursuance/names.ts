// Member names as people read them. Two names that look alike on a screen are
// one name to the changed-key flags (identity.ts), or an impostor borrows a
// vouched name with a Cyrillic "а"; and a name that hides or reorders what is
// shown (zero-width, bidi controls) is refused at the edge (events.ts), since
// no comparison can be trusted to see what a reader sees.

/**
 * Characters a member name may not contain: controls (Cc), format characters
 * (Cf: zero-width spaces and joiners, bidi marks, embeddings, overrides and
 * isolates, soft hyphen, BOM), line and paragraph separators, and the other
 * default-ignorable code points (variation selectors, the combining grapheme
 * joiner, Hangul fillers…), which render as nothing.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\p{Bidi_Control}]/u;
const ALL_HIDDEN = new RegExp(HIDDEN.source, "gu");

/** Why this name may not be a member name, or null. */
export function nameProblem(name: string): string | null {
  const m = HIDDEN.exec(name);
  return m ? `name must not contain invisible, control or text-direction characters (U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")})` : null;
}

/** The name without the characters nameProblem refuses: what a client that takes names from elsewhere (Matrix display names) signs. */
export function withoutHidden(name: string): string {
  return name.replace(ALL_HIDDEN, "");
}

/**
 * Look-alikes, after NFKC and lower-casing (so full-width and other
 * compatibility forms are already Latin): Cyrillic and Greek letters that
 * render as Latin ones, and the digits and strokes read as letters. i, l, 1
 * and | are one class because names compare without case and a capital I
 * looks like an l ("AIice"); so "bili" and "bill" are one name here. Not a
 * full Unicode confusables table: other scripts' look-alikes and multi-letter
 * ones ("rn" for "m") are not covered.
 */
const LOOKALIKE: Record<string, string> = {
  // Cyrillic
  "\u0430": "a", "\u0432": "b", "\u0435": "e", "\u0451": "e", "\u043a": "k", "\u043c": "m", "\u043d": "h", "\u043e": "o",
  "\u0440": "p", "\u0441": "c", "\u0442": "t", "\u0443": "y", "\u0445": "x", "\u0456": "l", "\u0457": "l", "\u0458": "j",
  "\u0455": "s", "\u04bb": "h", "\u0501": "d", "\u051b": "q", "\u051d": "w", "\u04cf": "l", "\u0261": "g",
  // Greek
  "\u03b1": "a", "\u03b2": "b", "\u03b5": "e", "\u03b7": "n", "\u03b9": "l", "\u03ba": "k", "\u03bd": "v", "\u03bf": "o",
  "\u03c1": "p", "\u03c4": "t", "\u03c5": "u", "\u03c7": "x", "\u03b6": "z", "\u03bc": "u",
  // Latin, digits and strokes
  i: "l", "\u0131": "l", "1": "l", "|": "l", "0": "o",
};

/**
 * The form two names are compared in: NFKC, lower case, accents dropped,
 * hidden characters dropped (older logs may hold them), look-alikes mapped,
 * spaces collapsed. Equal skeletons are one name to the changed-key flags.
 */
export function nameSkeleton(name: string): string {
  const base = name.normalize("NFKC").toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "").replace(ALL_HIDDEN, "");
  let out = "";
  for (const ch of base) out += LOOKALIKE[ch] ?? ch;
  return out.replace(/\s+/gu, " ").trim();
}
