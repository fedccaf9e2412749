// What the client's helpers (duties, rendezvous, join requests, links,
// succession, the duty schedule) need of a client: PursuanceClient
// implements it, and they import this file, never client.ts, so no helper
// and the client import each other. The client's own config and options,
// and the duty and rendezvous state it carries, live here for the same reason.
import type { Crypto, SignKeyPair } from "../../cwtch/crypto.js";
import type { EpochKeys } from "../../cwtch/envelope.js";
import type { Group } from "../../cwtch/group.js";
import type { GroupSession } from "../../cwtch/group-session.js";
import type { Actor } from "../actions.js";
import type { Body, KeyRef } from "../events.js";
import type { Fold } from "../fold.js";
import type { Invite } from "../invite.js";
import type { KeyRing } from "../keyring.js";
import type { ClientPorts } from "../ports.js";
import type { PursuanceState } from "../state.js";

export interface ClientConfig {
  /** The genesis event id; null only while a joiner has not yet seen it. */
  pursuanceId: string;
  groupId: string;
  relays: string[];
  name: string;
  /** While a keyless joiner waits to be let in: its rendezvous secret (base64url) and its join's id. */
  joining?: { rendezvous: string; join: string };
  /** Relays this member uses besides the log's list (a recovery relay learned by hand); dropped once the log names them. */
  extraRelays?: string[];
  /** Our events no relay has taken yet (written while none answered): sent again when one does. */
  unsent?: string[];
}

export interface ClientOptions {
  /** A member who is not the designated one waits this long before doing a rotation or share itself. */
  fallbackDutyMs?: number;
  repairDelayMs?: number;
  repairIntervalMs?: number;
  /**
   * A write no relay takes is kept and queued (config.unsent, sent again at the next sync that
   * reaches a relay) instead of failing after it is already in the log. For hosts that say so to
   * their user (the CLI); without it publish fails with NoRelayAcceptedError, as before.
   */
  keepUnsent?: boolean;
  /** Called as soon as the config changes in a way the host must keep (the unsent queue): a crash after a write is printed must not lose it. */
  onConfigChanged?: (config: ClientConfig) => void;
}

export interface RvState {
  /** Rendezvous tag → the invite it belongs to ("" for our own, as a joiner) and its frame keys. */
  tags: Map<string, { invite: string; keys: EpochKeys }>;
  /** Invites whose rendezvous we listen on (tags are never dropped: a relay keeps subscriptions). */
  watched: Set<string>;
  /** Joiners someone already welcomed (we saw the welcome on the channel, or sent it). */
  welcomed: Set<string>;
  capWarned: boolean;
  /** How many of `watched` were closed invites when first watched (listened on only to answer late joiners). */
  closedWatched: number;
  /** Joiners we told their invite cannot let them in (once each per run). */
  refusedSent: Set<string>;
  /** As a joiner: why a member said our invite cannot let us in. */
  refused?: string;
}

export interface DutyState {
  inflight: Set<string>;
  timers: Map<string, { cancel(): void }>;
  /** Joiners whose join this client carried in from a rendezvous: it acts first for them. */
  carried: Set<string>;
}

export interface ClientCore {
  readonly me: string;
  readonly ring: KeyRing;
  readonly fold: Fold;
  readonly session: GroupSession;
  readonly group: Group;
  readonly duty: DutyState;
  readonly rv: RvState;
  readonly ports: ClientPorts;
  readonly identity: SignKeyPair;
  readonly config: ClientConfig;
  readonly opts: ClientOptions;
  readonly crypto: Crypto;
  /** The genesis event id. */
  readonly id: string;
  readonly state: PursuanceState;
  readonly actor: Actor;
  /** The relays in use: the log's list and any extra ones. */
  readonly relays: string[];
  publish(body: Body | ((s: PursuanceState) => Body), epoch?: number, opts?: { via?: string }): Promise<{ id: string }>;
  /** Why every client would reject this body from us now, or null if it would be applied. */
  refusal(body: Body): string | null;
  createInvite(role: string, o?: { expiresInMs?: number }): Promise<Invite>;
  takeWelcome(refs: KeyRef[]): Promise<void>;
  sleep(ms: number): Promise<void>;
}
