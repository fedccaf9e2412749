// Matrix → pursuance: `!` commands go to the bot with a context for the
// sender; replies in a task's thread become comments by the sender's
// custodial identity. Each Matrix event is handled at most once.
import { handleCommand } from "../bot/dispatch.js";
import { Refusal, type BotContext, type KeyStatusRow } from "../bot/context.js";
import type { BotReply } from "../bot/reply.js";
import { commentBody } from "../pursuance/actions.js";
import { INVITE_PREFIX, type Invite } from "../pursuance/invite.js";
import { LINK_PREFIX } from "../pursuance/link.js";
import { NO_KEY } from "../pursuance/state.js";
import type { MatrixEvent } from "./appservice-http.js";
import type { Bridge } from "./bridge.js";
import type { HostedPursuance } from "./hosted-pursuance.js";
import { withTimeout } from "./deadline.js";
import { esc } from "./mirror-render.js";
import { mayShow } from "./room-visibility.js";
import { relaysForInvite } from "./invite-relays.js";
import { findTask } from "../pursuance/views.js";
import { ForeignSessionError, ReplayedError, UndecryptableError } from "./e2ee/e2ee.js";

interface Relation {
  rel_type?: string;
  event_id?: string;
  "m.in_reply_to"?: { event_id?: string };
}

/** Clients quote the message replied to as "> …" lines first; the command is what follows. */
export function stripReplyFallback(body: string): string {
  const lines = body.split("\n");
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith(">")) i++;
  if (i > 0 && lines[i] === "") i++;
  return lines.slice(i).join("\n");
}

export async function handleInbound(b: Bridge, e: MatrixEvent): Promise<void> {
  if (e.type === "m.room.member") {
    // Not stored, so a failure here is only logged: a 5xx would make the homeserver resend forever.
    if (e.state_key === b.matrix.botUserId && e.content.membership === "invite")
      await b.matrix.joinRoom(e.room_id).catch((err: Error) => b.s.log("warn", "could not join a room I was invited to", { room: e.room_id, error: err.message }));
    return;
  }
  // Encrypted: stored as it came (ciphertext), decrypted when its turn in the room's queue comes.
  const encrypted = e.type === "m.room.encrypted" && b.e2ee !== null;
  if (!encrypted && (e.type !== "m.room.message" || typeof e.content.body !== "string")) return;
  // Stored before the homeserver's transaction is acknowledged, handled after in the room's own
  // queue, marked done when handled. A crash in between: handled again on start (see resumeInbound).
  if (!(await b.store.claimInbound(e.event_id, e.room_id, JSON.stringify(e)))) return;
  queueHandling(b, e);
}

/** Re-queue what a previous run stored but did not finish. */
export async function resumeInbound(b: Bridge): Promise<number> {
  const pending = await b.store.pendingInbound();
  for (const raw of pending) queueHandling(b, JSON.parse(raw) as MatrixEvent);
  return pending.length;
}

function queueHandling(b: Bridge, e: MatrixEvent): void {
  b.enqueue(e.room_id, async () => {
    try {
      await withTimeout(handleOnce(b, e), b.limits.stepTimeoutMs, `handling ${e.event_id}`);
      b.inboundFailures.delete(e.event_id);
    } catch (err) {
      const tries = (b.inboundFailures.get(e.event_id) ?? 0) + 1;
      b.inboundFailures.set(e.event_id, tries);
      if (tries < b.limits.maxCommandAttempts) {
        // Again later, behind what arrived since: one failing command does not hold up the room.
        queueHandling(b, e);
        throw err;
      }
      await giveUp(b, e, err as Error, tries);
    }
  });
}

