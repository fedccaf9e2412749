// Reducers for tasks and announcements. Who may act on a task is visible to
// every member (readers, assignee, status), so every client validates; what
// the task says is ciphertext that only its readers open.
import type { Body } from "./events.js";
import { type PEvent, reject, requireCap, requireActor, requireMember, requireRole, short } from "./apply-common.js";
import { NO_KEY, canReadTask, entitled, type PursuanceState, type Task } from "./state.js";
import { maxFileBytes, roleDef, type Capability } from "./rules.js";

type B<T extends Body["t"]> = Extract<Body, { t: T }>;

function task(s: PursuanceState, id: string): Task {
  const t = s.tasks.get(id);
  if (!t) reject(`no task ${short(id)}`);
  return t;
}

function requireReader(s: PursuanceState, who: string, t: Task): void {
  if (!canReadTask(s, who, t)) reject(`${short(who)} cannot read task #${t.num} (readers: ${t.readers.join(", ")})`);
}

/** The checks every act on an existing task starts with, in this order (the first failing one is the reason every client records). */
function actOn(s: PursuanceState, e: PEvent, id: string, cap: Capability): Task {
  requireActor(s, e);
  requireCap(s, e.author, cap);
  const t = task(s, id);
  requireReader(s, e.author, t);
  return t;
}

function isAssignee(s: PursuanceState, who: string, t: Task): boolean {
  if (!t.assignee) return false;
  if ("member" in t.assignee) return t.assignee.member === who;
  return s.members.get(who)?.roles.has(t.assignee.role) ?? false;
}

function checkAssignee(s: PursuanceState, a: B<"task.create">["assignee"]): void {
  if (!a) return;
  if ("member" in a) requireMember(s, a.member);
  else requireRole(s, a.role);
}

export function applyTaskCreate(s: PursuanceState, e: PEvent, b: B<"task.create">): void {
  requireActor(s, e);
  requireCap(s, e.author, "task.create");
  if (b.readers.length === 0) reject("a task needs at least one reader role");
  const mine = entitled(s, e.author);
  for (const r of b.readers) {
    requireRole(s, r);
    if (roleDef(s.rules, r)!.reads !== "role") reject(`role "${r}" reads only assigned tasks; it cannot be a reader role`);
    if (!mine.includes(r)) reject(`${short(e.author)} cannot write tasks for role "${r}"`);
    const k = s.keys.get(r);
    if (!k || k.keyId === NO_KEY) reject(`role "${r}" has no key yet`);
    if (!Object.hasOwn(b.content.wraps, r) || b.content.wraps[r]!.keyId !== k.keyId) reject(`content is not wrapped for the current "${r}" key`);
  }
  checkAssignee(s, b.assignee);
  if (b.parent !== null) task(s, b.parent);
  const t: Task = {
    id: e.id,
    num: s.taskIds.length + 1,
    creator: e.author,
    readers: b.readers,
    assignee: b.assignee,
    parent: b.parent,
    due: b.due,
    status: "new",
    closed: false,
    archived: false,
    sealed: b.content,
    memberKeys: { ...b.content.members },
    text: { nonce: b.content.nonce, ct: b.content.ct },
    comments: [],
    closeReason: null,
    createdTs: e.ts,
    updatedTs: e.ts,
  };
  if (t.assignee && "member" in t.assignee && !canReadTask(s, t.assignee.member, t)) {
    reject(`assignee ${short(t.assignee.member)} reads none of the reader roles and no key is sealed to them`);
  }
  s.tasks.set(e.id, t);
  s.taskIds.push(e.id);
}

export function applyTaskUpdate(s: PursuanceState, e: PEvent, b: B<"task.update">): void {
  requireActor(s, e);
  const t = task(s, b.task);
  requireReader(s, e.author, t);
  if (t.archived) reject(`task #${t.num} is archived`);
  if (t.closed) reject(`task #${t.num} is closed; reopen it first`);
  const onlyStatus = b.content === undefined && b.due === undefined;
  if (!(onlyStatus && isAssignee(s, e.author, t))) requireCap(s, e.author, "task.update");
  if (b.status === "done") requireCap(s, e.author, "task.close");
  if (b.status !== undefined) t.status = b.status;
  if (b.due !== undefined) t.due = b.due;
  if (b.content !== undefined) t.text = b.content;
  t.updatedTs = e.ts;
}

