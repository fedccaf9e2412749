// One parser per top-level section of the config. Each reports its problems
// to the shared Checker and returns its best guess, so that a bad section
// does not hide the problems of the sections after it.
import { isIP } from "node:net";
import { isAbsolute, resolve } from "node:path";
import { isObj, type Checker, type Obj } from "./checker.js";
import {
  CONFIG_DEFAULTS,
  IDENTITY_KEY_ENV,
  LOG_LEVELS,
  PERMISSION_LEVELS,
  type AppserviceConfig,
  type BridgeConfig,
  type ConfigPurpose,
  type DatabaseConfig,
  type IdentitiesConfig,
  type PermissionLevel,
} from "./types.js";
import { DNS_NAME, KEY_EXPECTED, LOCALPART, decodeKey32, httpUrl, isPlaceholder, isServerName, normalisePermissionKey, splitUserId, wsUrl } from "./values.js";

export function parseHomeserver(c: Checker, value: unknown): BridgeConfig["homeserver"] {
  const hs = c.section("homeserver", value, ["url", "domain"]);
  const hsUrlExpected = "an http(s) URL of the homeserver's client-server API, e.g. https://matrix.your-domain.org or http://127.0.0.1:8008";
  let hsUrl: string | undefined;
  if (hs.url === undefined) c.missing("homeserver.url", hsUrlExpected);
  else hsUrl = c.string("homeserver.url", hs.url, hsUrlExpected, (s) => httpUrl(s) !== undefined);
  const domainExpected = "a server name, the part after ':' in user ids, e.g. your-domain.org or localhost";
  let domain: string | undefined;
  if (hs.domain === undefined) c.missing("homeserver.domain", domainExpected);
  else domain = c.string("homeserver.domain", hs.domain, domainExpected, isServerName);
  return { url: (hsUrl ?? "").replace(/\/+$/, ""), domain: domain ?? "" };
}

export function parseAppservice(c: Checker, value: unknown, purpose: ConfigPurpose): AppserviceConfig {
  const as = c.section("appservice", value, ["id", "bindAddress", "port", "url", "botLocalpart", "userPrefix", "aliasPrefix", "asToken", "hsToken"]);
  const D = CONFIG_DEFAULTS.appservice;
  const id =
    as.id === undefined ? D.id : c.string("appservice.id", as.id, "a registration id of letters, digits, '.', '_' or '-'", (s) => /^[A-Za-z0-9._-]{1,64}$/.test(s)) ?? D.id;
  const bindAddress =
    as.bindAddress === undefined
      ? D.bindAddress
      : c.string("appservice.bindAddress", as.bindAddress, "an IP address or host name to listen on, e.g. 127.0.0.1, 0.0.0.0 or ::", (s) => isIP(s) !== 0 || DNS_NAME.test(s)) ?? D.bindAddress;
  let port: number = D.port;
  if (as.port !== undefined) {
    if (typeof as.port !== "number" || !Number.isInteger(as.port) || as.port < 1 || as.port > 65535) c.fail("appservice.port", as.port, "an integer port 1-65535");
    else port = as.port;
  }
  const asUrlExpected = "an http(s) URL at which the homeserver reaches the bridge, e.g. http://127.0.0.1:9993";
  const asUrl = as.url === undefined ? defaultAppserviceUrl(bindAddress, port) : c.string("appservice.url", as.url, asUrlExpected, (s) => httpUrl(s) !== undefined);
  const localpart = (key: string, v: unknown, dflt: string, what: string) =>
    v === undefined ? dflt : c.string(key, v, `${what} of lowercase letters, digits and . _ = / + -`, (s) => LOCALPART.test(s) && s.length <= 200) ?? dflt;
  const botLocalpart = localpart("appservice.botLocalpart", as.botLocalpart, D.botLocalpart, "a user id localpart");
  const userPrefix = localpart("appservice.userPrefix", as.userPrefix, D.userPrefix, "a localpart prefix");
  const aliasPrefix = localpart("appservice.aliasPrefix", as.aliasPrefix, D.aliasPrefix, "an alias localpart prefix");
  const token = (key: string, v: unknown): string | undefined => {
    const expected = "a token of at least 16 characters without spaces, as written by `pursuance register`";
    if (v === undefined || v === null) {
      if (purpose === "bridge") c.missing(key, expected, "missing: run `pursuance register` to generate the registration and tokens");
      return undefined;
    }
    const valid = (s: unknown): s is string => typeof s === "string" && /^[\x21-\x7e]{16,}$/.test(s) && !isPlaceholder(s);
    // `pursuance register` replaces bad tokens with fresh ones: for it they are simply absent.
    if (purpose === "register") return valid(v) ? v : undefined;
    return c.string(key, v, expected, valid);
  };
  let asToken = token("appservice.asToken", as.asToken);
  let hsToken = token("appservice.hsToken", as.hsToken);
  if (purpose === "register" && asToken !== undefined && asToken === hsToken) asToken = hsToken = undefined;
  if (asToken !== undefined && asToken === hsToken) c.fail("appservice.hsToken", hsToken, "a token different from appservice.asToken", "is the same as appservice.asToken");
  return {
    id,
    bindAddress,
    port,
    url: (asUrl ?? "").replace(/\/+$/, ""),
    botLocalpart,
    userPrefix,
    aliasPrefix,
    ...(asToken !== undefined ? { asToken } : {}),
    ...(hsToken !== undefined ? { hsToken } : {}),
  };
}

