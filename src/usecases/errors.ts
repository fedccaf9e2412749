// The refusals both faces share. A UsageError is input that does not fit a
// command: the bot answers it with the command's usage line, the CLI with
// exit code 2 and its usage. A SpellingError is a UsageError that names the
// kind of value it wanted and the value it was given.

/** Input that does not fit a command's grammar. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export type SpellingKind = "due" | "duration" | "integer" | "status" | "size" | "capability" | "reads" | "role name" | "title" | "search words" | "format" | "label" | "priority" | "time" | "time zone" | "digest";

/** A value typed in a spelling we do not accept: which kind, which value, for which flag. */
export class SpellingError extends UsageError {
  constructor(
    message: string,
    readonly kind: SpellingKind,
    readonly value: string,
    readonly flag?: string,
  ) {
    super(message);
    this.name = "SpellingError";
  }
}
