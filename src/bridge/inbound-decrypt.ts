// Encrypted inbound events: opened by the bot's device when their turn in the
// room's queue comes; what cannot be acted on is said once in the room.
import type { MatrixEvent } from "./appservice-http.js";
import { ForeignSessionError, KeyPendingError, ReplayedError, UndecryptableError } from "./e2ee/e2ee.js";
export { KeyPendingError };
import type { InboundHost } from "./inbound-port.js";
import { esc } from "./mirror-render.js";

/**
 * The event as its sender wrote it, or null when it stays unreadable: then the
 * sender is told once, in the room, and the room's queue moves on.
 */
export async function decrypted(b: InboundHost, raw: MatrixEvent, waitUntil: number): Promise<MatrixEvent | null> {
  try {
    const d = await b.e2ee!.open(raw, waitUntil);
    // Relations travel outside the ciphertext (so the homeserver can thread): put them back.
    const content = { ...d.content };
    if (content["m.relates_to"] === undefined && raw.content["m.relates_to"] !== undefined) content["m.relates_to"] = raw.content["m.relates_to"];
    return { ...raw, type: d.type, content };
  } catch (err) {
    // Its key may still come: the caller parks it outside the room's queue and tries again.
    if (err instanceof KeyPendingError) throw err;
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
      `Your client did not give this bridge the message's key (or gave it while the bridge was down: the homeserver does not keep it for the bridge). ` +
      `Type /discardsession in Element (your client then shares a new key), let it share keys with unverified devices ` +
      `(or verify the bridge's device ${device} of ${b.matrix.botUserId}), and send the message again.`;
    await b.matrix.send(raw.room_id, { plain, html: esc(plain), notice: true, txnId: `undecryptable.${raw.event_id}` }).catch((e: Error) =>
      b.s.log("warn", "could not say a message was unreadable", { room: raw.room_id, error: e.message }),
    );
    return null;
  }
}

