// What a member is told without asking, once for both faces: a task newly
// given to them (to them, or to a role they hold), and a digest of their open
// work due soon and what changed on it since the last one. Built only from
// what the member may read (the search rule), so a notice never carries a
// task they may not read. The host keeps what was told (never told twice).
import type { Task } from "../pursuance/state.js";
import { canReadTask } from "../pursuance/state.js";
import { taskView, type TaskView } from "../pursuance/views.js";
import { findTasks, type TaskReader } from "./task-queries.js";

/** Assigned to the member, or to a role the member holds. */
export function assignedToMe(r: TaskReader, t: Task): boolean {
  const a = t.assignee;
  if (a === null) return false;
  if ("member" in a) return a.member === r.client.me;
  return r.client.state.members.get(r.client.me)?.roles.has(a.role) ?? false;
}

/** Open tasks given to the member that the host has not told them of yet (by task id). */
export function newAssignments(r: TaskReader, told: ReadonlySet<string>): TaskView[] {
  const s = r.client.state;
  const out: TaskView[] = [];
  for (const id of s.taskIds) {
    const t = s.tasks.get(id)!;
    if (told.has(id) || t.closed || t.archived || !assignedToMe(r, t) || !canReadTask(s, r.client.me, t)) continue;
    const v = taskView(r.client, t);
    if (v.title !== null) out.push(v);
  }
  return out;
}

export interface Digest {
  /** Open, the member's, due within 14 days (overdue first). */
  due: TaskView[];
  /** The member's tasks changed (status, text, a comment) since `since`. */
  changed: TaskView[];
  since: number;
}

export const DIGEST_DUE = "14d";

/** How far ahead of our clock an author's time may be and still count as "now" (clocks drift; a time far ahead is a claim). */
export const CLOCK_SKEW_MS = 5 * 60_000;

export function digest(r: TaskReader, since: number): Digest {
  const s = r.client.state;
  const due = findTasks(r, { mine: true, due: DIGEST_DUE });
  // Times are what authors claim: one dated next year must not pin a task to every digest until then.
  const until = r.now() + CLOCK_SKEW_MS;
  const within = (ts: number) => ts > since && ts <= until;
  const changed = findTasks(r, { mine: true, all: true }).filter((v) => {
    const t = s.tasks.get(v.id)!;
    return within(t.updatedTs) || t.comments.some((c) => within(c.ts));
  });
  return { due, changed, since };
}

/** Open tasks of the member's, readable, due by tomorrow (or overdue): the "due within a day" mention. */
export function dueSoon(r: TaskReader): TaskView[] {
  return findTasks(r, { mine: true, due: "1d" });
}
