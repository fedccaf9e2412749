// `pursuance client task …`: create, list, show, assign, comment, status,
// close, reopen. Task text is encrypted for its reader roles; where our keys
// do not open it we say the task exists and nothing more.
import { assignBody, closeBody, commentBody, retitleBody, taskCreateBody } from "../pursuance/actions.js";
import { archiveBody } from "../pursuance/actions-rules.js";
import { TASK_STATUSES, type TaskStatus } from "../pursuance/events.js";
import { entitled } from "../pursuance/state.js";
import { findTask, parseAssignee, taskView, type TaskView } from "../pursuance/views.js";
import type { SubCommand } from "./client-context.js";
import { arg, withClient, type Io, type Parsed } from "./client-context.js";
import { UsageError } from "./relay-command.js";
import { roleDef } from "../pursuance/rules.js";


function line(v: TaskView): string {
  const title = v.title ?? "(encrypted: not readable with your roles)";
  const who = v.assignee ? ` → ${v.assignee}` : "";
  const due = v.due ? ` due ${v.due}` : "";
  return `#${String(v.num).padEnd(4)} [${v.status}] ${title}${who}${due}  (${v.readers.join(", ")})`;
}

function show(io: Io, v: TaskView): void {
  io.out(line(v));
  io.out(`  id ${v.id}  by ${v.creator}${v.parent ? `  parent #${v.parent}` : ""}${v.closed ? "  CLOSED" : ""}${v.archived ? "  ARCHIVED" : ""}`);
  if (v.deliverables) io.out(`  deliverables: ${v.deliverables}`);
  if (v.closeReason) io.out(`  closed because: ${v.closeReason}`);
  for (const c of v.comments) io.out(`  ${c.author}: ${c.text ?? "(encrypted)"}`);
}

const SUBS: Record<string, (p: Parsed, io: Io) => Promise<void>> = {
  async create(p, io) {
    const title = arg(p, 1, "the task title");
    await withClient(p, io, async (c) => {
      const s = c.state;
      const readable = entitled(s, c.me).filter((sc) => sc !== "group");
      const role = (p.values.role as string | undefined) ?? readable.sort((a, b) => roleDef(s.rules, a)!.rank - roleDef(s.rules, b)!.rank)[0];
      if (!role) throw new UsageError("you hold no role that can read tasks; pass --role");
      const due = p.values.due as string | undefined;
      if (due !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(due)) throw new UsageError(`--due: ${JSON.stringify(due)} is not a date like 2026-12-31`);
      const body = (st: typeof s) => taskCreateBody(c.actor, st, {
        text: { title, deliverables: (p.values.deliverables as string | undefined) ?? "" },
        readers: [role],
        assignee: p.values.assign ? parseAssignee(s, p.values.assign as string) : null,
        parent: p.values.parent ? findTask(s, p.values.parent as string).id : null,
        due: due ?? null,
      });
      const { id } = await c.publish(body);
      const t = c.state.tasks.get(id)!;
      io.out(p.values.json ? JSON.stringify({ id, num: t.num }) : id);
    });
  },
  async list(p, io) {
    await withClient(p, io, async (c) => {
      let views = c.state.taskIds.map((id) => taskView(c, c.state.tasks.get(id)!)).filter((v) => !v.archived || p.values.all);
      if (p.values.status) views = views.filter((v) => v.status === p.values.status);
      if (p.values.mine) views = views.filter((v) => v.assignee === c.state.members.get(c.me)?.name);
      if (p.values.json) return io.out(JSON.stringify(views, null, 2));
      if (views.length === 0) io.out("no tasks");
      for (const v of views) io.out(line(v));
    });
  },
  async show(p, io) {
    const ref = arg(p, 1, "a task (#N or id)");
    await withClient(p, io, async (c) => {
      const v = taskView(c, findTask(c.state, ref));
      if (p.values.json) io.out(JSON.stringify(v, null, 2));
      else show(io, v);
    });
  },
  async assign(p, io) {
    const ref = arg(p, 1, "a task");
    const who = arg(p, 2, "an assignee (member name, id prefix, or role:NAME; 'none' to clear)");
    await withClient(p, io, async (c) => {
      const t = findTask(c.state, ref);
      await c.publish(assignBody(c.actor, c.state, t, who === "none" ? null : parseAssignee(c.state, who)));
      io.out(`#${t.num} assigned to ${who}`);
    });
  },
  async comment(p, io) {
    const ref = arg(p, 1, "a task");
    const text = arg(p, 2, "the comment text");
    await withClient(p, io, async (c) => {
      const t = findTask(c.state, ref);
      const { id } = await c.publish(commentBody(c.actor, t, text));
      io.out(p.values.json ? JSON.stringify({ id }) : `commented on #${t.num}`);
    });
  },
  async status(p, io) {
    const ref = arg(p, 1, "a task");
    const st = arg(p, 2, `a status (${TASK_STATUSES.join(", ")})`);
    if (!(TASK_STATUSES as readonly string[]).includes(st)) throw new UsageError(`status must be one of: ${TASK_STATUSES.join(", ")}`);
    await withClient(p, io, async (c) => {
      const t = findTask(c.state, ref);
      await c.publish({ t: "task.update", task: t.id, status: st as TaskStatus });
      io.out(`#${t.num} is now ${st}`);
    });
  },
  async close(p, io) {
    const ref = arg(p, 1, "a task");
    await withClient(p, io, async (c) => {
      const t = findTask(c.state, ref);
      await c.publish(closeBody(c.actor, t, p.positionals.slice(2).join(" ") || null));
      io.out(`#${t.num} closed`);
    });
  },
  async archive(p, io) {
    const ref = arg(p, 1, "a task");
    await withClient(p, io, async (c) => {
      const t = findTask(c.state, ref);
      await c.publish(archiveBody(t));
      io.out(`#${t.num} archived (task list --all still shows it)`);
    });
  },
  async retitle(p, io) {
    const ref = arg(p, 1, "a task");
    const title = arg(p, 2, "the new title").trim();
    if (title === "") throw new UsageError("the new title is empty");
    if (p.positionals.length > 3) throw new UsageError(`unexpected ${JSON.stringify(p.positionals[3])}: quote a title with spaces`);
    await withClient(p, io, async (c) => {
      const t = findTask(c.state, ref);
      const v = taskView(c, t);
      if (v.title === null) throw new UsageError(`task #${t.num} is not readable with your roles (readers: ${t.readers.join(", ")})`);
      // The text is re-encrypted under the task's content key, so every reader of the task reads the new title.
      await c.publish(retitleBody(c.actor, t, { title, deliverables: (p.values.deliverables as string | undefined) ?? v.deliverables ?? "" }));
      io.out(`#${t.num} is now titled ${JSON.stringify(title)}`);
    });
  },
  async reopen(p, io) {
    const ref = arg(p, 1, "a task");
    await withClient(p, io, async (c) => {
      const t = findTask(c.state, ref);
      await c.publish({ t: "task.reopen", task: t.id });
      io.out(`#${t.num} reopened`);
    });
  },
};

export const TASK_COMMANDS: Record<string, SubCommand> = {
  task: {
    usage: 'task create "<title>" [--role R] [--assign WHO] [--due DATE] [--parent #N] | list [--mine] [--status S] | show #N | assign #N WHO | comment #N "text" | status #N S | close #N [reason] | reopen #N | archive #N | retitle #N "<title>" [--deliverables TEXT]',
    summary: "work on tasks",
    options: {
      role: { type: "string" },
      assign: { type: "string" },
      due: { type: "string" },
      parent: { type: "string" },
      deliverables: { type: "string" },
      mine: { type: "boolean" },
      status: { type: "string" },
      all: { type: "boolean" },
    },
    async run(p, io) {
      const sub = p.positionals[0];
      if (!sub || !Object.hasOwn(SUBS, sub)) throw new UsageError(`task needs one of: ${Object.keys(SUBS).join(", ")}`);
      await SUBS[sub]!(p, io);
    },
  },
};
