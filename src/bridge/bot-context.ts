// The bot's view of the bridge for one command: the sender's client, what the
// sender may do here, and the bridge's own doings (create, join, ask, keys,
// announcement rooms, who is who) as the small ports the bot defines.
import { Refusal, type BotContext, type KeyStatusRow } from "../bot/context.js";
import type { Invite } from "../pursuance/invite.js";
import type { MatrixEvent } from "./appservice-http.js";
import type { HostedPursuance } from "./hosted-pursuance.js";
import { viaOf, type InboundHost } from "./inbound-port.js";
import { relaysForInvite } from "./invite-relays.js";
import { encryptAttachment } from "./e2ee/attachment.js";
import { DEFAULT_DIGEST } from "../usecases/digest-schedule.js";

export function contextFor(b: InboundHost, e: MatrixEvent, hosted: HostedPursuance | undefined): BotContext {
  const name = () => b.matrix.displayName(e.room_id, e.sender);
  return {
    client: hosted?.clientFor(e.sender) ?? null,
    boundTo: hosted ? hosted.binding.name : null,
    sender: e.sender,
    permission: b.s.permissionFor(e.sender),
    inviteRelays: (relays) => relaysForInvite(relays, b.s.relays, b.s.inviteRelays),
    files: {
      post: async (taskId, name, bytes) => {
        // Where the task's title may not be shown, neither may its documents.
        if (!hosted || !(await hosted.roomMayShowTask(e.room_id, taskId))) {
          throw new Refusal("not everyone in this room may read that task: ask in a room that may (or fetch it with pursuance client task fetch)");
        }
        const mimetype = "application/octet-stream";
        const encrypted = b.e2ee ? await b.e2ee.isEncrypted(e.room_id) : false;
        const sealed = encrypted ? encryptAttachment(bytes) : null;
        const url = await b.matrix.upload(sealed ? sealed.data : bytes, name, mimetype);
        const thread = await b.store.taskMessage(hosted.binding.groupId, taskId, e.room_id);
        await b.matrix.sendFile(e.room_id, {
          name,
          size: bytes.length,
          mimetype,
          ...(sealed ? { file: { ...sealed.info, url } } : { url }),
          ...(thread ? { thread } : {}),
          txnId: `file.${e.event_id}`,
        });
      },
    },
    digest: {
      get: async () => (await b.store.digest(e.sender)) ?? DEFAULT_DIGEST,
      set: (s) => b.store.setDigest(e.sender, s),
    },
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
function identityPort(b: InboundHost, hosted: HostedPursuance): NonNullable<BotContext["identity"]> {
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

function announceRoomsPort(b: InboundHost, hosted: HostedPursuance, sender: string): NonNullable<BotContext["announceRooms"]> {
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
