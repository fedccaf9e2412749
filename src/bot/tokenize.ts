// A forgiving shell-style tokenizer for chat commands, and the flag parser
// that runs over its tokens. People type on phones: smart quotes stand for
// quotes, an em dash stands for `--`, and an apostrophe inside a word
// ("don't") is a letter, not the start of a quote.
import { UsageError } from "../usecases/errors.js";

export class TokenizeError extends Error {
  constructor(
    message: string,
    /** 1-based column in the text given to tokenize. */
    readonly column: number,
  ) {
    super(message);
    this.name = "TokenizeError";
  }
}

export interface Token {
  text: string;
  /** Any part of it was quoted or escaped: it is a value, never a flag. */
  quoted: boolean;
  /** 1-based column where the token starts. */
  column: number;
}

const DOUBLE_OPEN = new Set(['"', "“", "”", "„"]);
const DOUBLE_CLOSE = new Set(['"', "“", "”"]);
const SINGLE_OPEN = new Set(["'", "‘", "’"]);
const SINGLE_CLOSE = new Set(["'", "’", "‘"]);
const isSpace = (c: string | undefined) => c !== undefined && /\s/u.test(c);

/** The text of a quote opened at `open`, up to where `closes` finds its end; `escapes` says where a backslash takes the next character. */
function readQuote(chars: string[], open: number, closes: (j: number) => boolean, escapes: (j: number) => boolean): { text: string; end: number } {
  let text = "";
  let i = open + 1;
  for (;;) {
    if (i >= chars.length) throw new TokenizeError(`unterminated ${chars[open]} quote opened at column ${open + 1}`, open + 1);
    if (closes(i)) return { text, end: i + 1 };
    if (escapes(i)) {
      text += chars[i + 1];
      i += 2;
    } else {
      text += chars[i];
      i++;
    }
  }
}

/**
 * Split text into words. "double" and 'single' quotes (and their smart forms)
 * group words; a backslash escapes the next character outside quotes and a
 * quote or backslash inside double quotes. A single quote opens a quote only
 * at the start of a word and closes only at the end of one, so apostrophes
 * survive unquoted and quoted text alike.
 */
export function tokenize(text: string): Token[] {
  const chars = [...text];
  const out: Token[] = [];
  let i = 0;
  while (i < chars.length) {
    if (isSpace(chars[i])) {
      i++;
      continue;
    }
    const start = i;
    let word = "";
    let quoted = false;
    while (i < chars.length && !isSpace(chars[i])) {
      const c = chars[i]!;
      if (c === "\\") {
        // A trailing lone backslash is kept: nothing to escape, nothing to complain about.
        if (i + 1 < chars.length) {
          word += chars[i + 1];
          quoted = true;
          i += 2;
        } else {
          word += c;
          i++;
        }
      } else if (DOUBLE_OPEN.has(c)) {
        quoted = true;
        const q = readQuote(chars, i, (j) => DOUBLE_CLOSE.has(chars[j]!), (j) => chars[j] === "\\" && j + 1 < chars.length && (chars[j + 1] === "\\" || DOUBLE_CLOSE.has(chars[j + 1]!)));
        word += q.text;
        i = q.end;
      } else if (SINGLE_OPEN.has(c) && i === start) {
        quoted = true;
        const q = readQuote(chars, i, (j) => SINGLE_CLOSE.has(chars[j]!) && (chars[j + 1] === undefined || isSpace(chars[j + 1])), () => false);
        word += q.text;
        i = q.end;
      } else {
        word += c;
        i++;
      }
    }
    // Columns count code points (what a person sees), not UTF-16 units.
    out.push({ text: word, quoted, column: start + 1 });
  }
  return out;
}

// ---- flags ---------------------------------------------------------------------

export interface FlagSpec {
  name: string;
  /** Placeholder shown in usage (e.g. "R"); absent for a boolean flag. */
  value?: string;
}

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

// Phones turn "--" into an em or en dash; accept those as the flag prefix.
const FLAG_PREFIX = /^(?:--|—|–)(?=[a-z])/i;

/**
 * Separate `--flag value`, `--flag=value` and boolean `--flag` from
 * positionals, against the flags a command declares. `--` ends flags; a
 * quoted token is always a positional.
 */
export function parseFlags(tokens: Token[], specs: FlagSpec[]): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  let noMoreFlags = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!t.quoted && !noMoreFlags && t.text === "--") {
      noMoreFlags = true;
      continue;
    }
    const m = !t.quoted && !noMoreFlags ? FLAG_PREFIX.exec(t.text) : null;
    if (!m) {
      positionals.push(t.text);
      continue;
    }
    const body = t.text.slice(m[0].length);
    const eq = body.indexOf("=");
    const name = (eq < 0 ? body : body.slice(0, eq)).toLowerCase();
    const spec = specs.find((f) => f.name === name);
    if (!spec) {
      const known = specs.map((f) => `--${f.name}`).join(", ");
      throw new UsageError(`unknown option --${name}${known ? ` (this command takes ${known})` : " (this command takes no options)"}`);
    }
    if (flags.has(name)) throw new UsageError(`--${name} given twice`);
    if (spec.value === undefined) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags.set(name, true);
      continue;
    }
    if (eq >= 0) {
      flags.set(name, body.slice(eq + 1));
      continue;
    }
    const next = tokens[i + 1];
    if (next === undefined || (!next.quoted && FLAG_PREFIX.test(next.text))) throw new UsageError(`--${name} needs a value (${spec.value})`);
    flags.set(name, next.text);
    i++;
  }
  return { positionals, flags };
}
