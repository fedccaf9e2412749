// `pursuance client task …`: create, list, show, assign, comment, status,
// close, reopen. Task text is encrypted for its reader roles; where our keys
// do not open it we say the task exists and nothing more.
import { writeFileSync } from "node:fs";
import { PRIORITIES, TASK_STATUSES } from "../pursuance/events.js";
import { labelTask, labelsText, parsePriority, prioritizeTask } from "../usecases/labels.js";
import { findTask, taskView, type TaskView } from "../pursuance/views.js";
import { clientEnv } from "../usecases/env.js";
import { parseDue, parseStatus, parseTitle } from "../usecases/spellings.js";
import { checkTaskQuery, findTasks, type TaskQueryOptions } from "../usecases/task-queries.js";
import { exportTasks, parseExportFormat, readableTasks } from "../usecases/task-export.js";
import { archiveTask, assignTask, closeTask, commentOnTask, createTask, reopenTask, retitleTask, setTaskStatus } from "../usecases/tasks.js";
import type { SubCommand } from "./client-context.js";
import { FILE_SUBS } from "./client-file-commands.js";
import { listFiles, sizeText } from "../usecases/files.js";
import { arg, runStaged, type Io, type Parsed, type Stage } from "./client-context.js";
import { UsageError } from "./usage.js";

function line(v: TaskView): string {
  const title = v.title ?? "(encrypted: not readable with your roles)";
  const who = v.assignee ? ` → ${v.assignee}` : "";
  const due = v.due ? ` due ${v.due}` : "";
  return `#${String(v.num).padEnd(4)} [${v.status}] ${title}${who}${due}${labelsText(v)}  (${v.readers.join(", ")})`;
}

