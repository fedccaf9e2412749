// The validator's bookkeeping: it collects problems instead of throwing at the
// first, so that one run reports everything wrong with a config, and keeps a
// section that is not a mapping from also being blamed for each missing key.
import { ConfigError } from "./errors.js";
import { isPlaceholder } from "./values.js";

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export class Checker {
  readonly errors: ConfigError[] = [];
  /** Sections that were not mappings: their keys are not reported missing on top of that. */
  readonly broken = new Set<string>();
  constructor(readonly source: string) {}

  fail(key: string, value: unknown, expected: string, problem?: string): void {
    this.errors.push(new ConfigError(this.source, key, value, expected, problem));
  }

  /** Report a missing key, unless its section was already reported as not a mapping. */
  missing(key: string, expected: string, problem?: string): void {
    if (!this.broken.has(key.split(".")[0]!)) this.fail(key, undefined, expected, problem);
  }

  /** A placeholder string? Then report it and return true. */
  placeholder(key: string, value: unknown, expected: string): boolean {
    if (typeof value === "string" && isPlaceholder(value)) {
      this.fail(key, value, expected, "is a placeholder: replace it with your own value");
      return true;
    }
    return false;
  }

  /** A section: a mapping with only known keys. Missing or null → {} (all defaults). */
  section(key: string, value: unknown, known: readonly string[]): Obj {
    if (value === undefined || value === null) return {};
    if (!isObj(value)) {
      this.fail(key, value, `a mapping with the keys ${known.join(", ")}`);
      this.broken.add(key);
      return {};
    }
    for (const k of Object.keys(value)) {
      if (!known.includes(k)) this.fail(key === "" ? k : `${key}.${k}`, value[k], `one of the keys ${known.join(", ")}`, "is under an unknown key (a typo?)");
    }
    return value;
  }

  string(key: string, value: unknown, expected: string, test: (s: string) => boolean): string | undefined {
    if (this.placeholder(key, value, expected)) return undefined;
    if (typeof value !== "string" || !test(value)) {
      this.fail(key, value, expected);
      return undefined;
    }
    return value;
  }

  /** A whole number in [min, max]. */
  int(key: string, value: unknown, dflt: number, min: number, max: number): number {
    if (value === undefined) return dflt;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.fail(key, value, `a whole number from ${min} to ${max}`);
      return dflt;
    }
    return value;
  }

  bool(key: string, value: unknown, dflt: boolean): boolean {
    if (value === undefined) return dflt;
    if (typeof value !== "boolean") {
      this.fail(key, value, "a boolean (true or false)");
      return dflt;
    }
    return value;
  }

  oneOf<T extends string>(key: string, value: unknown, options: readonly T[], dflt: T): T {
    if (value === undefined) return dflt;
    const expected = `one of ${options.map((o) => JSON.stringify(o)).join(", ")}`;
    if (this.placeholder(key, value, expected)) return dflt;
    if (typeof value !== "string" || !options.includes(value as T)) {
      this.fail(key, value, expected);
      return dflt;
    }
    return value as T;
  }
}
