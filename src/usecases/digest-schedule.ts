// When a member's daily digest goes: on or off, at a local time in a time
// zone, once a local day. Parsed and judged here for every host (the bridge's
// `!digest`, and any other that keeps a schedule); the host keeps the
// setting and the time of the last one.
import { SpellingError } from "./errors.js";

export interface DigestSchedule {
  enabled: boolean;
  /** Minutes after local midnight. */
  atMinute: number;
  /** An IANA time zone ("Europe/Berlin", "UTC"). */
  tz: string;
}

export const MIN_DIGEST_GAP_MS = 12 * 3_600_000;

export const DEFAULT_DIGEST: DigestSchedule = { enabled: true, atMinute: 8 * 60, tz: "UTC" };

/** A time zone the runtime knows, in its canonical spelling; anything else names the value. */
export function parseTimeZone(v: string): string {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: v.trim() }).resolvedOptions().timeZone;
  } catch {
    throw new SpellingError(`${JSON.stringify(v)} is not a time zone (use an IANA name such as UTC, Europe/Berlin, America/Mexico_City)`, "time zone", v);
  }
}

/** "08:00", "7:30", "18:05" → minutes after midnight. */
export function parseClock(v: string): number {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(v.trim());
  if (!m) throw new SpellingError(`${JSON.stringify(v)} is not a time of day (use HH:MM, 00:00 to 23:59)`, "time", v);
  return Number(m[1]) * 60 + Number(m[2]);
}

export type DigestCommand = { set: "on" | "off" } | { at: number; tz?: string } | { show: true };

/** `off`, `on`, `at HH:MM [TZ]`, or nothing (show). */
export function parseDigestCommand(words: string): DigestCommand {
  const w = words.trim().split(/\s+/).filter(Boolean);
  if (w.length === 0) return { show: true };
  const verb = w[0]!.toLowerCase();
  if ((verb === "on" || verb === "off") && w.length === 1) return { set: verb };
  if (verb === "at" && (w.length === 2 || w.length === 3)) return { at: parseClock(w[1]!), ...(w[2] !== undefined ? { tz: parseTimeZone(w[2]) } : {}) };
  throw new SpellingError(`${JSON.stringify(words.trim())}: use on, off, or at HH:MM [time zone]`, "digest", words);
}

export function applyDigestCommand(cur: DigestSchedule, c: DigestCommand): DigestSchedule {
  if ("show" in c) return cur;
  if ("set" in c) return { ...cur, enabled: c.set === "on" };
  return { enabled: true, atMinute: c.at, tz: c.tz ?? cur.tz };
}

/** The local date ("2026-12-05") and minute of the day at `now` in `tz`. */
export function localTime(now: number, tz: string): { day: string; minute: number } {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "00";
  return { day: `${get("year")}-${get("month")}-${get("day")}`, minute: Number(get("hour")) * 60 + Number(get("minute")) };
}

/**
 * The local day whose digest is due at `now`, or null: on, past its time
 * today, and none sent yet this local day (judged by the last one's time in
 * the same zone, so a restart, or a late pass, never sends a second).
 */
export function digestDue(s: DigestSchedule, now: number, lastSent: number | null): string | null {
  if (!s.enabled) return null;
  // A zone moved east can begin a new local day at once: never two digests within half a day.
  if (lastSent !== null && now >= lastSent && now - lastSent < MIN_DIGEST_GAP_MS) return null;
  const t = localTime(now, s.tz);
  if (t.minute < s.atMinute) return null;
  if (lastSent !== null && localTime(lastSent, s.tz).day === t.day) return null;
  return t.day;
}

export function scheduleText(s: DigestSchedule): string {
  const hh = String(Math.floor(s.atMinute / 60)).padStart(2, "0");
  const mm = String(s.atMinute % 60).padStart(2, "0");
  return s.enabled ? `daily at ${hh}:${mm} ${s.tz}` : "off";
}
