// Validation of the relay's numeric and string options, once, at the edge
// (startRelay): a value that overflowed on its way in (`8 << 30` is 0 in
// JavaScript), a negative or zero bound, a fraction where a count is meant or
// a number past 2^53 is refused with the option's name, instead of a relay
// that quietly sheds every client or never evicts.

export class RelayOptionError extends Error {
  constructor(
    readonly option: string,
    readonly value: unknown,
    readonly want: string,
  ) {
    super(`relay option ${option}: bad value ${describe(value)} (want ${want})`);
    this.name = "RelayOptionError";
  }
}

function describe(v: unknown): string {
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "string") return JSON.stringify(v);
  return typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
}

/** Node timers take at most a signed 32-bit millisecond delay; a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type Rule =
  | { kind: "int"; min: number; max: number }
  | { kind: "rate" } // finite and > 0; fractions allowed (0.5 posts/s)
  | { kind: "bool" }
  | { kind: "host" };

const count: Rule = { kind: "int", min: 1, max: Number.MAX_SAFE_INTEGER };
const bits: Rule = { kind: "int", min: 0, max: 32 };

/** The rule of every option that has one; keys not listed are not the parser's business. */
export const RELAY_OPTION_RULES: Record<string, Rule> = {
  host: { kind: "host" },
  port: { kind: "int", min: 0, max: 65535 },
  maxMessages: count,
  maxBytes: count,
  maxAgeMs: count,
  powBits: bits,
  powAdaptive: { kind: "bool" },
  powMaxBits: bits,
  powPressurePostsPerSecond: { kind: "rate" },
  powPressureChurnPerSecond: { kind: "rate" },
  powDecayMs: { kind: "int", min: 1, max: MAX_TIMER_MS },
  maxBlobBytes: count,
  postsPerSecond: { kind: "rate" },
  postBurst: count,
  requestsPerSecond: { kind: "rate" },
  requestBurst: count,
  maxSubscriptionsPerConnection: count,
  maxConnections: count,
  fetchPageSize: count,
  maxPendingPerConnection: count,
  maxBufferedBytes: count,
  maxTotalBufferedBytes: count,
  heartbeatMs: { kind: "int", min: 0, max: MAX_TIMER_MS }, // 0 = off
  sweepIntervalMs: { kind: "int", min: 1, max: MAX_TIMER_MS },
};

function check(name: string, rule: Rule, v: unknown): void {
  switch (rule.kind) {
    case "int":
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < rule.min || v > rule.max) {
        throw new RelayOptionError(name, v, `an integer ${rule.min}..${rule.max}`);
      }
      return;
    case "rate":
      if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new RelayOptionError(name, v, "a finite number above 0");
      return;
    case "bool":
      if (typeof v !== "boolean") throw new RelayOptionError(name, v, "true or false");
      return;
    case "host":
      if (typeof v !== "string" || v.trim() === "") throw new RelayOptionError(name, v, "a non-empty host name or address");
      return;
  }
}

/** Throws RelayOptionError for the first option (in rule order) whose value is given and bad. */
export function checkRelayOptions(opts: Readonly<Record<string, unknown>>): void {
  for (const [name, rule] of Object.entries(RELAY_OPTION_RULES)) {
    const v = opts[name];
    if (v !== undefined) check(name, rule, v);
  }
}

/** Room a post frame needs besides its blob's base64 text: tag, pow, rid and JSON (startRelay's payload bound). */
export const FRAME_OVERHEAD_BYTES = 24 * 1024;

/**
 * Options that are each fine but together break a promise. A relay that acks
 * a post and then evicts it at once (a blob larger than the whole store) loses
 * accepted data; one whose per-connection buffer is smaller than one largest
 * frame sheds every client that posts. Given explicitly, such a pair is
 * refused, naming both; a default blob limit above half a small store shrinks
 * to half the store instead. Returns the blob limit to use.
 */
export function crossCheckRelayOptions(
  given: Readonly<Record<string, unknown>>,
  o: { maxBytes: number; maxBlobBytes: number; maxBufferedBytes: number; maxTotalBufferedBytes: number },
): number {
  let maxBlob = o.maxBlobBytes;
  const half = Math.floor(o.maxBytes / 2);
  if (maxBlob > half) {
    if (given.maxBlobBytes !== undefined) throw new RelayOptionError("maxBlobBytes", maxBlob, `at most half of maxBytes (${half}): a fresh frame is kept until half the store is posted after it, so a larger post would be acknowledged and then evicted early`);
    maxBlob = half;
  }
  const frame = Math.ceil((maxBlob * 4) / 3) + FRAME_OVERHEAD_BYTES;
  if (o.maxBufferedBytes < frame) throw new RelayOptionError("maxBufferedBytes", o.maxBufferedBytes, `at least ${frame}, one largest post frame (maxBlobBytes ${maxBlob} as base64 plus ${FRAME_OVERHEAD_BYTES}), or every client that posts one is shed`);
  if (o.maxTotalBufferedBytes < o.maxBufferedBytes) throw new RelayOptionError("maxTotalBufferedBytes", o.maxTotalBufferedBytes, `at least maxBufferedBytes (${o.maxBufferedBytes})`);
  return maxBlob;
}
