// Matrix → pursuance: `!` commands go to the bot with a context for the
// sender; replies in a task's thread become comments by the sender's
// custodial identity. Each Matrix event is handled at most once.
import { handleCommand } from "../bot/dispatch.js";
import { Refusal, type BotContext, type KeyStatusRow } from "../bot/context.js";
import type { BotReply } from "../bot/reply.js";
import { commentBody } from "../pursuance/actions.js";
import type { Invite } from "../pursuance/invite.js";
import { NO_KEY } from "../pursuance/state.js";
import type { MatrixEvent } from "./appservice-http.js";
import type { Bridge } from "./bridge.js";
import type { HostedPursuance } from "./hosted-pursuance.js";
import { withTimeout } from "./deadline.js";
import { esc } from "./mirror-render.js";

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
  if (e.type !== "m.room.message" || typeof e.content.body !== "string") return;
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
  if (/^\s*!/.test(stripReplyFallback(String(e.content.body)))) {
    await Promise.all([
      b.matrix.react(e.room_id, e.event_id, "⛔").catch(() => {}),
      b.matrix.send(e.room_id, { plain: `⛔ ${why}`, html: `⛔ ${esc(why)}`, notice: true, txnId: `giveup.${e.event_id}` }).catch(() => {}),
    ]);
  }
  await b.store.markInboundDone(e.event_id);
}

async function handleOnce(b: Bridge, e: MatrixEvent): Promise<void> {
  const rel = (e.content["m.relates_to"] ?? {}) as Relation;
  const root = rel.rel_type === "m.thread" ? rel.event_id : rel["m.in_reply_to"]?.event_id;
  const text = stripReplyFallback(String(e.content.body));
  const hosted = b.rooms.get(e.room_id);
  if (/^\s*!/.test(text)) await command(b, e, text, hosted, root);
  else if (hosted && root) await comment(b, e, text, hosted, root);
  await b.store.markInboundDone(e.event_id);
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
  if (reply) await answer(b, e, reply, thread);
}

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
  const react = reply.kind === "task-created" || ("react" in reply && reply.react) ? b.matrix.react(e.room_id, e.event_id, "✅").catch(() => {}) : Promise.resolve();
  // A new task, or a change the mirror shows in the task's thread: the ✅ and the mirrored message say it all.
  // Not waited for: a lost ✅ costs nothing, and the room's next command should not wait on it.
  if (reply.kind === "task-created" || (reply.kind === "ok" && reply.mirrored)) return;
  await Promise.all([react, b.matrix.send(e.room_id, { plain: reply.plain, html: reply.html, notice: true, ...where, txnId: `reply.${e.event_id}` })]);
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
      await hosted.markFromMatrix(id, e.event_id, taskId);
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
        return `To let this bridge read "${role}" tasks, a member who holds that role's key runs: pursuance client keys delegate "${role}" --to ${hosted.delegate.me}`;
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
    now: () => Date.now(),
    via: viaOf(e),
  };
}
