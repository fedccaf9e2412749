// How the bridge answers in a room: the reply and its reaction, privately when
// the reply holds what not everyone present may read, and a redaction with a
// note where a message itself holds such a thing.
import type { BotReply } from "../bot/reply.js";
import { INVITE_PREFIX } from "../pursuance/invite.js";
import { LINK_PREFIX } from "../pursuance/link.js";
import type { MatrixEvent } from "./appservice-http.js";
import type { HostedPursuance } from "./hosted-pursuance.js";
import type { InboundHost } from "./inbound-port.js";
import { esc } from "./mirror-render.js";
import { mayShow } from "./room-visibility.js";
import { isPrivateDirectRoom } from "./room-guard.js";

export async function answer(b: InboundHost, e: MatrixEvent, reply: BotReply, thread: string | undefined): Promise<void> {
  const where = thread ? { thread } : {};
  // The reply and the reaction go out together: the reply is what people wait for.
  if (reply.kind === "error") {
    if (reply.internal) b.s.log("error", "command failed", { room: e.room_id, event: e.event_id, reason: reply.reason });
    await Promise.all([
      b.matrix.react(e.room_id, e.event_id, "⛔").catch(() => {}),
      b.matrix.send(e.room_id, { plain: `⛔ ${reply.plain}`, html: `⛔ ${reply.html}`, notice: true, ...where, txnId: `reply.${e.event_id}` }),
    ]);
    return;
  }
  // A new task answers with its own message. A ✅ as well would be a third room event per command, and
  // the homeserver storing room events one after another is what a command's round trip waits on.
  const react = reply.kind !== "task-created" && "react" in reply && reply.react ? b.matrix.react(e.room_id, e.event_id, "✅").catch(() => {}) : Promise.resolve();
  // A new task, or a change the mirror shows in the task's thread: the ✅ and the mirrored message say it all.
  // Not waited for: a lost ✅ costs nothing, and the room's next command should not wait on it.
  if (reply.kind === "task-created" || (reply.kind === "ok" && reply.mirrored)) return;
  await Promise.all([react, b.matrix.send(e.room_id, { plain: reply.plain, html: reply.html, notice: true, ...where, txnId: `reply.${e.event_id}` })]);
}

/** Whether a reply may not be shown in this room: it holds an invite, or content someone present may not read. */
export async function needsPrivacy(b: InboundHost, e: MatrixEvent, reply: BotReply, hosted: HostedPursuance | undefined): Promise<boolean> {
  if (await isPrivateDirectRoom(b.matrix, b.store, e.room_id, e.sender)) return false;
  if (containsInvite(reply.plain) || containsInvite(reply.html)) return true;
  if (!hosted || reply.kind === "task-created") return false;
  // Who is who (names, roles, keys, links) is for members: where a non-member is present, it goes to the asker alone.
  if (reply.kind === "ok" && WHOIS.test(typeof e.content.body === "string" ? e.content.body : "")) {
    const s = hosted.primary?.state;
    if (s && !mayShow(s, await hosted.present(e.room_id), { kind: "group" })) return true;
  }
  return revealsRestricted(hosted, e.room_id, reply.plain);
}

const WHOIS = /^\s*!whois(\s|$)/i;

/** The reply quotes a title, deliverable or comment of a task this room may not show. */
async function revealsRestricted(hosted: HostedPursuance, roomId: string, text: string): Promise<boolean> {
  const s = hosted.primary?.state;
  if (!s) return false;
  const present = await hosted.present(roomId);
  for (const id of s.taskIds) {
    if (mayShow(s, present, { kind: "task", taskId: id })) continue;
    const v = hosted.view(id);
    if (!v || v.title === null) continue;
    const secrets = [v.title, v.deliverables, v.closeReason, ...v.comments.map((c) => c.text)].filter((x): x is string => !!x && x.length >= 3);
    if (secrets.some((x) => text.includes(x))) return true;
  }
  return false;
}

/** Answer in the asker's direct chat with the bot; the shared room hears only where it went. */
export async function privately(b: InboundHost, e: MatrixEvent, reply: BotReply, thread: string | undefined): Promise<void> {
  const dm = await b.directRoom(e.sender);
  await b.matrix.send(dm, { plain: reply.plain, html: reply.html, notice: true, txnId: `reply.${e.event_id}` });
  const what = containsInvite(reply.plain) ? (reply.plain.includes(LINK_PREFIX) ? "the link token" : "the invite") : "the answer (it shows what not everyone here may read)";
  const plain = `sent you ${what} in a direct message`;
  await Promise.all([
    b.matrix.react(e.room_id, e.event_id, "✅").catch(() => {}),
    b.matrix.send(e.room_id, { plain, html: esc(plain), notice: true, ...(thread ? { thread } : {}), txnId: `reply.${e.event_id}` }),
  ]);
}

/** Bearer capabilities: an invite lets its reader join, a link token lets its reader's pursuance take the link. */
export const containsInvite = (text: string): boolean => text.includes(INVITE_PREFIX) || text.includes(LINK_PREFIX);

/** A pasted invite lets whoever reads it join: it never stays in a room other than the sender's direct chat with the bot. */
export async function removePastedInvite(b: InboundHost, e: MatrixEvent, text: string): Promise<void> {
  if (!containsInvite(text) && !containsInvite(String(e.content.formatted_body ?? ""))) return;
  if (await isPrivateDirectRoom(b.matrix, b.store, e.room_id, e.sender)) return;
  await redactWithNote(b, e, `Removed a message from ${e.sender}: it held a pursuance invite or link token, and whoever reads one can use it. Ask for them with !pursuance invite or !link offer: they come in a direct message.`);
}

export async function redactWithNote(b: InboundHost, e: MatrixEvent, note: string): Promise<void> {
  let plain = note;
  try {
    await b.matrix.redact(e.room_id, e.event_id, "holds what not everyone in this room may read");
  } catch (err) {
    b.s.log("warn", "could not redact", { room: e.room_id, event: e.event_id, error: (err as Error).message });
    plain = `${note} I could not remove it (the bridge's bot needs power level 100 here): please delete it.`;
  }
  await b.matrix.send(e.room_id, { plain, html: esc(plain), notice: true, txnId: `redact.${e.event_id}` });
}

