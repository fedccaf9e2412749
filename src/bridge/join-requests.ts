// `!pursuance request <address>` on the bridge: the sender asks to join as a
// custodial identity the bridge keeps for them (the same one that joins if
// admitted). The answer may take days, so the command returns at once and the
// wait runs beside the room's queue; the answer is posted in the room, and an
// admission joins and binds the room as `!pursuance join` would.
import { toHex } from "../cwtch/bytes.js";
import type { SignKeyPair } from "../cwtch/crypto.js";
import { askToJoin } from "../pursuance/client/requests.js";
import { decodeInvite } from "../pursuance/invite.js";
import { decodeRequestAddress, encodeRequestAddress, type RequestAddress } from "../pursuance/join-request.js";
import type { ClientPorts } from "../pursuance/ports.js";
import type { PendingJoinRequest } from "./ports.js";

/** How long the bridge waits for an answer before saying so (the request and any later answer stay on the relays). */
export const REQUEST_WAIT_MS = 24 * 3600_000;

/** What the bridge lends the wait: narrow, so this module never reaches into the bridge. */
export interface RequestHost {
  /** The sender's custodial identity in that group: the one kept from an earlier try, else a new one. */
  identityFor(sender: string, groupId: string): Promise<SignKeyPair>;
  ports(memberId: string, groupId: string): ClientPorts;
  join(roomId: string, sender: string, invite: ReturnType<typeof decodeInvite>, displayName: string): Promise<unknown>;
  say(roomId: string, plain: string, txnId: string): Promise<void>;
  /** Keep a wait across restarts, and drop it once it has an outcome. */
  remember(r: PendingJoinRequest): Promise<void>;
  forget(roomId: string, matrixUser: string): Promise<void>;
  /** Aborted when the bridge stops. */
  signal: AbortSignal;
  /** `room|user` of the waits running now: asking again while one runs starts no second one. */
  waiting: Set<string>;
  waitMs?: number;
}

export async function requestFromMatrix(host: RequestHost, roomId: string, sender: string, addr: RequestAddress, message: string, displayName: string): Promise<string> {
  await host.remember({ roomId, matrixUser: sender, address: encodeRequestAddress(addr), message, displayName });
  await wait(host, roomId, sender, addr, message, displayName);
  return `asked to join ${addr.name}; a member's answer will be posted here`;
}

/** After a restart: wait again for every request that had no outcome (answers already on the relays are read first). */
export async function resumeJoinRequests(host: RequestHost, rows: PendingJoinRequest[]): Promise<number> {
  let n = 0;
  for (const r of rows) {
    let addr: RequestAddress;
    try {
      addr = decodeRequestAddress(r.address);
    } catch {
      await host.forget(r.roomId, r.matrixUser);
      continue;
    }
    await wait(host, r.roomId, r.matrixUser, addr, r.message, r.displayName);
    n++;
  }
  return n;
}

async function wait(host: RequestHost, roomId: string, sender: string, addr: RequestAddress, message: string, displayName: string): Promise<void> {
  const running = `${roomId}|${sender}`;
  if (host.waiting.has(running)) return;
  host.waiting.add(running);
  let keys: SignKeyPair;
  try {
    keys = await host.identityFor(sender, addr.groupId);
  } catch (e) {
    host.waiting.delete(running);
    throw e;
  }
  const me = toHex(keys.publicKey);
  // One transaction id per wait and outcome: a later wait's "no answer yet" is a new message.
  const started = Date.now();
  const say = (plain: string, what: string) => host.say(roomId, plain, `pursuance.request.${me.slice(0, 16)}.${started}.${what}`);
  const settle = async (plain: string, what: string) => {
    await say(plain, what);
    await host.forget(roomId, sender);
  };
  void askToJoin(host.ports(me, addr.groupId), keys, addr, displayName, message, { timeoutMs: host.waitMs ?? REQUEST_WAIT_MS, signal: host.signal })
    .then(async (v) => {
      // Stopped with the bridge: the row stays, and the next start waits again.
      if (host.signal.aborted) return;
      if (!v) return settle(`no answer from ${addr.name} yet; ask again later with the same address (your request stays on its relays)`, "none");
      if (!v.admit) return settle(`${addr.name} refused your request (answered by ${v.by})${v.reason ? `: ${v.reason}` : ""}`, "refused");
      const invite = decodeInvite(v.invite);
      if (invite.pursuanceId !== addr.pursuanceId || invite.groupId !== addr.groupId) return settle(`the answer's invite is for another pursuance; not joining`, "mismatch");
      await say(`${addr.name} admitted you as ${v.role} (answered by ${v.by}); joining…`, "admitted");
      await host.join(roomId, sender, invite, displayName);
      await settle(`joined ${addr.name} as ${v.role}; this room is bound to it`, "joined");
    })
    .catch((e: Error) => settle(`asking to join ${addr.name} failed: ${e.message}`, "failed"))
    .finally(() => host.waiting.delete(running));
}
