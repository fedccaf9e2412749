// What the running bridge is given, resolved from the YAML config by the CLI
// (src/cli/bridge-command.ts), and the bounds it works within.
import type { Permission } from "../bot/context.js";
/** What the running bridge needs, resolved from the YAML config. */
export interface BridgeSettings {
  homeserverUrl: string;
  domain: string;
  bindAddress: string;
  port: number;
  asToken: string;
  hsToken: string;
  botLocalpart: string;
  userPrefix: string;
  database: string;
  relays: string[];
  /** config inviteRelays: how members outside this host reach `relays` (see invite-relays.ts). */
  inviteRelays?: string[];
  socksProxy?: string;
  identityKey: Uint8Array;
  permissionFor(userId: string): Permission;
  /** Serve Prometheus /metrics (default true); /live and /ready are always served. */
  metricsEnabled?: boolean;
  /** rooms.perRole: a room per role, membership following the role (default false). */
  perRoleRooms?: boolean;
  /** Deadlines and retry bounds; tests shorten them. */
  limits?: Partial<BridgeLimits>;
  /** Public announcements: rooms per pursuance id (announce.rooms), the Atom feeds (default on), first retry delay. */
  announce?: { rooms?: Readonly<Record<string, readonly string[]>>; feeds?: boolean; retryBaseMs?: number };
  /** The registration's id (appservice.id): the bridge pings the homeserver with it on start. */
  appserviceId?: string;
  /** End-to-bridge encryption (config `encryption`); see EncryptionSettings. */
  encryption?: Partial<EncryptionSettings>;
  log(level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void;
}

/** Like mautrix's: `allow` (default true) reads and writes encrypted rooms; `default` makes the rooms the bridge creates encrypted; `require` refuses unencrypted rooms. */
export interface EncryptionSettings {
  allow: boolean;
  default: boolean;
  require: boolean;
  /** How long a message waits for its room key (default 10 s). */
  keyWaitMs: number;
  /** The bridge's outbound Megolm sessions end after this many messages or hours (a room's stricter setting wins). */
  rotation: { messages: number; hours: number };
}

export const DEFAULT_ENCRYPTION: EncryptionSettings = { allow: true, default: false, require: false, keyWaitMs: 10_000, rotation: { messages: 100, hours: 24 } };

/** How long the bridge waits on anything, and how often it tries. */
export interface BridgeLimits {
  /** One call to the homeserver or the database. */
  ioTimeoutMs: number;
  /** One inbound event's handling, and one mirror pass. */
  stepTimeoutMs: number;
  /** A room whose queue made no progress for this long makes /ready false. */
  stuckAfterMs: number;
  /** Tries of one inbound command before it is answered ⛔ and dropped. */
  maxCommandAttempts: number;
}

/** encryption.require: the bridge would have posted into an unencrypted room; carries the room. */
export class EncryptionRequiredError extends Error {
  constructor(readonly roomId: string) {
    super(`not posting in ${roomId}: it is not encrypted and encryption.require is set`);
    this.name = "EncryptionRequiredError";
  }
}

export const DEFAULT_LIMITS: BridgeLimits = { ioTimeoutMs: 15_000, stepTimeoutMs: 30_000, stuckAfterMs: 60_000, maxCommandAttempts: 3 };

