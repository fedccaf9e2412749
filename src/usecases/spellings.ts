// The one parser for what members type, shared by the bot and the CLI: due
// dates, durations, whole numbers, task statuses, members, roles and
// assignees. Every refusal is typed (SpellingError, LookupError) and carries
// the value it refused.
import { TASK_STATUSES, type Assignee, type TaskStatus } from "../pursuance/events.js";
import { CAPABILITIES, ROLE_NAME, type Capability } from "../pursuance/rules.js";
import type { PursuanceState } from "../pursuance/state.js";
import { findMember, LookupError } from "../pursuance/views.js";
import { SpellingError } from "./errors.js";

/** Edit distance (insertions, deletions, substitutions, swaps of neighbours), for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}

/** The candidate a mistyped value most likely meant (a third of its letters wrong at most), or null. */
export function nearest(value: string, candidates: readonly string[]): string | null {
  const v = value.trim().toLowerCase();
  let best: string | null = null;
  let bestD = Math.max(1, Math.floor(v.length / 3)) + 1;
  for (const c of candidates) {
    const d = c.toLowerCase().startsWith(v) && v.length >= 3 ? 1 : distance(v, c.toLowerCase());
    if (d < bestD) (best = c), (bestD = d);
  }
  return best;
}

/** "; did you mean X?" when one candidate is near, else "". */
export function didYouMean(value: string, candidates: readonly string[]): string {
  const n = nearest(value, candidates);
  return n === null ? "" : `; did you mean ${n}?`;
}

/** Titles longer than this are refused as typed, before any work (the retitle rule's limit too). */
export const MAX_TITLE_CHARS = 500;

/** A task's title as typed: trimmed, not blank, at most MAX_TITLE_CHARS characters (not bytes). */
export function parseTitle(v: string): string {
  const t = v.trim();
  if (t === "") throw new SpellingError("the title is empty: give the task a few words", "title", v);
  const n = [...t].length;
  if (n > MAX_TITLE_CHARS) throw new SpellingError(`a title is at most ${MAX_TITLE_CHARS} characters (this one has ${n}); put the rest in --deliverables`, "title", v);
  return t;
}

export const DAY = 86_400_000;
/** The UTC day of a time, as due dates are written (YYYY-MM-DD). */
export const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The calendar day at `ms` where the member is ("2026-12-05"): in `zone` (IANA) if given, else UTC. */
export function dayIn(ms: number, zone?: string): string {
  if (!zone) return isoDay(ms);
  const p = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(ms);
  const get = (t: string) => p.find((x) => x.type === t)?.value ?? "00";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** YYYY-MM-DD (a real date), "today", "tomorrow", or "+3d" / "+2w" from now (UTC). */
export function parseDue(ref: string, now: number): string {
  const r = ref.trim().toLowerCase();
  if (r === "today") return isoDay(now);
  if (r === "tomorrow") return isoDay(now + DAY);
  const rel = /^\+(\d{1,4})([dw])$/.exec(r);
  if (rel) return isoDay(now + Number(rel[1]) * (rel[2] === "w" ? 7 : 1) * DAY);
  if (/^\d{4}-\d{2}-\d{2}$/.test(r) && isoDay(Date.parse(`${r}T00:00:00Z`) || 0) === r) return r;
  throw new SpellingError(`--due: ${JSON.stringify(ref)} is not a date (use e.g. 2026-12-31, today, tomorrow, +3d or +2w)`, "due", ref, "--due");
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY, w: 7 * DAY };

/** "500ms", "30s", "1.5h", "14d", "2w" → ms, or null for anything else. */
export function durationMs(v: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/i.exec(v.trim());
  const n = m ? Math.floor(Number(m[1]) * DURATION_UNITS[m[2]!.toLowerCase()]!) : NaN;
  return Number.isSafeInteger(n) ? n : null;
}

/** A positive duration (durationMs's spellings). */
export function parseDuration(flag: string, v: string): number {
  const n = durationMs(v);
  if (n === null || n <= 0) throw new SpellingError(`${flag}: bad duration ${JSON.stringify(v)} (use e.g. 30s, 15m, 12h, 7d)`, "duration", v, flag);
  return n;
}

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3 };

/** "10MB", "64KiB", "1048576" → bytes. */
export function parseSize(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new SpellingError(`${flag}: bad size ${JSON.stringify(v)} (use e.g. 10MB, 64KiB, 1048576)`, "size", v, flag);
  return n;
}

/** A duration of at least `minMs` (durationMs's spellings), for a `--flag`. */
export function parseDurationAtLeast(flag: string, ref: string, minMs: number): number {
  const ms = durationMs(ref);
  if (ms === null) throw new SpellingError(`${flag}: ${JSON.stringify(ref)} is not a duration (use e.g. 30s, 12h, 14d, 2w)`, "duration", ref, flag);
  if (ms < minMs) throw new SpellingError(`${flag}: ${JSON.stringify(ref)} is under the minimum of ${durationText(minMs)}`, "duration", ref, flag);
  return ms;
}

