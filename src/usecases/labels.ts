// Labels and priority, once for both faces. The rules name the labels a task
// may carry (rules.policy, leader only); which task carries which label, and
// its priority, is sealed under the task's key (task.meta), so only the
// task's readers learn it. A change is the whole set: of two concurrent
// changes the later in the log's order stands, the same for every client.
import { metaBody } from "../pursuance/actions.js";
import { PRIORITIES, type Priority } from "../pursuance/events.js";
import { LABEL_NAME, MAX_LABELS, taskLabels } from "../pursuance/rules.js";
import { canReadTask, type PursuanceState, type Task } from "../pursuance/state.js";
import { findTask, taskView, type TaskView } from "../pursuance/views.js";
import { publish, type Env } from "./env.js";
import { SpellingError, UsageError } from "./errors.js";
import { didYouMean } from "./spellings.js";

export function parsePriority(ref: string): Priority {
  const n = ref.trim().toLowerCase();
  const hit = PRIORITIES.find((p) => p === n);
  if (!hit) throw new SpellingError(`${JSON.stringify(ref)} is not a priority${didYouMean(n, PRIORITIES)} (one of: ${PRIORITIES.join(", ")})`, "priority", ref);
  return hit;
}

/** A label the rules define, as typed (any case). */
export function findLabel(s: PursuanceState, ref: string): string {
  const n = ref.trim().toLowerCase();
  const known = taskLabels(s.rules);
  if (!known.includes(n)) throw new SpellingError(`no label ${JSON.stringify(ref)}${didYouMean(n, known)} (labels: ${known.join(", ") || "none"}; the leader sets them with rules policy --labels)`, "label", ref);
  return n;
}

export interface LabelChange {
  add: string[];
  remove: string[];
}

/** "+urgent -later legal" → add urgent and legal, remove later; every name one the rules define (or, to remove, one the task carries). */
export function parseLabelChanges(s: PursuanceState, words: string, carried: readonly string[] = []): LabelChange {
  const out: LabelChange = { add: [], remove: [] };
  const parts = words.split(/[\s,]+/).filter(Boolean);
  if (parts.length === 0) throw new SpellingError("give labels to add (+name) or remove (-name)", "label", words);
  for (const w of parts) {
    const carriedOne = carried.find((l) => l === w.slice(1).trim().toLowerCase());
    if (w.startsWith("-")) out.remove.push(carriedOne ?? findLabel(s, w.slice(1)));
    else out.add.push(findLabel(s, w.startsWith("+") ? w.slice(1) : w));
  }
  return out;
}

/** A vocabulary as typed: "urgent,blocked,legal" (or spaces); each a lowercase name of 1..32 letters, digits, - or _. */
export function parseLabelVocabulary(v: string): string[] {
  const names = v.split(/[\s,]+/).filter(Boolean).map((x) => x.toLowerCase());
  for (const n of names) if (!LABEL_NAME.test(n)) throw new SpellingError(`${JSON.stringify(n)} is not a label name (1..32 of a-z, 0-9, - and _, starting with a letter or digit)`, "label", n, "--labels");
  const set = [...new Set(names)];
  if (set.length > MAX_LABELS) throw new SpellingError(`at most ${MAX_LABELS} labels, not ${set.length}`, "label", v, "--labels");
  return set;
}

function readable(env: Env, ref: string): { task: Task; view: TaskView } {
  const c = env.client;
  const task = findTask(c.state, ref);
  const view = taskView(c, task);
  if (view.title === null || !canReadTask(c.state, c.me, task)) throw new UsageError(`task #${task.num} is not readable with your roles (readers: ${task.readers.join(", ")})`);
  return { task, view };
}

export interface MetaResult {
  task: Task;
  labels: string[];
  priority: Priority;
}

async function setMeta(env: Env, task: Task, labels: string[], priority: Priority): Promise<MetaResult> {
  const meta = { labels: [...new Set(labels)].sort(), priority };
  await publish(env, metaBody(env.client.actor, task, meta));
  return { task, ...meta };
}

/** Add and remove labels on a task its readers see; labels it carries that the rules no longer name stay until removed. */
export async function labelTask(env: Env, o: { task: string; labels: string }): Promise<MetaResult> {
  const { task, view } = readable(env, o.task);
  const change = parseLabelChanges(env.client.state, o.labels, view.labels);
  const next = new Set(view.labels);
  for (const l of change.add) next.add(l);
  for (const l of change.remove) next.delete(l);
  return setMeta(env, task, [...next], view.priority ?? "normal");
}

export async function prioritizeTask(env: Env, o: { task: string; priority: string }): Promise<MetaResult> {
  const priority = parsePriority(o.priority);
  const { task, view } = readable(env, o.task);
  return setMeta(env, task, view.labels, priority);
}

/** Priority when not the usual one, and labels, for a line about a task (both sealed: empty where it is not readable). */
export function labelsText(v: Pick<TaskView, "labels" | "priority">): string {
  const p = v.priority && v.priority !== "normal" ? ` · priority ${v.priority}` : "";
  return `${p}${v.labels.length > 0 ? ` · labels ${v.labels.join(", ")}` : ""}`;
}