export function applyTaskAssign(s: PursuanceState, e: PEvent, b: B<"task.assign">): void {
  const t = actOn(s, e, b.task, "task.assign");
  if (t.archived) reject(`task #${t.num} is archived`);
  checkAssignee(s, b.assignee);
  const to = b.assignee && "member" in b.assignee ? b.assignee.member : null;
  const sealTo = to !== null && !canReadTask(s, to, t);
  if (sealTo && !b.memberKey) reject(`assignee ${short(to)} cannot read task #${t.num}: seal its key to them`);
  // Rights that came from being the assignee end with the assignment: the key sealed to the
  // outgoing member no longer lets them act on the task (what they already decrypted, they keep).
  const was = t.assignee && "member" in t.assignee ? t.assignee.member : null;
  if (was !== null && was !== to) delete t.memberKeys[was];
  if (sealTo) t.memberKeys[to] = b.memberKey!;
  t.assignee = b.assignee;
  t.updatedTs = e.ts;
}

export function applyTaskComment(s: PursuanceState, e: PEvent, b: B<"task.comment">): void {
  const t = actOn(s, e, b.task, "task.comment");
  if (t.archived) reject(`task #${t.num} is archived`);
  t.comments.push({ id: e.id, author: e.author, ts: e.ts, content: b.content });
  t.updatedTs = e.ts;
}

/** A document: the same authority as a comment (a reader with task.comment), within the rules' per-file limit. */
export function applyTaskAttach(s: PursuanceState, e: PEvent, b: B<"task.attach">): void {
  requireActor(s, e);
  requireCap(s, e.author, "task.comment");
  const t = task(s, b.task);
  requireReader(s, e.author, t);
  if (t.archived) reject(`task #${t.num} is archived`);
  const limit = maxFileBytes(s.rules);
  if (b.size > limit) reject(`a file of ${b.size} bytes is over the rules' limit of ${limit} bytes`);
  const { t: _t, task: _task, ...ref } = b;
  (t.files ??= []).push({ id: e.id, author: e.author, ts: e.ts, ...ref });
  t.updatedTs = e.ts;
}

export function applyTaskClose(s: PursuanceState, e: PEvent, b: B<"task.close">): void {
  const t = actOn(s, e, b.task, "task.close");
  if (t.closed) reject(`task #${t.num} is already closed`);
  t.closed = true;
  t.status = "done";
  t.closeReason = b.reason;
  t.updatedTs = e.ts;
}

export function applyTaskReopen(s: PursuanceState, e: PEvent, b: B<"task.reopen">): void {
  const t = actOn(s, e, b.task, "task.close");
  if (!t.closed) reject(`task #${t.num} is not closed`);
  if (t.archived) reject(`task #${t.num} is archived`);
  t.closed = false;
  t.status = "started";
  t.closeReason = null;
  t.updatedTs = e.ts;
}

export function applyTaskArchive(s: PursuanceState, e: PEvent, b: B<"task.archive">): void {
  const t = actOn(s, e, b.task, "task.archive");
  if (t.archived) reject(`task #${t.num} is already archived`);
  t.archived = true;
  t.updatedTs = e.ts;
}

/** Labels and priority: sealed, so the fold checks who may set them, and readers check what they say (views.ts). */
export function applyTaskMeta(s: PursuanceState, e: PEvent, b: B<"task.meta">): void {
  const t = actOn(s, e, b.task, "task.update");
  if (t.archived) reject(`task #${t.num} is archived`);
  t.meta = b.meta;
  t.updatedTs = e.ts;
}

export function applyAnnounce(s: PursuanceState, e: PEvent, b: B<"announce">): void {
  requireActor(s, e);
  requireCap(s, e.author, "announce");
  s.announcements.push({ id: e.id, author: e.author, ts: e.ts, text: b.text });
}
