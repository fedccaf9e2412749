// What the bot needs from whoever hosts it (the Matrix bridge, or a test):
// the acting member's client, who is asking and at what bridge permission,
// and ports for the few things only the host can do (create and bind
// clients, hold delegated keys). Kept small on purpose: the bridge
// implements it once per incoming command.
import type { RequestAddress } from "../pursuance/join-request.js";
import type { PursuanceClient } from "../pursuance/client/client.js";
import type { Crypto } from "../cwtch/crypto.js";
import type { Invite } from "../pursuance/invite.js";
import type { PursuanceState } from "../pursuance/state.js";
import type { DigestSchedule } from "../usecases/digest-schedule.js";

/** Bridge permission levels, additive as in hookshot: each includes the ones before it. */
export const PERMISSIONS = ["none", "commands", "manage", "admin"] as const;
export type Permission = (typeof PERMISSIONS)[number];
export type CommandLevel = Exclude<Permission, "none">;

export function permits(have: Permission, need: Permission): boolean {
  return PERMISSIONS.indexOf(have) >= PERMISSIONS.indexOf(need);
}

/** One role as the host's key custody sees it. */
export interface KeyStatusRow {
  role: string;
  /** The host holds the role's current key: its tasks show in plaintext. */
  readable: boolean;
  /** Members (pursuance ids) who delegated this role's key to the host; empty for custodial keys. */
  delegatedBy: string[];
}

export interface BotContext {
  /**
   * The acting member's client in the pursuance bound to this room (for the
   * bridge: the custodial identity it holds for `sender`); null when the room
   * is not bound. Capabilities and rules are judged for `client.me`.
   */
  client: PursuanceClient | null;
  /**
   * The name of the pursuance this room is bound to, when it is bound (the
   * sender may still be no member of it: `client` is then null). Absent: not bound.
   */
  boundTo?: string | null;
  /** Who typed the command (a Matrix user id); shown in no reply, kept for the host's own checks and logs. */
  sender: string;
  /** The sender's bridge permission, from the host's config. */
  permission: Permission;
  /**
   * The relay addresses to print in an invite for a member outside this host,
   * from the pursuance's own (the host's published addresses in place of names
   * only it resolves). Absent: the pursuance's relays as they are.
   */
  inviteRelays?(relays: readonly string[]): string[];
  /** A Matrix user id (e.g. "@alice:example.org") → that user's member id here, or null if the host knows none. */
  resolveUser(ref: string): string | null;
  /** These create or bind clients, which only the host can do (identities, stores, room bindings). */
  pursuance: {
    /** Found a pursuance with the sender as founder and bind this room to it. */
    create(name: string): Promise<PursuanceClient>;
    /** Join with an invite (already decoded and checked) and bind this room to it. */
    join(invite: Invite): Promise<PursuanceClient>;
    /**
     * Admit a Matrix user with an invite the sender's client just made: the
     * host creates that user's custodial identity and joins it. Returns the
     * new member's client.
     */
    admit(matrixUser: string, invite: Invite): Promise<PursuanceClient>;
    /**
     * Ask to join by a public request address, as the sender (a custodial
     * identity the host keeps for them). Returns at once with one plain line;
     * the host waits for the answer, posts it in this room and, if admitted,
     * joins and binds the room.
     */
    request(address: RequestAddress, message: string): Promise<string>;
  };
  /** Where the host can show a file: into this room (the task's thread), encrypted where the room is; a Refusal if the room may not read the task. */
  files?: {
    post(taskId: string, name: string, bytes: Uint8Array): Promise<void>;
  };
  /** The sender's daily digest schedule, where the host sends digests (the bridge, in the direct chat). */
  digest?: {
    get(): Promise<DigestSchedule>;
    set(s: DigestSchedule): Promise<void>;
  };
  /** Role keys members delegate to the host (revocably); the bot only asks and reports. */
  keys: {
    status(): Promise<KeyStatusRow[]>;
    /** Returns one line, plain text, saying what happened or what the member must do next. */
    delegate(role: string): Promise<string>;
    revoke(role: string): Promise<string>;
  };
  /**
   * Public rooms where the host mirrors this pursuance's announcements (the
   * bridge's); absent where the host has none. Each returns one plain line.
   */
  announceRooms?: {
    add(alias: string): Promise<string>;
    remove(alias: string): Promise<string>;
    list(): Promise<string[]>;
  };
  /**
   * Who is who, where the host knows Matrix accounts (the bridge): which Matrix
   * user's key it holds, and confirmations by a Matrix account of a member's
   * link to it. Absent where the host has none.
   */
  identity?: {
    /** The Matrix user whose custodial key this member is, or null. */
    hosts(member: string): string | null;
    confirmed(member: string, matrix: string): Promise<boolean>;
    confirm(member: string, matrix: string): Promise<void>;
    /**
     * The bound pursuance as the host reads it, for commands a non-member may
     * use (a member on the CLI confirming, as their Matrix account, their link).
     */
    view(): { state: PursuanceState; crypto: Crypto } | null;
  };
  /** Wall clock, ms: "today" and "tomorrow" in due dates. */
  now(): number;
  /**
   * Where this command came from (e.g. "matrix:$eventid"). Events it publishes
   * carry it, so a host that handles the same command again after a crash can
   * see it was already done (PursuanceClient.hasVia) instead of doing it twice.
   */
  via?: string;
}

/** The context of a command that needs a bound room. */
export type BoundContext = BotContext & { client: PursuanceClient };

/**
 * A refusal the user should read, from a port (e.g. "no delegated key for
 * role admin") or a handler. Anything else a port throws is reported as a
 * failure of the host, not of the command.
 */
export class Refusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Refusal";
  }
}
