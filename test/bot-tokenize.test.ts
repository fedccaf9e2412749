import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseFlags, tokenize, TokenizeError, type FlagSpec } from "../src/bot/tokenize.js";
import { UsageError } from "../src/usecases/errors.js";

const words = (s: string) => tokenize(s).map((t) => t.text);

describe("bot tokenizer", () => {
  it("splits on any whitespace, including a phone's no-break space", () => {
    expect(words("  !task   list\tnow\u00a0please ")).toEqual(["!task", "list", "now", "please"]);
    expect(words("")).toEqual([]);
  });

  it("groups double and single quotes, and keeps empty quoted words", () => {
    expect(words(`!task create "Fix the door" --role 'change agent'`)).toEqual(["!task", "create", "Fix the door", "--role", "change agent"]);
    expect(words(`a "" b`)).toEqual(["a", "", "b"]);
    expect(words(`pre"quoted part"post`)).toEqual(["prequoted partpost"]);
  });

  it("treats smart quotes as quotes", () => {
    expect(words("!task create “Buy milk” --assign ‘bob smith’")).toEqual(["!task", "create", "Buy milk", "--assign", "bob smith"]);
    expect(words("„Anfang“ x")).toEqual(["Anfang", "x"]);
    expect(words("”both right”")).toEqual(["both right"]);
  });

  it("keeps apostrophes inside words, quoted or not", () => {
    expect(words("I don't know")).toEqual(["I", "don't", "know"]);
    expect(words("it’s fine")).toEqual(["it’s", "fine"]);
    expect(words("'it's fine' ok")).toEqual(["it's fine", "ok"]);
  });

  it("honours backslash escapes", () => {
    expect(words(String.raw`say \"hi\" now`)).toEqual(["say", '"hi"', "now"]);
    expect(words(String.raw`one\ word`)).toEqual(["one word"]);
    expect(words(String.raw`"a \"quoted\" \\ b"`)).toEqual([String.raw`a "quoted" \ b`]);
    expect(words(String.raw`"C:\path"`)).toEqual([String.raw`C:\path`]);
    expect(words("trailing\\")).toEqual(["trailing\\"]);
  });

  it("marks quoted tokens and reports columns", () => {
    const t = tokenize(`!x "--role" a`);
    expect(t.map((x) => [x.text, x.quoted, x.column])).toEqual([
      ["!x", false, 1],
      ["--role", true, 4],
      ["a", false, 13],
    ]);
  });

  it("names an unterminated quote and its column", () => {
    for (const [text, col] of [
      [`!task create "Fix the door`, 14],
      [`!task comment 3 'oops`, 17],
      [`!x “smart`, 4],
      [`🙂 "x`, 3],
    ] as const) {
      let err: unknown;
      try {
        tokenize(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TokenizeError);
      expect((err as TokenizeError).column).toBe(col);
      expect((err as Error).message).toMatch(new RegExp(`unterminated .* quote opened at column ${col}$`));
    }
  });

  it("either tokenizes or names the unterminated quote, for any text", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."a \"'“”‘’„\\-".split("")), maxLength: 24 }), (s) => {
        try {
          const t = tokenize(s);
          for (const x of t) expect(x.column).toBeGreaterThan(0);
        } catch (e) {
          expect(e).toBeInstanceOf(TokenizeError);
          expect((e as Error).message).toMatch(/^unterminated . quote opened at column \d+$/);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("bot flag parser", () => {
  const specs: FlagSpec[] = [{ name: "role", value: "R" }, { name: "due", value: "DATE" }, { name: "mine" }];
  const parse = (s: string) => parseFlags(tokenize(s), specs);

  it("takes --flag value, --flag=value and boolean flags anywhere", () => {
    const p = parse(`a --role "change agent" b --due=2026-01-02 --mine c`);
    expect(p.positionals).toEqual(["a", "b", "c"]);
    expect(Object.fromEntries(p.flags)).toEqual({ role: "change agent", due: "2026-01-02", mine: true });
  });

  it("accepts a phone's em or en dash for --, and any case", () => {
    const p = parse("x —role admin –MINE");
    expect(Object.fromEntries(p.flags)).toEqual({ role: "admin", mine: true });
  });

  it("keeps quoted words and everything after -- as positionals", () => {
    expect(parse(`"--role" -- --mine -5`).positionals).toEqual(["--role", "--mine", "-5"]);
  });

  it("refuses unknown, repeated, valueless and value-taking-boolean flags by name", () => {
    expect(() => parse("--colour red")).toThrow(/unknown option --colour \(this command takes --role, --due, --mine\)/);
    expect(() => parse("--role a --role b")).toThrow(/--role given twice/);
    expect(() => parse("--role")).toThrow(/--role needs a value \(R\)/);
    expect(() => parse("--role --mine")).toThrow(/--role needs a value/);
    expect(() => parse("--mine=yes")).toThrow(/--mine takes no value/);
    expect(() => parseFlags(tokenize("--x"), [])).toThrow(/takes no options/);
    expect(() => parse("--colour red")).toThrow(UsageError);
  });
});