/** A command that keeps failing is answered with the reason and dropped (in this run and the next). */
async function giveUp(b: Bridge, e: MatrixEvent, err: Error, tries: number): Promise<void> {
  b.inboundFailures.delete(e.event_id);
  b.commandsDropped++;
  b.s.log("error", "gave up on an inbound event", { room: e.room_id, event: e.event_id, tries, error: err.message });
  const why = `gave up after ${tries} tries: ${err.message}`;
  // An encrypted one may well have been a command (its text is not at hand here): answer it too.
  if (e.type === "m.room.encrypted" || /^\s*!/.test(stripReplyFallback(String(e.content.body)))) {
    await Promise.all([
      b.matrix.react(e.room_id, e.event_id, "⛔").catch(() => {}),
      b.matrix.send(e.room_id, { plain: `⛔ ${why}`, html: `⛔ ${esc(why)}`, notice: true, txnId: `giveup.${e.event_id}` }).catch(() => {}),
    ]);
  }
  await b.store.markInboundDone(e.event_id);
}

async function handleOnce(b: Bridge, raw: MatrixEvent): Promise<void> {
  const e = raw.type === "m.room.encrypted" ? await decrypted(b, raw) : raw;
  if (!e || e.type !== "m.room.message" || typeof e.content.body !== "string" || (await b.refusesRoom(e.room_id))) {
    await b.store.markInboundDone(raw.event_id);
    return;
  }
  const rel = (e.content["m.relates_to"] ?? {}) as Relation;
  const root = rel.rel_type === "m.thread" ? rel.event_id : rel["m.in_reply_to"]?.event_id;
  const text = stripReplyFallback(String(e.content.body));
  const hosted = b.pursuanceOfRoom(e.room_id);
  await removePastedInvite(b, e, text);
  if (/^\s*!/.test(text)) await command(b, e, text, hosted, root);
  else if (hosted && root) await comment(b, e, text, hosted, root);
  await b.store.markInboundDone(e.event_id);
}

/**
 * The event as its sender wrote it, or null when it stays unreadable: then the
 * sender is told once, in the room, and the room's queue moves on.
 */
async function decrypted(b: Bridge, raw: MatrixEvent): Promise<MatrixEvent | null> {
  try {
    const d = await b.e2ee!.open(raw);
    // Relations travel outside the ciphertext (so the homeserver can thread): put them back.
    const content = { ...d.content };
    if (content["m.relates_to"] === undefined && raw.content["m.relates_to"] !== undefined) content["m.relates_to"] = raw.content["m.relates_to"];
    return { ...raw, type: d.type, content };
  } catch (err) {
    if (err instanceof ReplayedError) {
      // Its sender wrote it once and it was acted on once: a second copy is nobody's new command.
      b.s.log("warn", "ignored a replayed encrypted message", { room: raw.room_id, event: raw.event_id, first: err.firstEventId, sender: raw.sender });
      return null;
    }
    if (err instanceof ForeignSessionError) {
      b.s.log("warn", "ignored an encrypted message sent in another device's session", { room: raw.room_id, event: raw.event_id, sender: raw.sender, device: err.senderDevice });
      const plain = `🔒 ${raw.sender}: your message was encrypted in a session that is not one of your devices', so I did not act on it.`;
      await b.matrix.send(raw.room_id, { plain, html: esc(plain), notice: true, txnId: `foreign.${raw.event_id}` }).catch((e: Error) =>
        b.s.log("warn", "could not say a message was refused", { room: raw.room_id, error: e.message }),
      );
      return null;
    }
    if (!(err instanceof UndecryptableError)) throw err;
    b.s.log("warn", "could not decrypt a message", { room: raw.room_id, event: raw.event_id, sender: raw.sender, reason: err.reason });
    const device = await b.e2ee!.machine(b.matrix.botUserId).then((m) => m.deviceId, () => "?");
    const plain =
      `🔒 ${raw.sender}: I could not decrypt your message (${err.reason}), so I did not act on it. ` +
      `Your client did not give this bridge the message's key. Send it again; if this keeps happening, let your client share keys with unverified devices ` +
      `(or verify the bridge's device ${device} of ${b.matrix.botUserId}), then send it once more.`;
    await b.matrix.send(raw.room_id, { plain, html: esc(plain), notice: true, txnId: `undecryptable.${raw.event_id}` }).catch((e: Error) =>
      b.s.log("warn", "could not say a message was unreadable", { room: raw.room_id, error: e.message }),
    );
    return null;
  }
}

