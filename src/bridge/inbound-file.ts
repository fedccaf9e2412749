// A file sent in a task's thread: attached to that task by the sender's
// custodial identity (usecases/files.ts: sealed under the task's key, in
// chunks on the relays), once even if the event is handled again (its `via`
// rides in the log). In an encrypted room the bytes come encrypted
// (e2ee/attachment.ts) and their hash is checked before they are opened.
import { maxFileBytes } from "../pursuance/rules.js";
import { attachFile, sizeText } from "../usecases/files.js";
import type { MatrixEvent } from "./appservice-http.js";
import { decryptAttachment, type EncryptedFile } from "./e2ee/attachment.js";
import type { HostedPursuance } from "./hosted-pursuance.js";
import { viaOf, type InboundHost } from "./inbound-port.js";
import { answer, redactWithNote } from "./inbound-replies.js";
import { esc } from "./mirror-render.js";

export const FILE_MSGTYPES = new Set(["m.file", "m.image", "m.video", "m.audio"]);

export async function attachFromMatrix(b: InboundHost, e: MatrixEvent, hosted: HostedPursuance, root: string): Promise<void> {
  const taskId = await b.store.taskForMessage(e.room_id, root);
  if (!taskId) return;
  await hosted.run(async () => {
    const c = hosted.clientFor(e.sender);
    const say = (ok: boolean, why: string) => answer(b, e, ok ? { kind: "ok", plain: why, html: esc(why), react: "✅" } : { kind: "error", plain: why, html: esc(why), reason: why, usage: "", react: "⛔" }, root);
    if (!c) return say(false, "Your file was not attached: you are not a member of this pursuance here. A member can admit you with !pursuance invite.");
    const task = c.state.tasks.get(taskId);
    if (!task) return say(false, "Your file was not attached: that task is not in your copy of the pursuance yet.");
    // Attached on an earlier try (a crash, a failed redaction after it): only what comes after is left to do.
    if (c.hasVia(viaOf(e))) return afterAttach(b, e, hosted, root, taskId, task.num, null);
    const limit = maxFileBytes(c.state.rules);
    const info = (e.content.info ?? {}) as { size?: unknown };
    if (typeof info.size === "number" && info.size > limit) return say(false, `Your file was not attached: it is ${sizeText(info.size)}, over this pursuance's ${sizeText(limit)} limit.`);
    const file = e.content.file as EncryptedFile | undefined;
    // An encrypted file names its own url: never the bytes of a plain `url` opened with its key.
    const url = file !== undefined ? file.url : e.content.url;
    const name = String(e.content.filename ?? e.content.body);
    let attached: { id: string; size: number };
    try {
      if (typeof url !== "string") throw new Error("the message names no file");
      // CTR keeps the size: the limit holds for the encrypted bytes too.
      const got = await b.matrix.download(url, limit);
      const bytes = file ? decryptAttachment(got, file) : got;
      const r = await attachFile({ client: c, now: () => Date.now(), via: viaOf(e) }, { task: taskId, name, bytes });
      attached = { id: r.id, size: bytes.length };
    } catch (err) {
      return say(false, `Your file was not attached: ${(err as Error).message}`);
    }
    // Attached: a failure from here on is no refusal of the file. It is thrown, so the event is tried
    // again (the via check above skips the attach), and the room is cleaned as it must be.
    await afterAttach(b, e, hosted, root, taskId, task.num, { ...attached, name });
  });
}

/** Marked, and taken out of a room that may not read the task (or answered where it may). */
async function afterAttach(b: InboundHost, e: MatrixEvent, hosted: HostedPursuance, root: string, taskId: string, num: number, done: { id: string; size: number; name: string } | null): Promise<void> {
  if (done) await hosted.markFromMatrix(e.room_id, done.id, e.event_id, taskId);
  if (!(await hosted.roomMayShowTask(e.room_id, taskId))) {
    // The bytes stay on the homeserver's media store: redaction takes the message, not the upload.
    await redactWithNote(b, e, `Your file is attached to #${num}, and its message removed from this room: not everyone here may read that task (the upload itself stays on this homeserver).`);
    return;
  }
  if (done) {
    const why = `📎 attached ${done.name} (${sizeText(done.size)}) to #${num}: sealed for its readers, in chunks on the relays (!task files ${num})`;
    await answer(b, e, { kind: "ok", plain: why, html: esc(why), react: "✅" }, root);
  }
}
