// What a member does to tasks, once for both faces: create, assign, status,
// comment, close, reopen, archive, retitle. Each takes the env and plain
// options (spellings as typed), resolves them with the shared parser, and
// publishes through the rules' dry run: a refusal throws before anything is
// posted (SpellingError, LookupError, UsageError, ActionError).
import { assignBody, closeBody, commentBody, retitleBody, taskCreateBody } from "../pursuance/actions.js";
import { archiveBody } from "../pursuance/actions-rules.js";
import type { Assignee, TaskStatus } from "../pursuance/events.js";
import { roleDef } from "../pursuance/rules.js";
import { entitled, type PursuanceState, type Task } from "../pursuance/state.js";
import { findTask, taskView, type TaskView } from "../pursuance/views.js";
import { publish, type Env } from "./env.js";
import { UsageError } from "./errors.js";
import { findRole, parseDue, parseStatus, parseTitle, resolveAssignee } from "./spellings.js";

/** The reader role a task gets when none is named: the lowest-ranked role whose key we hold, so the most members can read it. */
export function defaultReaderRole(s: PursuanceState, me: string): string | undefined {
  const readable = entitled(s, me).filter((sc) => sc !== "group");
  return readable.sort((a, b) => roleDef(s.rules, a)!.rank - roleDef(s.rules, b)!.rank)[0];
}

export interface CreateTaskOptions {
  title: string;
  deliverables?: string;
  /** A role name as typed; absent: defaultReaderRole. */
  role?: string;
  /** Member, role or "none", as typed. */
  assign?: string;
  /** A task reference (#N or id). */
  parent?: string;
  /** YYYY-MM-DD, today, tomorrow, +3d, +2w. */
  due?: string;
}

export async function createTask(env: Env, o: CreateTaskOptions): Promise<{ id: string; task: Task; view: TaskView }> {
  const c = env.client;
  const s = c.state;
  const title = parseTitle(o.title);
  const role = o.role !== undefined ? findRole(s, o.role) : defaultReaderRole(s, c.me);
  if (!role) throw new UsageError("you hold no role that can read tasks: pass --role");
  const assignee = o.assign !== undefined ? resolveAssignee(env, o.assign) : null;
  const parent = o.parent !== undefined ? findTask(s, o.parent).id : null;
  const due = o.due !== undefined ? parseDue(o.due, env.now()) : null;
  // A builder: if a key must rotate first (someone lost it), the task is sealed under the new one.
  const body = (st: PursuanceState) => taskCreateBody(c.actor, st, {
    text: { title, deliverables: o.deliverables ?? "" },
    readers: [role],
    assignee,
    parent,
    due,
  });
  const { id } = await publish(env, body);
  const task = c.state.tasks.get(id)!;
  return { id, task, view: taskView(c, task) };
}

/** Assign a task to a member or a role ("none" clears). */
export async function assignTask(env: Env, o: { task: string; to: string }): Promise<{ task: Task; assignee: Assignee | null }> {
  const c = env.client;
  const task = findTask(c.state, o.task);
  const assignee = resolveAssignee(env, o.to);
  await publish(env, assignBody(c.actor, c.state, task, assignee));
  return { task, assignee };
}

export async function setTaskStatus(env: Env, o: { task: string; status: string }): Promise<{ task: Task; status: TaskStatus }> {
  const task = findTask(env.client.state, o.task);
  const status = parseStatus(o.status);
  await publish(env, { t: "task.update", task: task.id, status });
  return { task, status };
}

export async function commentOnTask(env: Env, o: { task: string; text: string }): Promise<{ id: string; task: Task; comments: number }> {
  const c = env.client;
  const task = findTask(c.state, o.task);
  const { id } = await publish(env, commentBody(c.actor, task, o.text));
  return { id, task, comments: c.state.tasks.get(task.id)!.comments.length };
}

export async function closeTask(env: Env, o: { task: string; reason?: string }): Promise<{ task: Task; reason: string | null }> {
  const c = env.client;
  const task = findTask(c.state, o.task);
  const reason = o.reason?.trim() || null;
  await publish(env, closeBody(c.actor, task, reason));
  return { task, reason };
}

export async function reopenTask(env: Env, o: { task: string }): Promise<{ task: Task }> {
  const task = findTask(env.client.state, o.task);
  await publish(env, { t: "task.reopen", task: task.id });
  return { task };
}

export async function archiveTask(env: Env, o: { task: string }): Promise<{ task: Task }> {
  const task = findTask(env.client.state, o.task);
  await publish(env, archiveBody(task));
  return { task };
}

/** A new title, re-encrypted under the task's content key: every reader of the task reads it. */
export async function retitleTask(env: Env, o: { task: string; title: string; deliverables?: string }): Promise<{ task: Task; title: string }> {
  const c = env.client;
  const task = findTask(c.state, o.task);
  const title = parseTitle(o.title);
  const v = taskView(c, task);
  if (v.title === null) throw new UsageError(`task #${task.num} is not readable with your roles (readers: ${task.readers.join(", ")})`);
  await publish(env, retitleBody(c.actor, task, { title, deliverables: o.deliverables ?? v.deliverables ?? "" }));
  return { task, title };
}