/** The tag a command's events carry, so its effect is recognised after a crash. */
const viaOf = (e: MatrixEvent) => `matrix:${e.event_id}`;

async function command(b: Bridge, e: MatrixEvent, text: string, hosted: HostedPursuance | undefined, thread: string | undefined): Promise<void> {
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
  // Words typed about a task (a comment, a close reason, a new title) are its content too.
  const ref = hosted ? TASK_TEXT_COMMAND.exec(text) : null;
  if (hosted && ref && ref[2]!.trim() !== "") {
    const s = hosted.primary?.state;
    let taskId: string | null = null;
    try {
      taskId = s ? findTask(s, ref[1]!).id : null;
    } catch {
      taskId = null;
    }
    if (taskId && !(await hosted.roomMayShowTask(e.room_id, taskId))) {
      await redactWithNote(b, e, `Removed a command from ${e.sender} about ${ref[1]}: it carries that task's content, and not everyone in this room may read it.`);
    }
  }
}

/** `!task comment|close|done|update|edit <ref> <text…>`: the reference, and the text that follows it. */
const TASK_TEXT_COMMAND = /^\s*!task\s+(?:comment|close|done|update|edit)\s+(#?\d+|[0-9a-f]{6,64})\b(.*)$/is;

async function answer(b: Bridge, e: MatrixEvent, reply: BotReply, thread: string | undefined): Promise<void> {
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
async function needsPrivacy(b: Bridge, e: MatrixEvent, reply: BotReply, hosted: HostedPursuance | undefined): Promise<boolean> {
  if ((await b.store.directRoom(e.sender)) === e.room_id) return false;
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
async function privately(b: Bridge, e: MatrixEvent, reply: BotReply, thread: string | undefined): Promise<void> {
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
const containsInvite = (text: string): boolean => text.includes(INVITE_PREFIX) || text.includes(LINK_PREFIX);

/** A pasted invite lets whoever reads it join: it never stays in a room other than the sender's direct chat with the bot. */
async function removePastedInvite(b: Bridge, e: MatrixEvent, text: string): Promise<void> {
  if (!containsInvite(text) && !containsInvite(String(e.content.formatted_body ?? ""))) return;
  if ((await b.store.directRoom(e.sender)) === e.room_id) return;
  await redactWithNote(b, e, `Removed a message from ${e.sender}: it held a pursuance invite or link token, and whoever reads one can use it. Ask for them with !pursuance invite or !link offer: they come in a direct message.`);
}

async function redactWithNote(b: Bridge, e: MatrixEvent, note: string): Promise<void> {
  let plain = note;
  try {
    await b.matrix.redact(e.room_id, e.event_id, "holds what not everyone in this room may read");
  } catch (err) {
    b.s.log("warn", "could not redact", { room: e.room_id, event: e.event_id, error: (err as Error).message });
    plain = `${note} I could not remove it (the bridge's bot needs power level 100 here): please delete it.`;
  }
  await b.matrix.send(e.room_id, { plain, html: esc(plain), notice: true, txnId: `redact.${e.event_id}` });
}

async function comment(b: Bridge, e: MatrixEvent, text: string, hosted: HostedPursuance, root: string): Promise<void> {
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

function contextFor(b: Bridge, e: MatrixEvent, hosted: HostedPursuance | undefined): BotContext {
  const name = () => b.matrix.displayName(e.room_id, e.sender);
  return {
    client: hosted?.clientFor(e.sender) ?? null,
    boundTo: hosted ? hosted.binding.name : null,
    sender: e.sender,
    permission: b.s.permissionFor(e.sender),
    inviteRelays: (relays) => relaysForInvite(relays, b.s.relays, b.s.inviteRelays),
    resolveUser: (ref) => {
      const c = hosted?.clientFor(ref);
      return c ? c.me : null;
    },
    pursuance: {
      create: async (pname: string) => {
        try {
          return await b.createPursuance(e.room_id, e.sender, pname, await name());
        } catch (err) {
          throw new Refusal((err as Error).message);
        }
      },
      admit: async (matrixUser: string, invite: Invite) => {
        try {
          const c = await b.joinPursuance(e.room_id, matrixUser, invite, matrixUser.slice(1, matrixUser.indexOf(":")));
          await b.matrix.invite(e.room_id, matrixUser).catch((err: Error) => b.s.log("warn", "could not invite to the room", { user: matrixUser, error: err.message }));
          return c;
        } catch (err) {
          throw new Refusal((err as Error).message);
        }
      },
      join: async (invite: Invite) => {
        try {
          return await b.joinPursuance(e.room_id, e.sender, invite, await name());
        } catch (err) {
          throw new Refusal((err as Error).message);
        }
      },
      request: async (addr, message) => {
        try {
          return await b.requestToJoin(e.room_id, e.sender, addr, message, await name());
        } catch (err) {
          throw new Refusal((err as Error).message);
        }
      },
    },
    keys: {
      status: async (): Promise<KeyStatusRow[]> => {
        const c = hosted?.primary;
        if (!c || !hosted) return [];
        const mine = hosted.delegate?.me;
        return Object.entries(c.state.rules.roles)
          .filter(([, d]) => d.reads === "role")
          .map(([role]) => {
            const by = mine ? c.state.delegates.get(role)?.get(mine) : undefined;
            return { role, readable: hosted.readable(role), delegatedBy: by ? [by] : [] };
          });
      },
      delegate: async (role: string) => {
        if (!hosted?.delegate) throw new Refusal("this room is not bound to a pursuance");
        // Custodial identities' keys are already here; delegation is for members who keep their own keys.
        return `To let this bridge read "${role}" tasks, a member who holds that role's key and may invite (member.invite) runs: pursuance client keys delegate "${role}" --to ${hosted.delegate.me}`;
      },
      revoke: async (role: string) => {
        const me = hosted?.delegate?.me;
        const c = hosted?.clientFor(e.sender);
        if (!me || !hosted) throw new Refusal("this room is not bound to a pursuance");
        if (!c) throw new Refusal("only a member can take a delegation back");
        if (!c.state.delegates.get(role)?.has(me)) throw new Refusal(`"${role}" is not delegated to this bridge`);
        await c.publish({ t: "keys.undelegate", role, to: me });
        return `took back the "${role}" key from this bridge; members' clients rotate it away now`;
      },
    },
    ...(hosted ? { announceRooms: announceRoomsPort(b, hosted, e.sender), identity: identityPort(b, hosted) } : {}),
    now: () => Date.now(),
    via: viaOf(e),
  };
}

/** Confirmations by a Matrix account of a member's link to it: kept per pursuance in the bridge's store. */
function identityPort(b: Bridge, hosted: HostedPursuance): NonNullable<BotContext["identity"]> {
  return {
    hosts: (member) => hosted.hostedMembers.get(member) ?? null,
    confirmed: (member, matrix) => hosted.confirmations.confirmed(member, matrix),
    confirm: (member, matrix) => hosted.confirmations.confirm(member, matrix),
    view: () => {
      const c = hosted.primary;
      return c ? { state: c.state, crypto: c.crypto } : null;
    },
  };
}

function announceRoomsPort(b: Bridge, hosted: HostedPursuance, sender: string): NonNullable<BotContext["announceRooms"]> {
  const g = hosted.binding.groupId;
  return {
    add: async (alias) => {
      try {
        const fresh = await b.announce.add(g, alias, sender);
        return fresh ? `announcements now go to ${alias} too (every past one first, in order)` : `${alias} already gets the announcements`;
      } catch (err) {
        throw new Refusal((err as Error).message);
      }
    },
    remove: async (alias) => {
      const r = await b.announce.remove(g, alias);
      if (r === "configured") throw new Refusal(`${alias} is set in the bridge's config (announce.rooms); the operator removes it there`);
      return r === "removed" ? `announcements no longer go to ${alias} (what is there stays)` : `${alias} was not an announcement room`;
    },
    list: async () =>
      (await b.announce.status(g)).map(
        (r) => `${r.alias}${r.configured ? " (config)" : ""}: ${r.behind === 0 ? "up to date" : `${r.behind} to post`}${r.failing ? `, failing (${r.failing} tries)` : ""}`,
      ),
  };
}