function show(io: Io, v: TaskView): void {
  io.out(line(v));
  io.out(`  id ${v.id}  by ${v.creator}${v.parent ? `  parent #${v.parent}` : ""}${v.closed ? "  CLOSED" : ""}${v.archived ? "  ARCHIVED" : ""}`);
  if (v.deliverables) io.out(`  deliverables: ${v.deliverables}`);
  if (v.closeReason) io.out(`  closed because: ${v.closeReason}`);
  for (const c of v.comments) io.out(`  ${c.author}: ${c.text ?? "(encrypted)"}`);
}

/** The flags of `task list` and `task search`, as typed: the use case parses them. */
function queryOf(p: Parsed): TaskQueryOptions {
  const v = p.values;
  return {
    ...(v.mine ? { mine: true } : {}),
    ...(v.overdue ? { overdue: true } : {}),
    ...(v.all ? { all: true } : {}),
    ...(typeof v.status === "string" ? { status: v.status } : {}),
    ...(typeof v.role === "string" ? { role: v.role } : {}),
    ...(typeof v.assignee === "string" ? { assignee: v.assignee } : {}),
    ...(typeof v.due === "string" ? { due: v.due } : {}),
    ...(typeof v.label === "string" ? { label: v.label } : {}),
  };
}

function listing(p: Parsed, q: TaskQueryOptions): Stage {
  checkTaskQuery(q, Date.now()); // bad spellings fail before any network work
  return async (c, io) => {
    const views = findTasks({ client: c, now: () => c.ports.now(), zone: Intl.DateTimeFormat().resolvedOptions().timeZone }, q);
    if (p.values.json) return io.out(JSON.stringify(views, null, 2));
    if (views.length === 0) io.out(q.words !== undefined ? "no task you may read matches" : "no tasks");
    for (const v of views) io.out(line(v));
  };
}

const SUBS: Record<string, (p: Parsed) => Stage> = {
  create(p) {
    const o = {
      // Checked here, before any syncing: a title that cannot be is no reason to wait on a relay.
      title: parseTitle(arg(p, 1, "the task title")),
      deliverables: p.values.deliverables as string | undefined,
      role: p.values.role as string | undefined,
      assign: p.values.assign as string | undefined,
      parent: p.values.parent as string | undefined,
      due: p.values.due as string | undefined,
    };
    if (o.due !== undefined) parseDue(o.due, Date.now());
    return async (c, io) => {
      const { id, task } = await createTask(clientEnv(c), o);
      io.out(p.values.json ? JSON.stringify({ id, num: task.num }) : id);
    };
  },
  list(p) {
    return listing(p, queryOf(p));
  },
  search(p) {
    const words = p.positionals.slice(1).join(" ");
    if (words.trim() === "") throw new UsageError('task search needs words to look for, e.g. task search "records request"');
    return listing(p, { ...queryOf(p), words });
  },
  show(p) {
    const ref = arg(p, 1, "a task (#N or id)");
    return async (c, io) => {
      const v = taskView(c, findTask(c.state, ref));
      if (p.values.json) return io.out(JSON.stringify(v, null, 2));
      show(io, v);
      for (const f of listFiles(clientEnv(c), { task: ref }).files) io.out(`  file ${f.n}: ${f.name ?? "(encrypted)"} (${sizeText(f.size)}, by ${f.author})`);
    };
  },
  assign(p) {
    const task = arg(p, 1, "a task");
    const to = arg(p, 2, "an assignee (member name, id prefix, or role:NAME; 'none' to clear)");
    return async (c, io) => {
      const { task: t } = await assignTask(clientEnv(c), { task, to });
      io.out(`#${t.num} assigned to ${to}`);
    };
  },
  comment(p) {
    const task = arg(p, 1, "a task");
    const text = arg(p, 2, "the comment text");
    return async (c, io) => {
      const { id, task: t } = await commentOnTask(clientEnv(c), { task, text });
      io.out(p.values.json ? JSON.stringify({ id }) : `commented on #${t.num}`);
    };
  },
  status(p) {
    const task = arg(p, 1, "a task");
    const status = parseStatus(arg(p, 2, `a status (${TASK_STATUSES.join(", ")})`));
    return async (c, io) => {
      const { task: t } = await setTaskStatus(clientEnv(c), { task, status });
      io.out(`#${t.num} is now ${status}`);
    };
  },
  close(p) {
    const task = arg(p, 1, "a task");
    return async (c, io) => {
      const { task: t } = await closeTask(clientEnv(c), { task, reason: p.positionals.slice(2).join(" ") });
      io.out(`#${t.num} closed`);
    };
  },
  archive(p) {
    const task = arg(p, 1, "a task");
    return async (c, io) => {
      const { task: t } = await archiveTask(clientEnv(c), { task });
      io.out(`#${t.num} archived (task list --all still shows it)`);
    };
  },
  retitle(p) {
    const task = arg(p, 1, "a task");
    const title = parseTitle(arg(p, 2, "the new title"));
    if (p.positionals.length > 3) throw new UsageError(`unexpected ${JSON.stringify(p.positionals[3])}: quote a title with spaces`);
    return async (c, io) => {
      const { task: t } = await retitleTask(clientEnv(c), { task, title, deliverables: p.values.deliverables as string | undefined });
      io.out(`#${t.num} is now titled ${JSON.stringify(title)}`);
    };
  },
  label(p) {
    const task = arg(p, 1, "a task");
    const labels = p.positionals.slice(2).join(" ");
    if (labels.trim() === "") throw new UsageError("task label needs labels to add (+name) or remove (-name), e.g. task label 3 +urgent -later");
    return async (c, io) => {
      const r = await labelTask(clientEnv(c), { task, labels });
      io.out(p.values.json ? JSON.stringify({ num: r.task.num, labels: r.labels, priority: r.priority }) : `#${r.task.num} labels: ${r.labels.join(", ") || "none"}`);
    };
  },
  priority(p) {
    const task = arg(p, 1, "a task");
    const priority = parsePriority(arg(p, 2, `a priority (${PRIORITIES.join(", ")})`));
    return async (c, io) => {
      const r = await prioritizeTask(clientEnv(c), { task, priority });
      io.out(p.values.json ? JSON.stringify({ num: r.task.num, labels: r.labels, priority: r.priority }) : `#${r.task.num} priority: ${r.priority}`);
    };
  },
  reopen(p) {
    const task = arg(p, 1, "a task");
    return async (c, io) => {
      const { task: t } = await reopenTask(clientEnv(c), { task });
      io.out(`#${t.num} reopened`);
    };
  },
  ...FILE_SUBS,
};

/** `task …` checked (no network), ready to run on a synced client: what `run` does inside withClient (tests drive it on their own clients). */
export function taskStage(p: Parsed): Stage {
  const sub = p.positionals[0];
  if (!sub || !Object.hasOwn(SUBS, sub)) throw new UsageError(`task needs one of: ${Object.keys(SUBS).join(", ")}`);
  return SUBS[sub]!(p);
}

export const TASK_COMMANDS: Record<string, SubCommand> = {
  task: {
    usage: 'task create "<title>" [--role R] [--assign WHO] [--due DATE] [--parent #N] | list [--mine] [--status S] [--role R] [--assignee WHO] [--due SPAN|DATE] [--overdue] [--label L] [--all] | search WORDS [--mine] [--status S] [--role R] [--assignee WHO] [--due SPAN|DATE] [--overdue] [--all] | show #N | assign #N WHO | comment #N "text" | status #N S | close #N [reason] | reopen #N | archive #N | retitle #N "<title>" [--deliverables TEXT] | label #N +NAME -NAME … | priority #N low|normal|high|urgent | attach #N FILE | files #N | fetch #N FILE|N [--out PATH [--force]] [--wait DUR]',
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
      assignee: { type: "string" },
      overdue: { type: "boolean" },
      label: { type: "string" },
      out: { type: "string" },
      force: { type: "boolean" },
      wait: { type: "string" },
    },
    run: runStaged(taskStage),
  },
  export: {
    usage: "export --format json|csv|ics [--out FILE]",
    summary: "take what you may read with you: every task you may read, with its comments, as JSON, CSV or a calendar of VTODOs (decrypted: keep the file safe)",
    options: { format: { type: "string" }, out: { type: "string" } },
    run: runStaged((p) => {
      if (typeof p.values.format !== "string") throw new UsageError("export needs --format json, csv or ics");
      const format = parseExportFormat(p.values.format);
      const out = typeof p.values.out === "string" ? p.values.out : null;
      return async (c, io) => {
        const text = exportTasks({ client: c, now: () => c.ports.now() }, format, c.state.name);
        if (out === null) return io.out(text.replace(/\r?\n$/, ""));
        // Decrypted content: readable by its owner only, as the home is.
        writeFileSync(out, text, { mode: 0o600 });
        io.out(`wrote ${readableTasks({ client: c, now: () => c.ports.now() }).length} tasks you may read to ${out} (${format})`);
      };
    }),
  },
};
