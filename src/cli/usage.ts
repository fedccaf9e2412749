// The CLI's small utilities for checking flags: the one UsageError (exit
// code 2 and the command's usage; the bot answers the same class with its
// usage line) and the shared spellings (durations, whole numbers, sizes).

export { SpellingError, UsageError } from "../usecases/errors.js";
export { parseDuration, parseIntFlag, parseSize } from "../usecases/spellings.js";


