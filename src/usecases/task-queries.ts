// Finding one's work, once for both faces: `task list` with its filters and
// `task search`. Everything is read from the state and the keys the member
// already holds, on the member's machine: search matches only text this
// member's keys open, and a query about the member's own work (--mine) or
// its words never lists a task whose content the member may not read.
import type { Crypto, SignKeyPair } from "../cwtch/crypto.js";
import type { TaskStatus } from "../pursuance/events.js";
import type { KeyRing } from "../pursuance/keyring.js";
import { LABEL_NAME } from "../pursuance/rules.js";
import { canReadTask, type PursuanceState, type Task } from "../pursuance/state.js";
import { taskView, type TaskView } from "../pursuance/views.js";
import { SpellingError } from "./errors.js";
import { findLabel } from "./labels.js";
import { DAY, dayIn, durationMs, findRole, parseDue, parseStatus, resolveAssignee, type Who } from "./spellings.js";

/** What reading needs: the state and this member's keys (a PursuanceClient is one). */
export interface TaskReader extends Who {
  client: { readonly state: PursuanceState; readonly me: string; readonly crypto: Crypto; readonly ring: KeyRing; readonly identity: SignKeyPair };
  now(): number;
  /** The member's time zone (IANA): "today", "overdue" and "due within" count in its days. Absent: UTC. */
  zone?: string;
}

/** A query as typed (both faces pass their flags through unchanged). */
export interface TaskQueryOptions {
  /** Assigned to me, or to a role I hold. */
  mine?: boolean;
  /** Assigned to this member or role (a name, "role:R", "me", a Matrix id where the host knows it). */
  assignee?: string;
  status?: string;
  /** Readable by this role, or assigned to it. */
  role?: string;
  /** Open and due within this long ("14d") or by this date (2026-12-31, today, +2w). */
  due?: string;
  /** Open and past its due date. */
  overdue?: boolean;
  /** Archived ones too. */
  all?: boolean;
  /** Carrying this label (one the rules define); labels are sealed, so only readable tasks. */
  label?: string;
  /** Every word in the title, deliverables, comments or close reason (any case). */
  words?: string;
}

/** The query checked against the state: a bad spelling throws naming the value. */
interface Query {
  test(t: Task, v: TaskView): boolean;
  readableOnly: boolean;
}

function compile(r: TaskReader, o: TaskQueryOptions): Query {
  const s = r.client.state;
  const me = r.client.me;
  const today = dayIn(r.now(), r.zone);
  const tests: Array<(t: Task, v: TaskView) => boolean> = [];
  if (!o.all) tests.push((t) => !t.archived);
  if (o.status !== undefined) {
    const st: TaskStatus = parseStatus(o.status);
    tests.push((t) => t.status === st);
  }
  if (o.role !== undefined) {
    const role = findRole(s, o.role);
    tests.push((t) => t.readers.includes(role) || (t.assignee !== null && "role" in t.assignee && t.assignee.role === role));
  }
  if (o.mine) {
    // Ids, not names: two members may share a name.
    const roles = s.members.get(me)?.roles ?? new Set<string>();
    tests.push((t) => t.assignee !== null && ("member" in t.assignee ? t.assignee.member === me : roles.has(t.assignee.role)));
  }
  if (o.assignee !== undefined) {
    const a = resolveAssignee(r, o.assignee);
    tests.push((t) => (a === null ? t.assignee === null : t.assignee !== null && ("member" in a ? "member" in t.assignee && t.assignee.member === a.member : "role" in t.assignee && t.assignee.role === a.role)));
  }
  if (o.due !== undefined) {
    const until = dueLimit(o.due, r.now(), r.zone);
    tests.push((t) => !t.closed && t.due !== null && t.due <= until);
  }
  if (o.overdue) tests.push((t) => !t.closed && t.due !== null && t.due < today);
  const words = o.words !== undefined ? searchWords(o.words) : null;
  if (words) tests.push((_t, v) => matches(v, words));
  const label = o.label !== undefined ? findLabel(s, o.label) : null;
  if (label !== null) tests.push((_t, v) => v.labels.includes(label));
  return { test: (t, v) => tests.every((f) => f(t, v)), readableOnly: Boolean(o.mine || words || label) };
}

/** "14d" → today + 14 days; a date spelling (parseDue's) → that day. */
function dueLimit(v: string, now: number, zone?: string): string {
  const ms = durationMs(v);
  if (ms !== null && ms > 0) return dayIn(now + Math.ceil(ms / DAY) * DAY, zone);
  try {
    return parseDue(v, now);
  } catch {
    throw new SpellingError(`--due: ${JSON.stringify(v)} is neither a span (14d, 2w) nor a date (2026-12-31, today, +3d)`, "due", v, "--due");
  }
}

function searchWords(v: string): string[] {
  const words = v.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) throw new SpellingError("search needs at least one word", "search words", v);
  return words;
}

function matches(v: TaskView, words: string[]): boolean {
  if (v.title === null) return false;
  const text = [v.title, v.deliverables ?? "", v.closeReason ?? "", ...v.comments.map((c) => c.text ?? "")].join("\n").toLowerCase();
  return words.every((w) => text.includes(w));
}

/** The spellings a query can be checked for before any network work (status, due, words). */
export function checkTaskQuery(o: TaskQueryOptions, now: number): void {
  if (o.label !== undefined && !LABEL_NAME.test(o.label.trim().toLowerCase())) throw new SpellingError(`--label: ${JSON.stringify(o.label)} is not a label name`, "label", o.label, "--label");
  if (o.status !== undefined) parseStatus(o.status);
  if (o.due !== undefined) dueLimit(o.due, now);
  if (o.words !== undefined) searchWords(o.words);
}

/**
 * The tasks the query selects, overdue first, then by due date (none last),
 * then by number. Spellings are checked before anything is read.
 */
export function findTasks(r: TaskReader, o: TaskQueryOptions): TaskView[] {
  const q = compile(r, o);
  const s = r.client.state;
  const today = dayIn(r.now(), r.zone);
  const out: Array<{ t: Task; v: TaskView }> = [];
  for (const id of s.taskIds) {
    const t = s.tasks.get(id)!;
    // The rules say who may read, not only which keys happen to open it.
    if (q.readableOnly && !canReadTask(s, r.client.me, t)) continue;
    const v = taskView(r.client, t);
    if (q.readableOnly && v.title === null) continue;
    if (q.test(t, v)) out.push({ t, v });
  }
  const overdue = (t: Task) => !t.closed && t.due !== null && t.due < today;
  out.sort((a, b) => Number(overdue(b.t)) - Number(overdue(a.t)) || (a.t.due ?? "9999").localeCompare(b.t.due ?? "9999") || a.t.num - b.t.num);
  return out.map((x) => x.v);
}
