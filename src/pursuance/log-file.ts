// The exported log: every event's canonical signed bytes, nothing secret
// beyond what the relays already hold in ciphertext (the events themselves are
// plaintext here: keep the file as private as the pursuance). `verifyLog`
// rechecks every signature and refolds from nothing.
import { equalBytes, fromHex, toHex } from "../cwtch/bytes.js";
import type { Crypto } from "../cwtch/crypto.js";
import { decodeAndVerify, DecodeError, type SignedEvent } from "../cwtch/message.js";
import { foldAll } from "./fold.js";
import { toPEvents } from "./pevent.js";
import { type Rejection } from "./state.js";
import { stateHash } from "./state-hash.js";

export const LOG_FORMAT = "pursuance-log/1";

export interface LogFile {
  format: typeof LOG_FORMAT;
  pursuanceId: string;
  groupId: string;
  events: string[];
}

export class LogFileError extends Error {
  constructor(message: string, readonly value: unknown) {
    super(message);
    this.name = "LogFileError";
  }
}

export function exportLog(pursuanceId: string, groupId: string, events: readonly SignedEvent[]): LogFile {
  return { format: LOG_FORMAT, pursuanceId, groupId, events: events.map((e) => toHex(e.bytes)) };
}

export function parseLogFile(text: string): LogFile {
  let v: Partial<LogFile>;
  try {
    v = JSON.parse(text) as Partial<LogFile>;
  } catch {
    throw new LogFileError("log file is not JSON", text.slice(0, 40));
  }
  if (v.format !== LOG_FORMAT) throw new LogFileError(`not a ${LOG_FORMAT} file`, v.format);
  if (typeof v.pursuanceId !== "string" || typeof v.groupId !== "string" || !Array.isArray(v.events)) throw new LogFileError("log file lacks pursuanceId, groupId or events", Object.keys(v));
  return v as LogFile;
}

export interface VerifyReport {
  pursuanceId: string;
  stateHash: string;
  events: number;
  applied: number;
  /** Well-signed events the rules refused, with the reason every client gives. */
  rejected: Rejection[];
  /** Entries that are not validly signed events of this group: never folded. */
  invalid: Array<{ index: number; reason: string }>;
}

export function verifyLog(crypto: Crypto, log: LogFile): VerifyReport {
  const group = fromHex(log.groupId);
  const good: SignedEvent[] = [];
  const invalid: VerifyReport["invalid"] = [];
  const seen = new Set<string>();
  log.events.forEach((hex, index) => {
    try {
      const m = decodeAndVerify(crypto, fromHex(hex));
      if (!m) return invalid.push({ index, reason: "bad signature" });
      if (m.kind !== "event") return invalid.push({ index, reason: "not an event" });
      if (!equalBytes(m.group, group)) return invalid.push({ index, reason: "another group's event" });
      // A repeated entry is the same signed event: count and fold it once.
      if (seen.has(toHex(m.id))) return;
      seen.add(toHex(m.id));
      good.push(m);
    } catch (e) {
      invalid.push({ index, reason: e instanceof DecodeError || e instanceof TypeError ? e.message : String(e) });
    }
  });
  const fold = foldAll(crypto, toPEvents(good), log.pursuanceId);
  return {
    pursuanceId: log.pursuanceId,
    stateHash: stateHash(crypto, fold.state),
    events: good.length,
    applied: fold.state.applied,
    rejected: fold.state.rejected,
    invalid,
  };
}
