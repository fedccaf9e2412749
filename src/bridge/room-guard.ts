// What the bridge checks and keeps about the rooms it is in: a bound room shows
// history only from one's join and lets the bot redact; an unencrypted room is
// refused under encryption.require, and nothing is sent into one; each user's
// direct chat with the bot.
import type { BridgeE2ee } from "./e2ee/e2ee.js";
import type { RoomSealer } from "./matrix-client.js";
import type { BridgeStorePort, MatrixPort } from "./ports.js";
import { EncryptionRequiredError, type BridgeSettings } from "./settings.js";

/**
 * A bound room should show its history only from when one joined (what was
 * shown to those present must not reach who comes later), and the bot needs
 * the power to redact pasted invites. Without that power, the room is told.
 */
export async function secureRoom(matrix: MatrixPort, store: BridgeStorePort, roomId: string, log: BridgeSettings["log"]): Promise<void> {
  try {
    const p = await matrix.botPower(roomId);
    if (p.mine >= p.stateDefault) await matrix.setHistoryVisibility(roomId, "joined");
    if ((p.mine < p.redact || p.mine < p.stateDefault) && (await store.sayOnce(roomId, matrix.botUserId, "power"))) {
      const plain = `⚠ This bridge's bot has power level ${p.mine} here: it cannot remove pasted invites or keep earlier messages from people who join later. Give it power level 100 in this room.`;
      await matrix.send(roomId, { plain, html: plain, notice: true, txnId: `pursuance.power.${roomId}` });
    }
  } catch (e) {
    log("warn", "could not check the bot's power in a bound room", { room: roomId, error: (e as Error).message });
  }
}

/**
 * The bot's direct chat with a user, made (is_direct) the first time it is needed, and made
 * anew when someone else is in the old one (an invite token or a link token goes there: whoever
 * else is in the room could use it).
 */
export async function directRoomOf(matrix: MatrixPort, store: BridgeStorePort, userId: string): Promise<string> {
  const have = await store.directRoom(userId);
  const members = have ? await matrix.members(have) : [];
  if (have && members.every((m) => m === userId || m === matrix.botUserId)) {
    // Left: invite again. Not while joined or invited: a second invite would replace the
    // first, and with it the is_direct mark clients use to show the room as a direct chat.
    if (!members.includes(userId)) await matrix.invite(have, userId).catch(() => {});
    return have;
  }
  const id = await matrix.createDirectRoom(userId);
  await store.setDirectRoom(userId, id);
  return id;
}

/** Whether this room is the user's direct chat with the bot and nobody else is in it (joined or invited). */
export async function isPrivateDirectRoom(matrix: MatrixPort, store: BridgeStorePort, roomId: string, userId: string): Promise<boolean> {
  return (await store.directRoom(userId)) === roomId && (await onlyUs(matrix, roomId, userId));
}

async function onlyUs(matrix: MatrixPort, roomId: string, userId: string): Promise<boolean> {
  const members = await matrix.members(roomId);
  return members.every((m) => m === userId || m === matrix.botUserId);
}

/**
 * Under encryption.require, an unencrypted room gets one notice (sent in
 * clear: it is the only thing that is) and its commands are not acted on.
 * Returns true when the room is refused.
 */
export async function refusesPlainRoom(e2ee: BridgeE2ee, matrix: MatrixPort, store: BridgeStorePort, roomId: string): Promise<boolean> {
  if (await e2ee.isEncrypted(roomId)) return false;
  if (await store.sayOnce(roomId, matrix.botUserId, "e2ee-required")) {
    const plain = "🔒 This bridge works only in encrypted rooms (encryption.require in its config): it will not read or post anything here. Turn on encryption in this room's settings (it cannot be turned off again), then send your command again.";
    await matrix.send(roomId, { plain, html: plain, notice: true, mayBePlain: true, txnId: `pursuance.e2ee-required.${roomId}` });
  }
  return true;
}


/**
 * What every event the bridge sends goes through when encryption is allowed (BridgeMatrix's seal):
 * under encryption.require nothing goes into an unencrypted room but the one notice saying why.
 */
export function guardedSealer(e2ee: BridgeE2ee, require: boolean): RoomSealer {
  return async (roomId, userId, type, content, o = {}) => {
    if (require && !o.mayBePlain && !(await e2ee.isEncrypted(roomId))) throw new EncryptionRequiredError(roomId);
    // A notice that carries nothing secret may go in clear where the room's algorithm cannot be spoken.
    if (o.mayBePlain && (await e2ee.unsupportedAlgorithm(roomId)) !== null) return { type, content };
    return e2ee.seal(roomId, userId, type, content);
  };
}
