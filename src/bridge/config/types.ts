// The shape of the bridge's YAML config once validated, and the defaults that
// fill in whatever a config leaves out. Kept free of logic and imports so that
// every other config module can depend on it without an import cycle.

export type PermissionLevel = "commands" | "manage" | "admin";
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface HomeserverConfig {
  /** Client-server API base URL, without a trailing slash. */
  url: string;
  /** Server name: the part after ':' in user ids on that homeserver. */
  domain: string;
}

export interface AppserviceConfig {
  /** Registration id (default "pursuance"). */
  id: string;
  /** Address the appservice listener binds (default 127.0.0.1). */
  bindAddress: string;
  /** Port of the appservice listener, also serving /metrics, /live, /ready (default 9993). */
  port: number;
  /** How the homeserver reaches us, without a trailing slash (default http://<bindAddress>:<port>). */
  url: string;
  /** The bridge bot's localpart (default "_pursuance_bot"). */
  botLocalpart: string;
  /** Localpart prefix of ghost users; an exclusive namespace (default "_pursuance_"). */
  userPrefix: string;
  /** Localpart prefix of room aliases; an exclusive namespace (default "_pursuance_"). */
  aliasPrefix: string;
  /** Written by `pursuance register`; required by the bridge. */
  asToken?: string;
  /** Written by `pursuance register`; required by the bridge. */
  hsToken?: string;
}

export interface DatabaseConfig {
  /** As written: a postgres:// URL or a folder path for embedded PGlite (default "./data/bridge-db"). */
  url: string;
  kind: "postgres" | "pglite";
  /** For kind "pglite": the folder, absolute (relative paths are resolved against the config file's folder). */
  path?: string;
}

export interface IdentitiesConfig {
  /** base64url of 32 bytes: encrypts identities at rest. PURSUANCE_IDENTITY_KEY overrides it. Use resolveIdentityKey(). */
  key?: string;
  /** The bridge holds Matrix users' pursuance identities (custodial). Only `true` is supported. */
  custodial: true;
}

export interface BridgeConfig {
  homeserver: HomeserverConfig;
  appservice: AppserviceConfig;
  database: DatabaseConfig;
  /** Default relays (ws:// or wss://) for pursuances created from Matrix; at least one. */
  relays: string[];
  /**
   * How members outside this host reach the relays in `relays` (a public wss://
   * URL, an onion address): invites printed for them carry these in place of
   * `relays`, which may be names only this host resolves (ws://relay:7717 in
   * the compose stack). Absent: invites carry `relays` as they are.
   */
  inviteRelays?: string[];
  /** socks5h://host:port to reach relays through (e.g. Tor), if any. */
  socksProxy?: string;
  identities: IdentitiesConfig;
  /** "*", a server name, or a full user id → level (default {"*": "commands"}). See permissions.ts. */
  permissions: Record<string, PermissionLevel>;
  rooms: { /** One extra room per role, membership following the role (default false). */ perRole: boolean };
  metrics: { /** Serve /metrics on the appservice port (default true). /live and /ready are always served. */ enabled: boolean };
  logging: { level: LogLevel; json: boolean };
  announce: AnnounceConfig;
  encryption: EncryptionConfig;
}

/** End-to-bridge encryption, named as mautrix bridges name it. */
export interface EncryptionConfig {
  /** Read and write encrypted rooms (default true): the bridge has a device per user it speaks as. */
  allow: boolean;
  /** Rooms the bridge creates (role rooms, direct chats) are encrypted from the start (default false). */
  default: boolean;
  /** Refuse unencrypted rooms: say so once there, act on nothing, post nothing (default false). */
  require: boolean;
  /**
   * When the bridge's own outbound Megolm sessions end (mautrix's `rotation`): after this many
   * messages or hours, whichever comes first; a room's own stricter setting wins. A session
   * key that leaks then opens at most this much of what the bridge sent.
   */
  rotation: { messages: number; hours: number };
}

export interface AnnounceConfig {
  /** Pursuance id → public room aliases its announcements are mirrored to (besides `!announce room add`). */
  rooms: Record<string, string[]>;
  /** Serve /feeds/<pursuance id>.atom on the appservice port (default true). */
  feeds: boolean;
}

/**
 * What the config is checked for. "bridge" (default): everything the running
 * bridge needs, including appservice.asToken/hsToken and an identity key
 * (config or env). "register": the same minus the tokens and the identity key.
 */
export type ConfigPurpose = "bridge" | "register";

export interface ParseConfigOptions {
  purpose?: ConfigPurpose;
  /** Environment for PURSUANCE_IDENTITY_KEY (default process.env). */
  env?: Record<string, string | undefined>;
  /** Folder that relative database paths are resolved against (default: the cwd; loadConfig passes the config file's folder). */
  baseDir?: string;
}

export const IDENTITY_KEY_ENV = "PURSUANCE_IDENTITY_KEY";

export const CONFIG_DEFAULTS = {
  appservice: {
    id: "pursuance",
    bindAddress: "127.0.0.1",
    port: 9993,
    botLocalpart: "_pursuance_bot",
    userPrefix: "_pursuance_",
    aliasPrefix: "_pursuance_",
  },
  database: { url: "./data/bridge-db" },
  permissions: { "*": "commands" } as Record<string, PermissionLevel>,
  rooms: { perRole: false },
  metrics: { enabled: true },
  logging: { level: "info" as LogLevel, json: false },
  encryption: { allow: true, default: true, require: false, rotation: { messages: 100, hours: 24 } },
} as const;

export const PERMISSION_LEVELS: readonly PermissionLevel[] = ["commands", "manage", "admin"];
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