function defaultAppserviceUrl(bindAddress: string, port: number): string {
  let host = bindAddress;
  if (host === "0.0.0.0") host = "127.0.0.1";
  else if (host === "::") host = "[::1]";
  else if (isIP(host) === 6) host = `[${host}]`;
  return `http://${host}:${port}`;
}

/** `baseDir` undefined means the cwd, read only when a relative path needs it. */
export function parseDatabase(c: Checker, value: unknown, baseDir: string | undefined): DatabaseConfig {
  const db = c.section("database", value, ["url"]);
  const dbExpected = "a postgres://user:password@host:port/db URL, or a folder path for the embedded database such as ./data/bridge-db";
  let database: DatabaseConfig = { url: CONFIG_DEFAULTS.database.url, kind: "pglite" };
  const dbUrl = db.url === undefined ? CONFIG_DEFAULTS.database.url : c.string("database.url", db.url, dbExpected, (s) => s.trim() !== "");
  if (dbUrl !== undefined) {
    if (/^postgres(ql)?:\/\//i.test(dbUrl)) {
      if (!URL.canParse(dbUrl)) c.fail("database.url", dbUrl, dbExpected);
      else database = { url: dbUrl, kind: "postgres" };
    } else if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(dbUrl)) {
      c.fail("database.url", dbUrl, dbExpected, "has an unsupported scheme");
    } else {
      const dir = baseDir ?? process.cwd();
      database = { url: dbUrl, kind: "pglite", path: isAbsolute(dbUrl) ? dbUrl : resolve(dir, dbUrl) };
    }
  }
  return database;
}

/** `relays`, or `inviteRelays` (same shape: the addresses members outside reach them at). */
export function parseRelays(c: Checker, value: unknown, key = "relays"): string[] {
  const relays: string[] = [];
  const relayExpected = "a ws:// or wss:// relay URL, e.g. wss://relay.your-domain.org or ws://<56 characters>.onion:7717";
  if (value === undefined || value === null) {
    c.fail(key, value ?? undefined, `a list of at least one ${relayExpected.slice(2)}`);
  } else if (!Array.isArray(value)) {
    c.fail(key, value, `a list of ws:// or wss:// relay URLs (one per line, each starting with "- ")`);
  } else if (value.length === 0) {
    c.fail(key, value, "at least one ws:// or wss:// relay URL", "is empty");
  } else {
    value.forEach((r, i) => {
      const v = c.string(`${key}[${i}]`, r, relayExpected, (s) => wsUrl(s) !== undefined);
      if (v === undefined) return;
      if (relays.includes(v)) c.fail(`${key}[${i}]`, v, "each relay listed once", "is listed twice");
      else relays.push(v);
    });
  }
  return relays;
}

export function parseSocksProxy(c: Checker, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return c.string("socksProxy", value, "a socks5h://host:port URL, e.g. socks5h://127.0.0.1:9050 for Tor", (s) => {
    try {
      const u = new URL(s);
      return u.protocol === "socks5h:" && u.hostname !== "" && u.port !== "";
    } catch {
      return false;
    }
  });
}

export function parseIdentities(c: Checker, value: unknown, purpose: ConfigPurpose, env: Record<string, string | undefined>): IdentitiesConfig {
  const ids = c.section("identities", value, ["key", "custodial"]);
  const envKey = env[IDENTITY_KEY_ENV];
  const envValid = envKey !== undefined && envKey !== "" && decodeKey32(envKey) !== undefined;
  let key: string | undefined;
  // The environment overrides identities.key, so a sample's placeholder left in the file is harmless
  // when a valid key is set there (the compose stack keeps the key in .env, out of the config).
  const placeholderOverridden = envValid && typeof ids.key === "string" && isPlaceholder(ids.key);
  if (ids.key !== undefined && ids.key !== null && !placeholderOverridden) key = c.string("identities.key", ids.key, KEY_EXPECTED, (s) => decodeKey32(s) !== undefined);
  if (envKey !== undefined && envKey !== "" && decodeKey32(envKey) === undefined) c.fail(IDENTITY_KEY_ENV, envKey, KEY_EXPECTED, "(environment variable) is not a valid key");
  else if (purpose === "bridge" && (envKey === undefined || envKey === "") && ids.key == null) {
    c.missing("identities.key", KEY_EXPECTED, `missing and ${IDENTITY_KEY_ENV} is not set: the bridge needs one of them to encrypt the identities it holds`);
  }
  if (ids.custodial !== undefined && ids.custodial !== true) {
    c.fail(
      "identities.custodial",
      ids.custodial,
      "true",
      "is not supported: the bridge holds its Matrix users' pursuance identities (custodial); members who keep their own keys use the CLI client and may delegate role keys",
    );
  }
  return { ...(key !== undefined ? { key } : {}), custodial: true };
}

