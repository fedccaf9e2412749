// Matrix → pursuance: `!` commands go to the bot with a context for the
// sender; replies in a task's thread become comments by the sender's
// custodial identity. Each Matrix event is handled at most once.
import type { MatrixEvent } from "./appservice-http.js";
import type { InboundHost } from "./inbound-port.js";
import { command } from "./inbound-command.js";
import { comment } from "./inbound-comment.js";
import { FILE_MSGTYPES, attachFromMatrix } from "./inbound-file.js";
import { decrypted, KeyPendingError } from "./inbound-decrypt.js";
import { removePastedInvite } from "./inbound-replies.js";
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

export async function handleInbound(b: InboundHost, e: MatrixEvent): Promise<void> {
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
export async function resumeInbound(b: InboundHost): Promise<number> {
  const pending = await b.store.pendingInbound();
  for (const raw of pending) queueHandling(b, JSON.parse(raw) as MatrixEvent);
  return pending.length;
}

function queueHandling(b: InboundHost, e: MatrixEvent): void {
  b.enqueue(e.room_id, async () => {
    try {
      await withTimeout(handleOnce(b, e), b.limits.stepTimeoutMs, `handling ${e.event_id}`);
      b.inbound.handled(e.event_id);
    } catch (err) {
      if (err instanceof KeyPendingError) return awaitKey(b, e);
      const tries = b.inbound.failed(e.event_id);
      if (tries < b.limits.maxCommandAttempts) {
        // Again later, behind what arrived since: one failing command does not hold up the room.
        queueHandling(b, e);
        throw err;
      }
      await giveUp(b, e, err as Error, tries);
    }
  });
}

/**
 * An encrypted event whose key has not come: it waits outside the room's queue (later events go
 * on meanwhile) and is queued again when a to-device delivery may have brought the key, or soon.
 */
function awaitKey(b: InboundHost, e: MatrixEvent): void {
  const until = b.inbound.keyWaitUntil(e.event_id) ?? Date.now();
  void b.e2ee!.keyArrival(Math.min(500, until - Date.now())).then(() => {
    if (!b.stopping) queueHandling(b, e);
  });
}

/** When an encrypted event stops waiting for its key: set at its first try. */
function keyDeadline(b: InboundHost, e: MatrixEvent): number {
  return b.inbound.keyDeadline(e.event_id, () => b.e2ee!.keyWaitMs);
}

/**
 * A message in clear in an encrypted room: no client of its sender wrote it so (clients encrypt
 * there), and anyone with the homeserver could have. Not acted on, counted, said once per sender.
 */
async function refusePlain(b: InboundHost, e: MatrixEvent): Promise<void> {
  b.e2ee!.refusedPlain();
  b.s.log("warn", "ignored an unencrypted message in an encrypted room", { room: e.room_id, event: e.event_id, sender: e.sender });
  if (await b.store.sayOnce(e.room_id, e.sender, "plain-in-encrypted")) {
    const plain = `🔒 ${e.sender}: a message of yours came unencrypted into this encrypted room, so I did not act on it (your client encrypts here; anyone with the homeserver could write in clear). Send it again from your client.`;
    await b.matrix.send(e.room_id, { plain, html: esc(plain), notice: true, txnId: `plain.${e.event_id}` }).catch((err: Error) =>
      b.s.log("warn", "could not say a message was refused", { room: e.room_id, error: err.message }),
    );
  }
  await b.store.markInboundDone(e.event_id);
}

/**
 * An encrypted room whose m.room.encryption names an algorithm the bridge cannot speak (or none):
 * it can neither read nor write there. Said once, in clear (the notice holds nothing secret),
 * instead of failing every answer in silence.
 */
async function refuseAlgorithm(b: InboundHost, e: MatrixEvent): Promise<void> {
  const algorithm = await b.e2ee!.unsupportedAlgorithm(e.room_id);
  b.s.log("warn", "a room's encryption algorithm is not one the bridge speaks", { room: e.room_id, event: e.event_id, algorithm });
  if (await b.store.sayOnce(e.room_id, `algorithm:${algorithm}`, "unsupported-algorithm")) {
    const plain = `🔒 This room's encryption settings name ${JSON.stringify(algorithm)}, which I cannot use: I read and post nothing here while they do. Encrypted rooms use m.megolm.v1.aes-sha2 (a room's admin set this; it cannot be turned off, so a new room may be needed).`;
    await b.matrix.send(e.room_id, { plain, html: esc(plain), notice: true, mayBePlain: true, txnId: `algorithm.${e.event_id}` }).catch((err: Error) =>
      b.s.log("warn", "could not say the room's algorithm is unusable", { room: e.room_id, error: err.message }),
    );
  }
  await b.store.markInboundDone(e.event_id);
}

/** A command that keeps failing is answered with the reason and dropped (in this run and the next). */
async function giveUp(b: InboundHost, e: MatrixEvent, err: Error, tries: number): Promise<void> {
  b.inbound.gaveUp(e.event_id);
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

async function handleOnce(b: InboundHost, raw: MatrixEvent): Promise<void> {
  if (b.e2ee && (await b.e2ee.unsupportedAlgorithm(raw.room_id)) !== null) return refuseAlgorithm(b, raw);
  if (raw.type === "m.room.message" && b.e2ee && (await b.e2ee.isEncrypted(raw.room_id))) return refusePlain(b, raw);
  const e = raw.type === "m.room.encrypted" ? await decrypted(b, raw, keyDeadline(b, raw)) : raw;
  if (!e || e.type !== "m.room.message" || typeof e.content.body !== "string" || (await b.refusesRoom(e.room_id))) {
    await b.store.markInboundDone(raw.event_id);
    return;
  }
  const rel = (e.content["m.relates_to"] ?? {}) as Relation;
  const root = rel.rel_type === "m.thread" ? rel.event_id : rel["m.in_reply_to"]?.event_id;
  const text = stripReplyFallback(String(e.content.body));
  const hosted = b.pursuanceOfRoom(e.room_id);
  await removePastedInvite(b, e, text);
  if (FILE_MSGTYPES.has(String(e.content.msgtype))) {
    if (hosted && root) await attachFromMatrix(b, e, hosted, root);
  } else if (/^\s*!/.test(text)) await command(b, e, text, hosted, root);
  else if (hosted && root) await comment(b, e, text, hosted, root);
  await b.store.markInboundDone(e.event_id);
}


