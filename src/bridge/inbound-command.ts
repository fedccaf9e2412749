// A `!` command from a room: run by the bot with a context for its sender,
// answered in the room (or privately), and its words taken out of a room that
// may not read the task they are about.
import { handleCommand } from "../bot/dispatch.js";
import type { MatrixEvent } from "./appservice-http.js";
import { contextFor } from "./bot-context.js";
import type { HostedPursuance } from "./hosted-pursuance.js";
import { viaOf, type InboundHost } from "./inbound-port.js";
import { answer, needsPrivacy, privately, redactWithNote } from "./inbound-replies.js";

export async function command(b: InboundHost, e: MatrixEvent, text: string, hosted: HostedPursuance | undefined, thread: string | undefined): Promise<void> {
  // Done before a crash (its event is in the log): acknowledge, do not do it again.
  if (hosted?.clientFor(e.sender)?.hasVia(viaOf(e))) return void (await b.matrix.react(e.room_id, e.event_id, "✅").catch(() => {}));
  const ctx = contextFor(b, e, hosted);
  const run = () => handleCommand(text, ctx);
  const reply = hosted ? await hosted.run(run) : await run();
  // What people wait for first: the mirrored message (queued by the publish, next in the room's chain),
  // then the ✅. Sent together, Synapse would persist the reaction first and the message after it.
  if (hosted && reply && (reply.kind === "task-created" || (reply.kind === "ok" && reply.mirrored))) await hosted.run(async () => {});
  if (!reply) return;
  if (await needsPrivacy(b, e, reply, hosted)) return privately(b, e, reply, thread);
  await answer(b, e, reply, thread);
  // A restricted task made from a room that may not read it: its title is in the command; take it out.
  if (reply.kind === "task-created" && hosted && !(await hosted.roomMayShowTask(e.room_id, reply.task.id))) {
    await redactWithNote(b, e, `Removed the command that made task #${reply.task.num}: not everyone in this room may read it (readers: ${reply.task.readers.join(", ")}). It shows in the rooms of the roles that do.`);
    return;
  }
  // Words typed about a task (a comment, a close reason, a new title) are its content too;
  // the bot names the task from the command it parsed (contentOf).
  if (hosted && reply.contentOf && !(await hosted.roomMayShowTask(e.room_id, reply.contentOf))) {
    const num = hosted.primary?.state.tasks.get(reply.contentOf)?.num;
    await redactWithNote(b, e, `Removed a command from ${e.sender} about task ${num !== undefined ? `#${num}` : reply.contentOf.slice(0, 12)}: it carries that task's content, and not everyone in this room may read it.`);
  }
}
