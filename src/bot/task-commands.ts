// `!task …` handlers: the same actions as `pursuance client task …`, over the
// acting member's client. Every write goes through publish (parse + the
// rules' dry run), so a refusal changes nothing in the log.
import { assignBody, closeBody, commentBody, retitleBody, taskCreateBody } from "../pursuance/actions.js";
import { archiveBody } from "../pursuance/actions-rules.js";
import { assigneeText, findTask, taskView } from "../pursuance/views.js";
import { entitled, type Task } from "../pursuance/state.js";
import type { BoundHandler as Handler } from "./command-spec.js";
import { html, mirrored } from "./reply.js";
import { findRole, parseDue, parseStatus, publish, resolveAssignee } from "./refs.js";
import { renderTask, renderTaskList, taskLine, taskLineHtml } from "./task-format.js";
import { UsageError } from "./tokenize.js";
import { roleDef } from "../pursuance/rules.js";

const ref = (t: Task) => `#${t.num}`;

export const taskCreate: Handler = async (inv, ctx) => {
  const c = ctx.client;
  const s = c.state;
  // Default reader role, as the CLI: the lowest-ranked role whose key we hold, so the most members can read it.
  const readable = entitled(s, c.me).filter((sc) => sc !== "group");
  const roleRef = inv.flag("role");
  const role = roleRef !== undefined ? findRole(s, roleRef) : readable.sort((a, b) => roleDef(s.rules, a)!.rank - roleDef(s.rules, b)!.rank)[0];
  if (!role) throw new UsageError("you hold no role that can read tasks: pass --role");
  const due = inv.flag("due");
  const assign = inv.flag("assign");
  const parent = inv.flag("parent");
  // A builder: if a key must rotate first (someone lost it), the task is sealed under the new one.
  const body = (st: typeof s) => taskCreateBody(c.actor, st, {
    text: { title: inv.arg("title").trim(), deliverables: inv.flag("deliverables") ?? "" },
    readers: [role],
    assignee: assign !== undefined ? resolveAssignee(ctx, assign) : null,
    parent: parent !== undefined ? findTask(s, parent).id : null,
    due: due !== undefined ? parseDue(due, ctx.now()) : null,
  });
  const { id } = await publish(ctx, body);
  const v = taskView(c, c.state.tasks.get(id)!);
  return { kind: "task-created", task: v, plain: `created ${taskLine(v)}`, html: html`created ${taskLineHtml(v)}`.value };
};

export const taskList: Handler = async (inv, ctx) => {
  const c = ctx.client;
  const s = c.state;
  const mine = s.members.get(c.me);
  const role = inv.flag("role") !== undefined ? findRole(s, inv.flag("role")!) : undefined;
  const status = inv.flag("status") !== undefined ? parseStatus(inv.flag("status")!) : undefined;
  let tasks = s.taskIds.map((id) => s.tasks.get(id)!).filter((t) => !t.archived || inv.has("all"));
  // --mine compares ids, not names: two members may share a name.
  if (inv.has("mine")) tasks = tasks.filter((t) => t.assignee !== null && ("member" in t.assignee ? t.assignee.member === c.me : (mine?.roles.has(t.assignee.role) ?? false)));
  if (role) tasks = tasks.filter((t) => t.readers.includes(role) || (t.assignee !== null && "role" in t.assignee && t.assignee.role === role));
  if (status) tasks = tasks.filter((t) => t.status === status);
  const out = renderTaskList(tasks.map((t) => taskView(c, t)));
  return { kind: "ok", plain: out.plain, html: out.html.value };
};

export const taskShow: Handler = async (inv, ctx) => {
  const out = renderTask(taskView(ctx.client, findTask(ctx.client.state, inv.arg("id"))));
  return { kind: "ok", plain: out.plain, html: out.html.value };
};

export const taskAssign: Handler = async (inv, ctx) => {
  const c = ctx.client;
  const t = findTask(c.state, inv.arg("id"));
  const who = resolveAssignee(ctx, inv.arg("who"));
  await publish(ctx, assignBody(c.actor, c.state, t, who));
  const name = assigneeText(c.state, who) ?? "nobody";
  return mirrored(`${ref(t)} assigned to ${name}`, html`<b>${ref(t)}</b> assigned to ${name}`);
};

export const taskStatus: Handler = async (inv, ctx) => {
  const c = ctx.client;
  const t = findTask(c.state, inv.arg("id"));
  const st = parseStatus(inv.arg("status"));
  await publish(ctx, { t: "task.update", task: t.id, status: st });
  return mirrored(`${ref(t)} is now ${st}`, html`<b>${ref(t)}</b> is now <em>${st}</em>`);
};

export const taskComment: Handler = async (inv, ctx) => {
  const c = ctx.client;
  const t = findTask(c.state, inv.arg("id"));
  await publish(ctx, commentBody(c.actor, t, inv.arg("text")));
  const n = c.state.tasks.get(t.id)!.comments.length;
  return mirrored(`commented on ${ref(t)} (${n} comment${n === 1 ? "" : "s"})`, html`commented on <b>${ref(t)}</b> (${n} comment${n === 1 ? "" : "s"})`);
};

export const taskClose: Handler = async (inv, ctx) => {
  const c = ctx.client;
  const t = findTask(c.state, inv.arg("id"));
  const reason = inv.opt("reason")?.trim() || null;
  await publish(ctx, closeBody(c.actor, t, reason));
  return mirrored(`${ref(t)} closed${reason ? `: ${reason}` : ""}`, html`<b>${ref(t)}</b> closed${reason ? html`: ${reason}` : ""}`);
};

export const taskReopen: Handler = async (inv, ctx) => {
  const c = ctx.client;
  const t = findTask(c.state, inv.arg("id"));
  await publish(ctx, { t: "task.reopen", task: t.id });
  return mirrored(`${ref(t)} reopened`, html`<b>${ref(t)}</b> reopened`);
};

export const taskArchive: Handler = async (inv, ctx) => {
  const t = findTask(ctx.client.state, inv.arg("id"));
  await publish(ctx, archiveBody(t));
  return mirrored(`${ref(t)} archived (!task list --all still shows it)`, html`<b>${ref(t)}</b> archived (<code>!task list --all</code> still shows it)`);
};

/** A new title, re-encrypted under the task's content key: every reader of the task reads it. */
export const taskRetitle: Handler = async (inv, ctx) => {
  const c = ctx.client;
  const t = findTask(c.state, inv.arg("id"));
  const title = inv.arg("title").trim();
  if (title.length > 500) throw new UsageError(`a title is at most 500 characters (this one has ${title.length})`);
  const v = taskView(c, t);
  if (v.title === null) throw new UsageError(`${ref(t)} is not readable with your roles (readers: ${t.readers.join(", ")})`);
  await publish(ctx, retitleBody(c.actor, t, { title, deliverables: v.deliverables ?? "" }));
  return mirrored(`${ref(t)} is now titled "${title}"`, html`<b>${ref(t)}</b> is now titled “${title}”`);
};
