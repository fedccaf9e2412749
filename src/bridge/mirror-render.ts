// How a pursuance event reads in a Matrix room: plain and HTML bodies, and
// whether it belongs in a task's thread. Text the bridge cannot decrypt is
// never guessed at: the room learns that an encrypted task exists, no more.
import type { PEvent } from "../pursuance/apply-common.js";
import type { PursuanceState } from "../pursuance/state.js";
import { memberName as rawMemberName, type TaskView } from "../pursuance/views.js";
import { cleanName } from "./sanitize.js";
import { sizeText } from "../usecases/files.js";

/** Names are one visible line: a name may not forge a second line or reorder the one it is in. */
const memberName = (s: PursuanceState, id: string) => cleanName(rawMemberName(s, id));

export interface Rendered {
  plain: string;
  html: string;
  notice: boolean;
  /** The task whose thread this goes in (its id), or whose root this is. */
  taskId: string | null;
  kind: "task" | "comment" | "notice";
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

export function renderTask(v: TaskView, byline: string | null): Rendered {
  const meta = [`status: ${v.status}`, `readers: ${v.readers.join(", ")}`, v.assignee ? `assignee: ${cleanName(v.assignee)}` : null, v.due ? `due ${v.due}` : null, v.parent ? `subtask of #${v.parent}` : null]
    .filter(Boolean)
    .join(" · ");
  if (v.title === null) {
    const plain = `🔒 Task #${v.num} exists (readers: ${v.readers.join(", ")}); this bridge holds no key to read it.`;
    return { plain, html: esc(plain), notice: true, taskId: v.id, kind: "task" };
  }
  const by = byline ? ` — ${cleanName(byline)}` : "";
  // A title is one line, however it was typed: it cannot pose as a second message.
  const title = cleanName(v.title, Number.MAX_SAFE_INTEGER);
  const deliv = v.deliverables ? `\nDeliverables: ${v.deliverables}` : "";
  return {
    plain: `📋 Task #${v.num}: ${title}${by}\n${meta}${deliv}\nReply in this thread to comment.`,
    html: `📋 <b>Task #${v.num}</b>: ${esc(title)}${esc(by)}<br/><small>${esc(meta)}</small>${v.deliverables ? `<br/>Deliverables: ${esc(v.deliverables)}` : ""}<br/><i>Reply in this thread to comment.</i>`,
    notice: false,
    taskId: v.id,
    kind: "task",
  };
}

/** Everything but task creation. Returns null for events the room need not hear about. */
export function renderEvent(s: PursuanceState, e: PEvent, task: TaskView | null, showAuthor: boolean): Rendered | null {
  const b = e.body;
  if (!b) return null;
  const who = memberName(s, e.author);
  const n = (txt: string, taskId: string | null = null, kind: Rendered["kind"] = "notice"): Rendered => ({ plain: txt, html: esc(txt), notice: true, taskId, kind });
  switch (b.t) {
    case "genesis":
      return n(`Pursuance "${cleanName(b.name, 200)}" founded by ${cleanName(b.founderName)}.`);
    case "join":
      return n(`${cleanName(b.name)} joined as ${[...(s.members.get(e.author)?.roles ?? [])].join(", ") || "a member"}.`);
    case "leave":
      return n(`${who} left.`);
    case "remove":
      return n(`${who} removed ${memberName(s, b.member)}${b.reason ? `: ${b.reason}` : ""}.`);
    case "role.grant":
      return n(`${who} granted ${b.role} to ${memberName(s, b.member)}.`);
    case "role.revoke":
      return n(`${who} revoked ${b.role} from ${memberName(s, b.member)}.`);
    case "role.create":
    case "role.amend":
      return n(`${who} ${b.t === "role.create" ? "created" : "changed"} role ${b.role} (rank ${b.def.rank}; ${b.def.caps.join(", ") || "no capabilities"}).`);
    case "role.delete":
      return n(`${who} deleted role ${b.role}.`);
    case "keys.rotate":
      return n(`🔑 ${b.scope === "group" ? "The group key" : `The ${b.scope} key`} was rotated by ${who}.`);
    case "announce":
      return { plain: `📣 ${who}: ${b.text}`, html: `📣 <b>${esc(who)}</b>: ${esc(b.text)}`, notice: false, taskId: null, kind: "notice" };
    case "leader.transfer":
      return n(`${who} handed leadership to ${memberName(s, b.to)}.`);
    case "leader.vote":
      return n(`${who} voted for ${memberName(s, b.candidate)} as leader${s.leader === b.candidate ? ": leadership changed" : ""}.`);
    case "task.comment": {
      const text = task?.comments.find((c) => c.id === e.id)?.text ?? null;
      if (text === null) return n(`🔒 ${who} commented on #${task?.num ?? "?"} (encrypted).`, b.task, "comment");
      const prefix = showAuthor ? `${who}: ` : "";
      return { plain: `${prefix}${text}`, html: `${showAuthor ? `<b>${esc(who)}</b>: ` : ""}${esc(text)}`, notice: false, taskId: b.task, kind: "comment" };
    }
    case "task.update":
      return n(`#${task?.num ?? "?"}${b.status ? ` is now ${b.status}` : " was updated"} (${who}).`, b.task);
    case "task.assign":
      return n(`#${task?.num ?? "?"} ${task?.assignee ? `assigned to ${task.assignee}` : "unassigned"} (${who}).`, b.task);
    case "task.close":
      return n(`✅ #${task?.num ?? "?"} closed by ${who}${task?.closeReason ? `: ${task.closeReason}` : ""}.`, b.task);
    case "task.reopen":
      return n(`#${task?.num ?? "?"} reopened by ${who}.`, b.task);
    case "task.meta":
      // Sealed like the text: where the bridge cannot read the task it says only that something changed.
      if (!task || task.priority === null) return n(`🏷 #${task?.num ?? "?"}: labels or priority changed by ${who} (encrypted).`, b.task);
      return n(`🏷 #${task.num} labels: ${task.labels.join(", ") || "none"} · priority ${task.priority} (${who}).`, b.task);
    case "task.archive":
      return n(`#${task?.num ?? "?"} archived by ${who}.`, b.task);
    case "task.attach":
      // No name: it is task content, and a notice carries none (the readers ask !task files).
      return n(`📎 ${who} attached a file (${sizeText(b.size)}) to #${task?.num ?? "?"}: !task files ${task?.num ?? "?"}`, b.task);
    default:
      // invites, key shares, policy changes: bookkeeping the room need not see.
      return null;
  }
}
