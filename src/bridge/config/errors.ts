// What a bad config is reported as. Each problem keeps its key, value and
// expectation as fields as well as in the message, so that callers can tell
// which key failed without parsing the text.
import { showValue } from "./values.js";

/** One problem with one key. `value` is undefined when the key is missing. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    /** Dotted key path, e.g. "homeserver.url", "relays[1]", "permissions[\"@a:b\"]". */
    readonly key: string,
    readonly value: unknown,
    /** What would be accepted, e.g. "an http(s) URL". */
    readonly expected: string,
    /** Overrides the default "is not <expected>" / "is missing" phrasing. */
    problem?: string,
  ) {
    super(formatConfigError(source, key, value, expected, problem));
    this.name = "ConfigError";
  }
}

/** Everything wrong with one config file. */
export class ConfigErrors extends Error {
  constructor(
    readonly source: string,
    readonly errors: readonly ConfigError[],
  ) {
    super(
      `${source}: ${errors.length} problem${errors.length === 1 ? "" : "s"}:\n` + errors.map((e) => "  " + e.message).join("\n"),
    );
    this.name = "ConfigErrors";
  }
}

function formatConfigError(source: string, key: string, value: unknown, expected: string, problem?: string): string {
  const where = key === "" ? `${source}:` : `${source}: ${key}:`;
  if (value === undefined) return `${where} ${problem ?? "missing"}; expected ${expected}`;
  const shown = showValue(key, value);
  if (problem) return `${where} ${shown} ${problem}; expected ${expected}`;
  return `${where} ${shown} is not ${expected}`;
}
