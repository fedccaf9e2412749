// The bridge's one YAML config: a validator that checks every key and reports
// every problem at once, each naming the key path, the bad value and what is
// expected, e.g.
//
//   config.yaml: homeserver.url: "htp://x" is not an http(s) URL (expected e.g. https://matrix.your-domain.org)
//
// Placeholder values ("CHANGE_ME", "<...>", example.com domains) are refused
// so that an unedited config.sample.yaml cannot start a bridge.
//
// This module is the config's public face: the types, defaults, errors and
// value checkers live in config-*.ts and are re-exported here so that callers
// need only one import.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseDocument } from "yaml";
import { parseAnnounce } from "./announce.js";
import { Checker, isObj } from "./checker.js";
import { ConfigError, ConfigErrors } from "./errors.js";
import { parseAppservice, parseDatabase, parseEncryption, parseHomeserver, parseIdentities, parsePermissions, parseRelays, parseSocksProxy, parseSwitches } from "./sections.js";
import { IDENTITY_KEY_ENV, type BridgeConfig, type ParseConfigOptions } from "./types.js";
import { KEY_EXPECTED, decodeKey32, showValue } from "./values.js";

export {
  CONFIG_DEFAULTS,
  IDENTITY_KEY_ENV,
  LOG_LEVELS,
  PERMISSION_LEVELS,
  type AppserviceConfig,
  type BridgeConfig,
  type ConfigPurpose,
  type DatabaseConfig,
  type EncryptionConfig,
  type HomeserverConfig,
  type IdentitiesConfig,
  type LogLevel,
  type ParseConfigOptions,
  type PermissionLevel,
} from "./types.js";
export { ConfigError, ConfigErrors } from "./errors.js";
export { decodeKey32, isPlaceholder, isServerName, normalisePermissionKey, showValue, splitUserId } from "./values.js";

const SECTIONS = ["homeserver", "appservice", "database", "relays", "inviteRelays", "socksProxy", "identities", "permissions", "rooms", "metrics", "logging", "announce", "encryption"] as const;

/**
 * Parse and validate a config. Throws ConfigErrors listing every problem;
 * otherwise returns the config with every default filled in.
 */
export function parseConfig(yamlText: string, source: string, opts: ParseConfigOptions = {}): BridgeConfig {
  const purpose = opts.purpose ?? "bridge";
  const env = opts.env ?? process.env;
  const c = new Checker(source);

  const doc = parseDocument(yamlText, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // With prettyErrors the first line reads "<what> at line L, column C:".
    const errs = doc.errors.map((e) => new ConfigError(source, "", undefined, "valid YAML", `YAML syntax error: ${e.message.split("\n")[0]!.replace(/:$/, "")}`));
    throw new ConfigErrors(source, errs);
  }
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  if (raw !== null && raw !== undefined && !isObj(raw)) {
    throw new ConfigErrors(source, [new ConfigError(source, "", undefined, `a mapping with the sections ${SECTIONS.join(", ")}`, `the top level is ${showValue("", raw)}, not a mapping`)]);
  }
  const top = c.section("", raw ?? {}, SECTIONS);

  // One section after another, in SECTIONS order, so problems are listed in that order.
  const homeserver = parseHomeserver(c, top.homeserver);
  const appservice = parseAppservice(c, top.appservice, purpose);
  const database = parseDatabase(c, top.database, opts.baseDir);
  const relays = parseRelays(c, top.relays);
  const inviteRelays = top.inviteRelays === undefined || top.inviteRelays === null ? undefined : parseRelays(c, top.inviteRelays, "inviteRelays");
  const socksProxy = parseSocksProxy(c, top.socksProxy);
  const identities = parseIdentities(c, top.identities, purpose, env);
  const permissions = parsePermissions(c, top.permissions);
  const { rooms, metrics, logging } = parseSwitches(c, top);
  const announce = parseAnnounce(c, top.announce);
  const encryption = parseEncryption(c, top.encryption);

  const config: BridgeConfig = {
    homeserver,
    appservice,
    database,
    relays,
    ...(inviteRelays !== undefined ? { inviteRelays } : {}),
    ...(socksProxy !== undefined ? { socksProxy } : {}),
    identities,
    permissions,
    rooms,
    metrics,
    logging,
    announce,
    encryption,
  };
  if (c.errors.length > 0) throw new ConfigErrors(source, c.errors);
  return config;
}

/** Read and validate a config file (see parseConfig); an unreadable file is a ConfigErrors too. */
export function loadConfig(path: string, opts: ParseConfigOptions = {}): BridgeConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigErrors(path, [new ConfigError(path, "", undefined, "a readable YAML config file (start from config.sample.yaml)", `cannot read the file: ${err.code ?? err.message}`)]);
  }
  return parseConfig(text, path, { baseDir: dirname(resolve(path)), ...opts });
}

/**
 * The 32-byte key that encrypts identities at rest: PURSUANCE_IDENTITY_KEY
 * from `env` if set, else identities.key. Throws a ConfigError naming the
 * key when neither is set or the value is not a base64url 32-byte key.
 */
export function resolveIdentityKey(config: BridgeConfig, env: Record<string, string | undefined> = process.env): Uint8Array {
  const fromEnv = env[IDENTITY_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== "") {
    const k = decodeKey32(fromEnv);
    if (!k) throw new ConfigError("environment", IDENTITY_KEY_ENV, fromEnv, KEY_EXPECTED);
    return k;
  }
  if (config.identities.key === undefined) {
    throw new ConfigError("config", "identities.key", undefined, KEY_EXPECTED, `missing and ${IDENTITY_KEY_ENV} is not set`);
  }
  const k = decodeKey32(config.identities.key);
  if (!k) throw new ConfigError("config", "identities.key", config.identities.key, KEY_EXPECTED);
  return k;
}
