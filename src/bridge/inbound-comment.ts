// A reply in a task's thread: a comment on that task by the sender's custodial
// identity, taken out of a room that may not read the task.
import { commentBody } from "../pursuance/actions.js";
import type { MatrixEvent } from "./appservice-http.js";
import type { HostedPursuance } from "./hosted-pursuance.js";
import { viaOf, type InboundHost } from "./inbound-port.js";
import { answer, redactWithNote } from "./inbound-replies.js";
import { esc } from "./mirror-render.js";

export async function comment(b: InboundHost, e: MatrixEvent, text: string, hosted: HostedPursuance, root: string): Promise<void> {
  const taskId = await b.store.taskForMessage(e.room_id, root);
  if (!taskId) return;
  await hosted.run(async () => {
    const c = hosted.clientFor(e.sender);
    const refuse = (why: string) => answer(b, e, { kind: "error", plain: why, html: esc(why), reason: why, usage: "", react: "⛔" }, root);
    if (!c) return refuse("Your reply was not recorded as a comment: you are not a member of this pursuance here. A member can admit you with !pursuance invite.");
    const task = c.state.tasks.get(taskId);
    if (!task) return refuse("That task is not in your copy of the pursuance yet.");
    if (c.hasVia(viaOf(e))) return;
    try {
      const { id } = await c.publish(commentBody(c.actor, task, text), undefined, { via: viaOf(e) });
      await hosted.markFromMatrix(e.room_id, id, e.event_id, taskId);
      if (!(await hosted.roomMayShowTask(e.room_id, taskId))) {
        await redactWithNote(b, e, `Your comment on #${task.num} is recorded, and removed from this room: not everyone here may read that task.`);
      }
    } catch (err) {
      await refuse(`Your reply was not recorded as a comment: ${(err as Error).message}`);
    }
  });
}

