// The CLI's small utilities for checking flags: the one UsageError (exit
// code 2 and the command's usage; the bot answers the same class with its
// usage line), the shared spellings, and sizes (relay flags only).
import { SpellingError, UsageError } from "../usecases/errors.js";

export { SpellingError, UsageError } from "../usecases/errors.js";
export { parseDuration, parseIntFlag } from "../usecases/spellings.js";

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3 };

/** "10MB", "64KiB", "1048576" → bytes. */
export function parseSize(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new SpellingError(`${flag}: bad size ${JSON.stringify(v)} (use e.g. 10MB, 64KiB, 1048576)`, "size", v, flag);
  return n;
}

