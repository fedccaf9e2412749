// How a task reads in a room, in plain text and HTML. A task our keys do not
// open shows that it exists and who may read it, never more.
import type { TaskView } from "../pursuance/views.js";
import { labelsText } from "../usecases/labels.js";
import { html, type Html } from "./reply.js";

const SEALED = "(encrypted: not readable with the keys held here)";

function meta(v: TaskView): string {
  const who = v.assignee ? ` → ${v.assignee}` : "";
  const due = v.due ? ` · due ${v.due}` : "";
  return `[${v.status}]${who}${due}${labelsText(v)} · ${v.readers.join(", ")}`;
}

export function taskLine(v: TaskView): string {
  return `#${v.num} ${v.title ?? SEALED} ${meta(v)}`;
}

export function taskLineHtml(v: TaskView): Html {
  const title = v.title === null ? html`<em>${SEALED}</em>` : html`<strong>${v.title}</strong>`;
  return html`<b>#${v.num}</b> ${title} ${meta(v)}`;
}

function details(v: TaskView): string[] {
  const out = [`by ${v.creator}${v.parent ? ` · parent #${v.parent}` : ""}${v.closed ? " · closed" : ""}${v.archived ? " · archived" : ""} · id ${v.id.slice(0, 12)}`];
  if (v.deliverables) out.push(`deliverables: ${v.deliverables}`);
  if (v.closeReason) out.push(`closed because: ${v.closeReason}`);
  return out;
}

export function renderTask(v: TaskView): { plain: string; html: Html } {
  const lines = [taskLine(v), ...details(v).map((l) => `  ${l}`)];
  const comments = v.comments.map((c) => `${c.author}: ${c.text ?? "(encrypted)"}`);
  if (comments.length > 0) lines.push(`  ${comments.length} comment${comments.length === 1 ? "" : "s"}:`, ...comments.map((c) => `    ${c}`));
  const h = html`${taskLineHtml(v)}<br>${details(v).map((l, i) => html`${i > 0 ? html`<br>` : ""}${l}`)}${
    v.comments.length > 0
      ? html`<ul>${v.comments.map((c) => html`<li><b>${c.author}</b>: ${c.text === null ? html`<em>(encrypted)</em>` : c.text}</li>`)}</ul>`
      : ""
  }`;
  return { plain: lines.join("\n"), html: h };
}

/** At most `max` lines: a room is no place for a thousand-task dump. */
export function renderTaskList(views: TaskView[], max = 50): { plain: string; html: Html } {
  if (views.length === 0) return { plain: "no tasks", html: html`no tasks` };
  const shown = views.slice(0, max);
  const more = views.length - shown.length;
  const tail = more > 0 ? `… and ${more} more (narrow with --role, --status or --mine)` : "";
  return {
    plain: [...shown.map(taskLine), ...(tail ? [tail] : [])].join("\n"),
    html: html`<ul>${shown.map((v) => html`<li>${taskLineHtml(v)}</li>`)}</ul>${tail}`,
  };
}