/** 60000 → "1m": the largest unit that divides it. */
export function durationText(ms: number): string {
  for (const u of ["w", "d", "h", "m", "s"]) if (ms % DURATION_UNITS[u]! === 0) return `${ms / DURATION_UNITS[u]!}${u}`;
  return `${ms}ms`;
}

/** A whole number in min..max. */
export function parseIntFlag(flag: string, v: string, min: number, max: number): number {
  const n = /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new SpellingError(`${flag}: bad value ${JSON.stringify(v)} (want an integer ${min}..${max})`, "integer", v, flag);
  return n;
}

/** "help wanted", "help-wanted", "Help_Wanted" → "help wanted". */
export function parseStatus(ref: string): TaskStatus {
  const n = ref.trim().toLowerCase().replace(/[-_]+/g, " ").replace(/\s+/g, " ");
  const hit = TASK_STATUSES.find((st) => st === n);
  if (!hit) throw new SpellingError(`${JSON.stringify(ref)} is not a status${didYouMean(n, TASK_STATUSES)} (one of: ${TASK_STATUSES.join(", ")})`, "status", ref);
  return hit;
}

/** Who is asking, and (where a host knows chat accounts) how a "@user:server" id maps to a member. */
export interface Who {
  client: { readonly state: PursuanceState; readonly me: string };
  resolveUser?: (ref: string) => string | null;
}

const MATRIX_ID = /^@[^:\s]+:\S+$/;

/** A member by "me", a Matrix id (through the host), name, "@name" or hex id prefix. */
export function resolveMember(who: Who, ref: string): string {
  const s = who.client.state;
  const r = ref.trim();
  if (/^(me|myself)$/i.test(r)) return who.client.me;
  if (MATRIX_ID.test(r) && who.resolveUser) {
    const id = who.resolveUser(r);
    if (id !== null) {
      if (!s.members.has(id)) throw new LookupError(`${r} is not a member of ${s.name}`, ref);
      return id;
    }
  }
  // Not a Matrix user the host knows: maybe a member name typed with "@".
  return findMember(s, r.replace(/:.*$/, ""));
}

/** A role by name: exact, any case, "role:" before it, or dashes/underscores for spaces ("change-agent"). */
export function findRole(s: PursuanceState, ref: string): string {
  const r = ref.trim().replace(/^role:/i, "");
  const roles = Object.keys(s.rules.roles);
  for (const cand of [r, r.toLowerCase(), r.toLowerCase().replace(/[-_]+/g, " ").replace(/\s+/g, " ")]) if (roles.includes(cand)) return cand;
  throw new LookupError(`no role named ${JSON.stringify(r)}${didYouMean(r, roles)} (roles: ${roles.join(", ")})`, ref);
}

function isRole(s: PursuanceState, ref: string): boolean {
  try {
    findRole(s, ref);
    return true;
  } catch {
    return false;
  }
}

/** "none" clears; "role:R" or a role name is a role; anything else a member. */
export function resolveAssignee(who: Who, ref: string): Assignee | null {
  const s = who.client.state;
  if (/^none$/i.test(ref.trim())) return null;
  if (/^role:/i.test(ref.trim()) || isRole(s, ref)) return { role: findRole(s, ref) };
  return { member: resolveMember(who, ref) };
}

/** "task.create, task.comment" → the capabilities, each a known one. */
export function parseCaps(v: string): Capability[] {
  const caps = v.split(",").map((x) => x.trim()).filter(Boolean);
  for (const cap of caps) if (!(CAPABILITIES as readonly string[]).includes(cap)) throw new SpellingError(`--caps: unknown capability ${JSON.stringify(cap)} (known: ${CAPABILITIES.join(", ")})`, "capability", cap, "--caps");
  return caps as Capability[];
}

/** What a role's holders read: "role" (every task of the role) or "assigned" (only theirs). */
export function parseReads(v: string): "role" | "assigned" {
  if (v !== "role" && v !== "assigned") throw new SpellingError(`--reads must be role or assigned, not ${JSON.stringify(v)}`, "reads", v, "--reads");
  return v;
}

/** A new role's name: "Field  Agent" → "field agent"; up to 32 lowercase letters, digits, spaces, - or _, starting with a letter. */
export function parseRoleName(v: string): string {
  const name = v.trim().toLowerCase().replace(/\s+/g, " ");
  if (!ROLE_NAME.test(name) || name === "group") {
    throw new SpellingError(`${JSON.stringify(name)} is not a role name: up to 32 lowercase letters, digits, spaces, - or _, starting with a letter ("group" is reserved)`, "role name", v);
  }
  return name;
}
