// `!task …` handlers: parse, call the use case (src/usecases/tasks.ts, which
// `pursuance client task …` calls too), format. Every write goes through the
// rules' dry run, so a refusal changes nothing in the log.
import { assigneeText, findTask, taskView } from "../pursuance/views.js";
import type { Task } from "../pursuance/state.js";
import { labelTask, prioritizeTask } from "../usecases/labels.js";
import { findTasks, type TaskQueryOptions } from "../usecases/task-queries.js";
import { archiveTask, assignTask, closeTask, commentOnTask, createTask, reopenTask, retitleTask, setTaskStatus } from "../usecases/tasks.js";
import type { BoundHandler as Handler, Invocation } from "./command-spec.js";
import { html, mirrored } from "./reply.js";
import { renderTask, renderTaskList, taskLine, taskLineHtml } from "./task-format.js";

const ref = (t: Task) => `#${t.num}`;

export const taskCreate: Handler = async (inv, ctx) => {
  const { view: v } = await createTask(ctx, {
    title: inv.arg("title"),
    deliverables: inv.flag("deliverables"),
    role: inv.flag("role"),
    assign: inv.flag("assign"),
    parent: inv.flag("parent"),
    due: inv.flag("due"),
  });
  return { kind: "task-created", task: v, plain: `created ${taskLine(v)}`, html: html`created ${taskLineHtml(v)}`.value };
};

/** The list flags as typed; the use case parses them (SpellingError, LookupError name the value). */
function queryOf(inv: Invocation): TaskQueryOptions {
  const str = (n: string) => inv.flag(n);
  return {
    ...(inv.has("mine") ? { mine: true } : {}),
    ...(inv.has("overdue") ? { overdue: true } : {}),
    ...(inv.has("all") ? { all: true } : {}),
    ...(str("role") !== undefined ? { role: str("role")! } : {}),
    ...(str("status") !== undefined ? { status: str("status")! } : {}),
    ...(str("assignee") !== undefined ? { assignee: str("assignee")! } : {}),
    ...(str("due") !== undefined ? { due: str("due")! } : {}),
    ...(str("label") !== undefined ? { label: str("label")! } : {}),
  };
}

export const taskList: Handler = async (inv, ctx) => {
  const out = renderTaskList(findTasks(ctx, queryOf(inv)));
  return { kind: "ok", plain: out.plain, html: out.html.value };
};

export const taskSearch: Handler = async (inv, ctx) => {
  const views = findTasks(ctx, { ...queryOf(inv), words: inv.arg("words") });
  if (views.length === 0) return { kind: "ok", plain: "no task you may read matches", html: "no task you may read matches" };
  const out = renderTaskList(views);
  return { kind: "ok", plain: out.plain, html: out.html.value };
};

export const taskShow: Handler = async (inv, ctx) => {
  const out = renderTask(taskView(ctx.client, findTask(ctx.client.state, inv.arg("id"))));
  return { kind: "ok", plain: out.plain, html: out.html.value };
};

export const taskAssign: Handler = async (inv, ctx) => {
  const { task: t, assignee } = await assignTask(ctx, { task: inv.arg("id"), to: inv.arg("who") });
  const name = assigneeText(ctx.client.state, assignee) ?? "nobody";
  return mirrored(`${ref(t)} assigned to ${name}`, html`<b>${ref(t)}</b> assigned to ${name}`);
};

export const taskStatus: Handler = async (inv, ctx) => {
  const { task: t, status: st } = await setTaskStatus(ctx, { task: inv.arg("id"), status: inv.arg("status") });
  return mirrored(`${ref(t)} is now ${st}`, html`<b>${ref(t)}</b> is now <em>${st}</em>`);
};

export const taskComment: Handler = async (inv, ctx) => {
  const { task: t, comments: n } = await commentOnTask(ctx, { task: inv.arg("id"), text: inv.arg("text") });
  return mirrored(`commented on ${ref(t)} (${n} comment${n === 1 ? "" : "s"})`, html`commented on <b>${ref(t)}</b> (${n} comment${n === 1 ? "" : "s"})`);
};

export const taskClose: Handler = async (inv, ctx) => {
  const { task: t, reason } = await closeTask(ctx, { task: inv.arg("id"), reason: inv.opt("reason") });
  return mirrored(`${ref(t)} closed${reason ? `: ${reason}` : ""}`, html`<b>${ref(t)}</b> closed${reason ? html`: ${reason}` : ""}`);
};

export const taskReopen: Handler = async (inv, ctx) => {
  const { task: t } = await reopenTask(ctx, { task: inv.arg("id") });
  return mirrored(`${ref(t)} reopened`, html`<b>${ref(t)}</b> reopened`);
};

export const taskArchive: Handler = async (inv, ctx) => {
  const { task: t } = await archiveTask(ctx, { task: inv.arg("id") });
  return mirrored(`${ref(t)} archived (!task list --all still shows it)`, html`<b>${ref(t)}</b> archived (<code>!task list --all</code> still shows it)`);
};

/** A new title, re-encrypted under the task's content key: every reader of the task reads it. */
export const taskRetitle: Handler = async (inv, ctx) => {
  const { task: t, title } = await retitleTask(ctx, { task: inv.arg("id"), title: inv.arg("title") });
  return mirrored(`${ref(t)} is now titled "${title}"`, html`<b>${ref(t)}</b> is now titled “${title}”`);
};

export const taskLabel: Handler = async (inv, ctx) => {
  const { task: t, labels } = await labelTask(ctx, { task: inv.arg("id"), labels: inv.arg("labels") });
  const text = labels.join(", ") || "none";
  return mirrored(`${ref(t)} labels: ${text}`, html`<b>${ref(t)}</b> labels: ${text}`);
};

export const taskPriority: Handler = async (inv, ctx) => {
  const { task: t, priority } = await prioritizeTask(ctx, { task: inv.arg("id"), priority: inv.arg("priority") });
  return mirrored(`${ref(t)} priority: ${priority}`, html`<b>${ref(t)}</b> priority: <em>${priority}</em>`);
};
