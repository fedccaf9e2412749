// `pursuance bridge -c config.yaml`: run the Matrix appservice. The config is
// validated first (every error named); SIGINT/SIGTERM stop it cleanly.
import { parseArgs } from "node:util";
import type { Bridge, BridgeSettings } from "../bridge/bridge.js";
import { startBridge } from "../bridge/bridge-root.js";
import { ConfigErrors, loadConfig, resolveIdentityKey, type BridgeConfig, type LogLevel } from "../bridge/config/config.js";
import { openPermissionWarnings, permissionFor } from "../bridge/permissions.js";

export const BRIDGE_HELP = `Usage: pursuance bridge -c config.yaml

Run the Matrix bridge (an application service) described by config.yaml.
Run 'pursuance register' first: it writes registration.yaml for the homeserver
and the tokens into the config. 'pursuance config check -c config.yaml'
validates without starting.

Options:
  -c, --config FILE   the bridge config (default ./config.yaml)
  -h, --help          show this help

Environment:
  PURSUANCE_IDENTITY_KEY   base64url of 32 bytes: encrypts the identities the
                           bridge holds for Matrix users (overrides identities.key)

Example:
  pursuance bridge -c config.yaml
`;

const LEVELS: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function makeLogger(cfg: BridgeConfig): BridgeSettings["log"] {
  const min = LEVELS[cfg.logging.level];
  return (level, msg, fields) => {
    if (LEVELS[level] < min) return;
    const line = cfg.logging.json
      ? JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields })
      : `${new Date().toISOString()} ${level.padEnd(5)} ${msg}${fields ? " " + JSON.stringify(fields) : ""}`;
    process.stderr.write(line + "\n");
  };
}

export function settingsFrom(cfg: BridgeConfig, log: BridgeSettings["log"]): BridgeSettings {
  return {
    homeserverUrl: cfg.homeserver.url,
    domain: cfg.homeserver.domain,
    bindAddress: cfg.appservice.bindAddress,
    port: cfg.appservice.port,
    asToken: cfg.appservice.asToken!,
    hsToken: cfg.appservice.hsToken!,
    botLocalpart: cfg.appservice.botLocalpart,
    userPrefix: cfg.appservice.userPrefix,
    database: cfg.database.kind === "pglite" ? cfg.database.path! : cfg.database.url,
    relays: cfg.relays,
    ...(cfg.inviteRelays ? { inviteRelays: cfg.inviteRelays } : {}),
    ...(cfg.socksProxy ? { socksProxy: cfg.socksProxy } : {}),
    identityKey: resolveIdentityKey(cfg),
    permissionFor: (u) => permissionFor(cfg.permissions, u),
    metricsEnabled: cfg.metrics.enabled,
    perRoleRooms: cfg.rooms.perRole,
    announce: { rooms: cfg.announce.rooms, feeds: cfg.announce.feeds },
    encryption: cfg.encryption,
    appserviceId: cfg.appservice.id,
    log,
  };
}

export async function runBridgeCommand(argv: string[]): Promise<number> {
  let path: string;
  try {
    const { values } = parseArgs({ args: argv, options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } }, strict: true });
    if (values.help) return void process.stdout.write(BRIDGE_HELP), 0;
    path = values.config ?? "config.yaml";
  } catch (e) {
    process.stderr.write(`pursuance bridge: ${(e as Error).message}\nRun 'pursuance bridge --help' for usage.\n`);
    return 2;
  }
  let cfg: BridgeConfig;
  try {
    cfg = loadConfig(path);
  } catch (e) {
    process.stderr.write(`pursuance bridge: ${e instanceof ConfigErrors ? e.message : `cannot read ${path}: ${(e as Error).message}`}\n`);
    return 1;
  }
  const log = makeLogger(cfg);
  for (const w of openPermissionWarnings(cfg.permissions)) log("warn", w);
  let bridge: Bridge;
  try {
    bridge = await startBridge(settingsFrom(cfg, log));
  } catch (e) {
    log("error", "bridge failed to start", { error: (e as Error).message });
    return 1;
  }
  log("info", `listening on ${cfg.appservice.bindAddress}:${bridge.port} for ${cfg.homeserver.url}`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve).once("SIGTERM", resolve);
  });
  log("info", "shutting down");
  await bridge.stop();
  return 0;
}
