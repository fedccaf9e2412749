// `pursuance client export`: what a member may read, taken with them — every
// task the rules let them read and their keys open (the same rule as search),
// with its comments, as JSON, CSV (RFC 4180) or iCalendar VTODOs (RFC 5545),
// so a calendar shows what is due. Nothing leaves the member's machine but
// what they write themselves.
import type { Priority } from "../pursuance/events.js";
import { canReadTask } from "../pursuance/state.js";
import { taskView, type TaskView } from "../pursuance/views.js";
import { SpellingError } from "./errors.js";
import type { TaskReader } from "./task-queries.js";

export const EXPORT_FORMATS = ["json", "csv", "ics"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function parseExportFormat(v: string): ExportFormat {
  const f = v.trim().toLowerCase();
  if (!(EXPORT_FORMATS as readonly string[]).includes(f)) throw new SpellingError(`--format: ${JSON.stringify(v)} is not a format (one of: ${EXPORT_FORMATS.join(", ")})`, "format", v, "--format");
  return f as ExportFormat;
}

/** The tasks a member may read, by number. */
export function readableTasks(r: TaskReader): TaskView[] {
  const s = r.client.state;
  const out: TaskView[] = [];
  for (const id of s.taskIds) {
    const t = s.tasks.get(id)!;
    if (!canReadTask(s, r.client.me, t)) continue;
    const v = taskView(r.client, t);
    if (v.title !== null) out.push(v);
  }
  return out;
}

export function exportTasks(r: TaskReader, format: ExportFormat, pursuanceName: string): string {
  const tasks = readableTasks(r);
  if (format === "json") return `${JSON.stringify({ pursuance: pursuanceName, exported: new Date(r.now()).toISOString(), tasks }, null, 2)}\n`;
  if (format === "csv") return toCsv(tasks);
  return toIcs(tasks, pursuanceName, r.now());
}

const CSV_COLUMNS = ["num", "id", "title", "deliverables", "status", "closed", "archived", "assignee", "due", "readers", "creator", "comments", "close_reason", "labels", "priority"] as const;

/**
 * RFC 4180 quoting, and no formula: a spreadsheet runs a cell that starts
 * with = + - @ (or a tab or CR before one), and task text is any member's
 * words, so such a cell gets a leading apostrophe (OWASP's CSV injection rule).
 */
function csvField(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function toCsv(tasks: TaskView[]): string {
  const rows = tasks.map((t) => [
    String(t.num), t.id, t.title ?? "", t.deliverables ?? "", t.status, String(t.closed), String(t.archived), t.assignee ?? "", t.due ?? "", t.readers.join(" "), t.creator,
    t.comments.map((c) => `${c.author}: ${c.text ?? "(encrypted)"}`).join("\n"), t.closeReason ?? "", t.labels.join(" "), t.priority ?? "",
  ]);
  return [CSV_COLUMNS.join(","), ...rows.map((r) => r.map(csvField).join(","))].join("\r\n") + "\r\n";
}

/** RFC 5545 TEXT: backslash, semicolon, comma and newlines escaped. */
function icsText(v: string): string {
  // Any line break (CRLF, a lone CR or LF) is one \n: a bare CR would end the content line early.
  return v.replace(/\\/g, "\\\\").replace(/;/g, "\\;").replace(/,/g, "\\,").replace(/\r\n|\r|\n/g, "\\n");
}

/** Lines longer than 75 octets are folded (CRLF and a space), never inside a UTF-8 character. */
function fold(line: string): string {
  const out: string[] = [];
  let cur = "";
  let bytes = 0;
  for (const ch of line) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > (out.length === 0 ? 75 : 74)) {
      out.push(cur);
      cur = "";
      bytes = 0;
    }
    cur += ch;
    bytes += n;
  }
  out.push(cur);
  return out.join("\r\n ");
}

const ICS_STATUS: Record<string, string> = { new: "NEEDS-ACTION", started: "IN-PROCESS", "help wanted": "IN-PROCESS", "ready for review": "IN-PROCESS", reviewing: "IN-PROCESS", done: "COMPLETED" };

/** RFC 5545 §3.8.1.9: 1 is the highest, 9 the lowest. */
const ICS_PRIORITY: Record<Priority, number> = { urgent: 1, high: 3, normal: 5, low: 9 };

function toIcs(tasks: TaskView[], name: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Pursuance//task export//EN", "CALSCALE:GREGORIAN", `X-WR-CALNAME:${icsText(name)}`];
  for (const t of tasks) {
    lines.push("BEGIN:VTODO", `UID:${t.id}@pursuance`, `DTSTAMP:${stamp}`, `SUMMARY:${icsText(`#${t.num} ${t.title}`)}`);
    if (t.deliverables) lines.push(`DESCRIPTION:${icsText(t.deliverables)}`);
    if (t.due) lines.push(`DUE;VALUE=DATE:${t.due.replace(/-/g, "")}`);
    lines.push(`STATUS:${t.closed ? (t.status === "done" ? "COMPLETED" : "CANCELLED") : (ICS_STATUS[t.status] ?? "NEEDS-ACTION")}`);
    lines.push(`CATEGORIES:${[...t.readers, ...t.labels].map(icsText).join(",")}`);
    if (t.priority) lines.push(`PRIORITY:${ICS_PRIORITY[t.priority]}`);
    for (const c of t.comments) lines.push(`COMMENT:${icsText(`${c.author}: ${c.text ?? "(encrypted)"}`)}`);
    lines.push("END:VTODO");
  }
  lines.push("END:VCALENDAR");
  return lines.map(fold).join("\r\n") + "\r\n";
}
