// The short forms people type, turned into what the pursuance names: members
// (a Matrix id, a name, an id prefix, "me"), roles (any case, dashes for
// spaces), assignees, statuses and due dates. And the one way the bot writes:
// a body is parsed as every receiver will parse it, then dry-run by the rules.
import type { PursuanceClient } from "../pursuance/client.js";
import { encodeBody, TASK_STATUSES, type Assignee, type Body, type TaskStatus } from "../pursuance/events.js";
import { parseBody } from "../pursuance/events-parse.js";
import type { PursuanceState } from "../pursuance/state.js";
import { findMember, LookupError, memberName } from "../pursuance/views.js";
import type { BoundContext } from "./context.js";
import { UsageError } from "./tokenize.js";

const MATRIX_ID = /^@[^:\s]+:\S+$/;

/** A member by Matrix id (through the host), "me", name or id prefix. */
export function resolveMember(ctx: BoundContext, ref: string): string {
  const s = ctx.client.state;
  const r = ref.trim();
  if (/^(me|myself)$/i.test(r)) return ctx.client.me;
  if (MATRIX_ID.test(r)) {
    const id = ctx.resolveUser(r);
    if (id !== null) {
      if (!s.members.has(id)) throw new LookupError(`${r} is not a member of ${s.name}`, ref);
      return id;
    }
  }
  // Not a Matrix user the host knows: maybe a member name typed with "@".
  return findMember(s, r.replace(/:.*$/, ""));
}

/** A role by name: exact, any case, or with dashes/underscores for spaces ("change-agent"). */
export function findRole(s: PursuanceState, ref: string): string {
  const r = ref.trim().replace(/^role:/i, "");
  const roles = Object.keys(s.rules.roles);
  for (const cand of [r, r.toLowerCase(), r.toLowerCase().replace(/[-_]+/g, " ").replace(/\s+/g, " ")]) if (roles.includes(cand)) return cand;
  throw new LookupError(`no role named ${JSON.stringify(r)} (roles: ${roles.join(", ")})`, ref);
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
export function resolveAssignee(ctx: BoundContext, ref: string): Assignee | null {
  const s = ctx.client.state;
  if (/^none$/i.test(ref.trim())) return null;
  if (/^role:/i.test(ref.trim()) || isRole(s, ref)) return { role: findRole(s, ref) };
  return { member: resolveMember(ctx, ref) };
}

/** "help wanted", "help-wanted", "Help_Wanted" → "help wanted". */
export function parseStatus(ref: string): TaskStatus {
  const n = ref.trim().toLowerCase().replace(/[-_]+/g, " ").replace(/\s+/g, " ");
  const hit = TASK_STATUSES.find((st) => st === n);
  if (!hit) throw new UsageError(`${JSON.stringify(ref)} is not a status (one of: ${TASK_STATUSES.join(", ")})`);
  return hit;
}

const DAY = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** YYYY-MM-DD (a real date), "today", "tomorrow", or "+3d" / "+2w" from now (UTC). */
export function parseDue(ref: string, now: number): string {
  const r = ref.trim().toLowerCase();
  if (r === "today") return isoDay(now);
  if (r === "tomorrow") return isoDay(now + DAY);
  const rel = /^\+(\d{1,4})([dw])$/.exec(r);
  if (rel) return isoDay(now + Number(rel[1]) * (rel[2] === "w" ? 7 : 1) * DAY);
  if (/^\d{4}-\d{2}-\d{2}$/.test(r) && isoDay(Date.parse(`${r}T00:00:00Z`) || 0) === r) return r;
  throw new UsageError(`--due: ${JSON.stringify(ref)} is not a date (use e.g. 2026-12-31, today, tomorrow, +3d or +2w)`);
}

/** Member ids in a rules reason ("3f2a…12 lacks capability …") become names people know. */
export function humanize(s: PursuanceState, text: string): string {
  let out = text;
  for (const id of s.members.keys()) out = out.split(id).join(memberName(s, id)).split(id.slice(0, 12)).join(memberName(s, id));
  return out;
}

/**
 * Publish as the acting member. The body is first parsed exactly as every
 * receiver will parse it (a bad role name would otherwise reach the log as a
 * rejected event), then the client's dry run applies the rules; either
 * refusal throws before anything is posted.
 */
/** Publish as the acting member; `ctx.via` tags the event with where the command came from (idempotent retries). */
export async function publish(ctx: BoundContext, body: Body | ((s: PursuanceState) => Body)): Promise<{ id: string }> {
  if (typeof body !== "function") parseBody(encodeBody(body));
  return ctx.client.publish(body, undefined, ctx.via ? { via: ctx.via } : {});
}