export function parsePermissions(c: Checker, value: unknown): Record<string, PermissionLevel> {
  const permissions: Record<string, PermissionLevel> = {};
  const levelExpected = `one of ${PERMISSION_LEVELS.map((l) => JSON.stringify(l)).join(", ")}`;
  if (value === undefined || value === null) {
    Object.assign(permissions, CONFIG_DEFAULTS.permissions);
  } else if (!isObj(value)) {
    c.fail("permissions", value, `a mapping of "*", a server name or a user id to ${levelExpected}`);
  } else {
    for (const [who, level] of Object.entries(value)) {
      const k = `permissions[${JSON.stringify(who)}]`;
      const whoExpected = `"*", a server name such as your-domain.org, or a user id such as "@alice:your-domain.org"`;
      let whoOk = true;
      if (isPlaceholder(who)) {
        c.fail(k, who, whoExpected, "is a placeholder key: replace it with your own user id or domain");
        whoOk = false;
      } else if (who !== "*" && !(who.startsWith("@") ? splitUserId(who) !== undefined : isServerName(who))) {
        c.fail(k, who, whoExpected, "is not a valid key");
        whoOk = false;
      }
      if (c.placeholder(k, level, levelExpected)) continue;
      if (typeof level !== "string" || !PERMISSION_LEVELS.includes(level as PermissionLevel)) {
        c.fail(k, level, levelExpected);
        continue;
      }
      if (whoOk) permissions[normalisePermissionKey(who)] = level as PermissionLevel;
    }
  }
  return permissions;
}

/**
 * rooms, metrics and logging together: all three are checked for unknown keys
 * before any of their values, so problems are listed in the same order as
 * they always have been.
 */
export function parseSwitches(c: Checker, top: Obj): Pick<BridgeConfig, "rooms" | "metrics" | "logging"> {
  const rooms = c.section("rooms", top.rooms, ["perRole"]);
  const metrics = c.section("metrics", top.metrics, ["enabled"]);
  const logging = c.section("logging", top.logging, ["level", "json"]);
  return {
    rooms: { perRole: c.bool("rooms.perRole", rooms.perRole, CONFIG_DEFAULTS.rooms.perRole) },
    metrics: { enabled: c.bool("metrics.enabled", metrics.enabled, CONFIG_DEFAULTS.metrics.enabled) },
    logging: {
      level: c.oneOf("logging.level", logging.level, LOG_LEVELS, CONFIG_DEFAULTS.logging.level),
      json: c.bool("logging.json", logging.json, CONFIG_DEFAULTS.logging.json),
    },
  };
}

/** encryption: three switches (`default` and `require` need `allow`: they are about encrypted rooms) and the outbound rotation. */
export function parseEncryption(c: Checker, value: unknown): BridgeConfig["encryption"] {
  const e = c.section("encryption", value, ["allow", "default", "require", "rotation"]);
  const D = CONFIG_DEFAULTS.encryption;
  const allow = c.bool("encryption.allow", e.allow, D.allow);
  const r = c.section("encryption.rotation", e.rotation, ["messages", "hours"]);
  const rotation = {
    messages: c.int("encryption.rotation.messages", r.messages, D.rotation.messages, 1, 10_000),
    hours: c.int("encryption.rotation.hours", r.hours, D.rotation.hours, 1, 24 * 7),
  };
  // Rooms the bridge makes are encrypted by default, where the bridge may read encrypted rooms at all.
  const out = { allow, default: c.bool("encryption.default", e.default, allow && D.default), require: c.bool("encryption.require", e.require, D.require), rotation };
  if (!out.allow && out.require) c.fail("encryption.require", e.require, "false while encryption.allow is false", "cannot be true when encryption.allow is false: the bridge could then post nowhere");
  if (!out.allow && out.default) c.fail("encryption.default", e.default, "false while encryption.allow is false", "cannot be true when encryption.allow is false: the bridge could not read the rooms it creates");
  return out;
}
