// What `pursuance init-deploy` writes: the bridge's config, Synapse's config and
// signing key, and the secrets compose reads from `.env`. Plain functions from
// options and secrets to file texts, so they are tested without a disk.
import { randomBytes } from "node:crypto";
import { stringify } from "yaml";

export interface DeployOptions {
  /** The Matrix server name (the part after ':' in user ids). */
  serverName: string;
  /** The relay's public address (--relay-url), written into invites; absent: the onion address (`onion`). */
  relayUrl?: string;
  /** The relay's onion address (init-deploy makes its key), published when there is no relayUrl. */
  onion?: string;
  /** A Matrix user given `admin` on the bridge (optional). */
  admin?: string;
}

/** Secrets made once, on the first run, and kept in `.env` and the files that need them. */
export interface DeploySecrets {
  POSTGRES_PASSWORD: string;
  PURSUANCE_IDENTITY_KEY: string;
  SYNAPSE_REGISTRATION_SECRET: string;
  SYNAPSE_MACAROON_SECRET: string;
  SYNAPSE_FORM_SECRET: string;
}

export const SECRET_NAMES = ["POSTGRES_PASSWORD", "PURSUANCE_IDENTITY_KEY", "SYNAPSE_REGISTRATION_SECRET", "SYNAPSE_MACAROON_SECRET", "SYNAPSE_FORM_SECRET"] as const;

export function newSecrets(): DeploySecrets {
  const s = () => randomBytes(32).toString("base64url");
  return { POSTGRES_PASSWORD: s(), PURSUANCE_IDENTITY_KEY: s(), SYNAPSE_REGISTRATION_SECRET: s(), SYNAPSE_MACAROON_SECRET: s(), SYNAPSE_FORM_SECRET: s() };
}

/** `.env` as docker-compose reads it (`--env-file`): KEY=value lines. */
export function envText(s: DeploySecrets): string {
  return `# Secrets for docker-compose (--env-file deploy/.env), made by pursuance init-deploy.\n# Keep this file private and backed up: PURSUANCE_IDENTITY_KEY unlocks the bridge's identities.\n${SECRET_NAMES.map((k) => `${k}=${s[k]}`).join("\n")}\n`;
}

/** Read `.env`, keeping only the names we know; unknown lines are the user's and are ignored. */
export function parseEnv(text: string): Partial<DeploySecrets> {
  const out: Partial<Record<(typeof SECRET_NAMES)[number], string>> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Z_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m && (SECRET_NAMES as readonly string[]).includes(m[1]!) && m[2] !== "") out[m[1] as (typeof SECRET_NAMES)[number]] = m[2]!;
  }
  return out;
}

/** The relay's address on the compose network: only the stack's own services resolve it. */
export const STACK_RELAY_URL = "ws://relay:7717";

/** What invites carry for members outside the stack: --relay-url, else the onion address. */
export function publishedRelays(o: DeployOptions): string[] {
  if (o.relayUrl !== undefined) return [o.relayUrl];
  return o.onion ? [`ws://${o.onion}/`] : [];
}

/** The bridge's config inside the stack. The identity key stays out of it (PURSUANCE_IDENTITY_KEY from .env). */
export function bridgeConfigText(o: DeployOptions, s: DeploySecrets): string {
  const config = {
    homeserver: { url: "http://synapse:8008", domain: o.serverName },
    appservice: { id: "pursuance", bindAddress: "0.0.0.0", port: 9993, url: "http://bridge:9993", botLocalpart: "_pursuance_bot", userPrefix: "_pursuance_", aliasPrefix: "_pursuance_" },
    database: { url: `postgres://pursuance:${s.POSTGRES_PASSWORD}@postgres:5432/pursuance` },
    // The bridge reaches the relay on the stack's network; invites carry the published address.
    relays: [STACK_RELAY_URL],
    ...(publishedRelays(o).length > 0 ? { inviteRelays: publishedRelays(o) } : {}),
    identities: { custodial: true },
    permissions: { [o.serverName]: "commands", ...(o.admin ? { [o.admin]: "admin" } : {}) },
    rooms: { perRole: false },
    announce: { rooms: {}, feeds: true },
    metrics: { enabled: true },
    logging: { level: "info", json: true },
  };
  return `# The bridge's config in the compose stack, made by pursuance init-deploy.\n# Check it with: docker-compose run --rm bridge config check -c /data/config.yaml\n${stringify(config)}`;
}

/** What Synapse must switch on for end-to-bridge encryption (the registration opts in too: registration.ts). */
export const SYNAPSE_E2EE_FEATURES = { msc2409_to_device_messages_enabled: true, msc3202_transaction_extensions: true } as const;

/** Synapse's config: SQLite in its volume, the appservice registration, no open registration. */
export function homeserverText(o: DeployOptions, s: DeploySecrets): string {
  const config = {
    server_name: o.serverName,
    pid_file: "/data/homeserver.pid",
    listeners: [{ port: 8008, tls: false, type: "http", x_forwarded: true, bind_addresses: ["0.0.0.0"], resources: [{ names: ["client", "federation"], compress: false }] }],
    database: { name: "sqlite3", args: { database: "/data/homeserver.db" } },
    media_store_path: "/data/media_store",
    signing_key_path: "/config/signing.key",
    registration_shared_secret: s.SYNAPSE_REGISTRATION_SECRET,
    macaroon_secret_key: s.SYNAPSE_MACAROON_SECRET,
    form_secret: s.SYNAPSE_FORM_SECRET,
    enable_registration: false,
    report_stats: false,
    suppress_key_server_warning: true,
    app_service_config_files: ["/config/registration.yaml"],
    // Private by default, for groups that expect to be targeted: no guest accounts, and
    // only the bridge's bot may list a room in the directory (its announcement rooms).
    // Announcement rooms readable without an account need allow_guest_access: true
    // (docs/self-hosting.md, "Private defaults, and announcement rooms").
    allow_guest_access: false,
    room_list_publication_rules: [{ user_id: `@_pursuance_bot:${o.serverName}`, alias: "*", room_id: "*", action: "allow" }, { action: "deny" }],
    // End-to-bridge encryption: to-device messages, device lists and key counts in appservice transactions.
    experimental_features: SYNAPSE_E2EE_FEATURES,
  };
  return `# Synapse's config in the compose stack, made by pursuance init-deploy.\n# Users: docker-compose exec synapse register_new_matrix_user -c /config/homeserver.yaml http://localhost:8008\n${stringify(config)}`;
}

/** A Synapse signing key file: `ed25519 <key id> <unpadded base64 seed>`. */
export function signingKeyText(): string {
  const id = `a_${randomBytes(3).toString("base64url").slice(0, 4)}`;
  return `ed25519 ${id} ${randomBytes(32).toString("base64").replace(/=+$/, "")}\n`;
}
