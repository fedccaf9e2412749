// The bridge's one YAML config: types first, then a validator that checks
// every key and reports every problem at once, each naming the key path, the
// bad value and what is expected, e.g.
//
//   config.yaml: homeserver.url: "htp://x" is not an http(s) URL (expected e.g. https://matrix.your-domain.org)
//
// Placeholder values ("CHANGE_ME", "<...>", example.com domains) are refused
// so that an unedited config.sample.yaml cannot start a bridge.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseDocument } from "yaml";

// ---------------------------------------------------------------- types

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
  /** socks5h://host:port to reach relays through (e.g. Tor), if any. */
  socksProxy?: string;
  identities: IdentitiesConfig;
  /** "*", a server name, or a full user id → level (default {"*": "commands"}). See permissions.ts. */
  permissions: Record<string, PermissionLevel>;
  rooms: { /** One extra room per role, membership following the role (default false). */ perRole: boolean };
  metrics: { /** Serve /metrics on the appservice port (default true). /live and /ready are always served. */ enabled: boolean };
  logging: { level: LogLevel; json: boolean };
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
} as const;

export const PERMISSION_LEVELS: readonly PermissionLevel[] = ["commands", "manage", "admin"];
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

// ---------------------------------------------------------------- errors

/** One problem with one key. `value` is undefined when the key is missing. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    /** Dotted key path, e.g. "homeserver.url", "relays[1]", "permissions[\"@a:b\"]". */
    readonly key: string,
    readonly value: unknown,
    /** What would be accepted, e.g. "an http(s) URL". */
    readonly expected: string,
    /** Overrides the default "is not <expected>" / "is missing" phrasing. */
    problem?: string,
  ) {
    super(formatConfigError(source, key, value, expected, problem));
    this.name = "ConfigError";
  }
}

/** Everything wrong with one config file. */
export class ConfigErrors extends Error {
  constructor(
    readonly source: string,
    readonly errors: readonly ConfigError[],
  ) {
    super(
      `${source}: ${errors.length} problem${errors.length === 1 ? "" : "s"}:\n` + errors.map((e) => "  " + e.message).join("\n"),
    );
    this.name = "ConfigErrors";
  }
}

const SECRET_KEYS = new Set(["appservice.asToken", "appservice.hsToken", "identities.key", IDENTITY_KEY_ENV]);

function formatConfigError(source: string, key: string, value: unknown, expected: string, problem?: string): string {
  const where = key === "" ? `${source}:` : `${source}: ${key}:`;
  if (value === undefined) return `${where} ${problem ?? "missing"}; expected ${expected}`;
  const shown = showValue(key, value);
  if (problem) return `${where} ${shown} ${problem}; expected ${expected}`;
  return `${where} ${shown} is not ${expected}`;
}

/** The value as it appears in a message: secrets are shortened, database passwords hidden, long values cut. */
export function showValue(key: string, value: unknown): string {
  if (typeof value === "string") {
    let v = value;
    if ((SECRET_KEYS.has(key) && v.length > 12 && !isPlaceholder(v))) v = `${v.slice(0, 4)}… (${value.length} characters)`;
    else if (key === "database.url") v = v.replace(/^(postgres(?:ql)?:\/\/[^:/@]*:)([^@]*)@/i, (m, pre: string, pw: string) => (isPlaceholder(pw) ? m : `${pre}***@`));
    if (v.length > 100) v = v.slice(0, 97) + "...";
    return JSON.stringify(v);
  }
  if (value === null) return "null (empty)";
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 100 ? s.slice(0, 97) + "..." : s;
}

// ---------------------------------------------------------------- small validators

const PLACEHOLDER_WORDS = /(^|[^A-Za-z0-9])(CHANGE[_ -]?ME|REPLACE[_ -]?ME|FILL[_ -]?ME[_ -]?IN|YOUR[_ -]?[A-Z_]+[_ -]?HERE|YOUR[_-]?(DOMAIN|SERVER|HOMESERVER|HOST)|TODO|FIXME)(?=$|[^A-Za-z0-9])/i;
// RFC 2606 / 6761 names reserved for documentation.
const EXAMPLE_DOMAIN = /(^|[.@:/])example\.(com|org|net)(?=$|[:/.?#\s])|(^|\.)example(?=$|[:/])|\.invalid(?=$|[:/])/i;

/** True for values that were obviously meant to be replaced. */
export function isPlaceholder(v: string): boolean {
  if (PLACEHOLDER_WORDS.test(v)) return true;
  if (/<[^<>]*>/.test(v) || /\.\.\./.test(v)) return true;
  return EXAMPLE_DOMAIN.test(v);
}

const DNS_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const DNS_NAME = new RegExp(`^${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);

/** A Matrix server name: DNS name, IPv4 or [IPv6], with an optional port. */
export function isServerName(v: string): boolean {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(v);
  if (!m) return false;
  if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535)) return false;
  const host = m[1]!;
  if (host.startsWith("[")) return isIP(host.slice(1, -1)) === 6;
  return (isIP(host) === 4 || DNS_NAME.test(host)) && host.length <= 255;
}

/** Characters allowed in the localparts this bridge creates (Matrix's historical-free grammar). */
const LOCALPART = /^[a-z0-9._=/+-]+$/;

/** `@localpart:server.name` → [localpart, server name], or undefined. */
export function splitUserId(userId: string): [string, string] | undefined {
  if (!userId.startsWith("@")) return undefined;
  const i = userId.indexOf(":");
  if (i < 2) return undefined;
  const local = userId.slice(1, i);
  const server = userId.slice(i + 1);
  // Localparts of existing users may be historical (uppercase etc.): any printable non-space, no ':'.
  if (!/^[!-9;-~]+$/.test(local) || !isServerName(server)) return undefined;
  return [local, server];
}

function httpUrl(v: string): URL | undefined {
  try {
    const u = new URL(v);
    if ((u.protocol !== "http:" && u.protocol !== "https:") || u.hostname === "") return undefined;
    if (!/^https?:\/\/[^/]/i.test(v)) return undefined;
    return u;
  } catch {
    return undefined;
  }
}

function wsUrl(v: string): URL | undefined {
  try {
    const u = new URL(v);
    if ((u.protocol !== "ws:" && u.protocol !== "wss:") || u.hostname === "" || !/^wss?:\/\/[^/]/i.test(v)) return undefined;
    return u;
  } catch {
    return undefined;
  }
}

/** base64url (unpadded, or with "=" padding) of exactly 32 bytes → the bytes, or undefined. */
export function decodeKey32(v: string): Uint8Array | undefined {
  const s = v.trim().replace(/=+$/, "");
  if (!/^[A-Za-z0-9_-]{43}$/.test(s)) return undefined;
  const bytes = Buffer.from(s, "base64url");
  if (bytes.length !== 32 || bytes.toString("base64url") !== s) return undefined;
  return new Uint8Array(bytes);
}

const KEY_EXPECTED = "a base64url-encoded 32-byte key of 43 characters; make one with: node -e \"console.log(require('crypto').randomBytes(32).toString('base64url'))\"";

// ---------------------------------------------------------------- the validator

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

class Checker {
  readonly errors: ConfigError[] = [];
  /** Sections that were not mappings: their keys are not reported missing on top of that. */
  readonly broken = new Set<string>();
  constructor(readonly source: string) {}

  fail(key: string, value: unknown, expected: string, problem?: string): void {
    this.errors.push(new ConfigError(this.source, key, value, expected, problem));
  }

  /** Report a missing key, unless its section was already reported as not a mapping. */
  missing(key: string, expected: string, problem?: string): void {
    if (!this.broken.has(key.split(".")[0]!)) this.fail(key, undefined, expected, problem);
  }

  /** A placeholder string? Then report it and return true. */
  placeholder(key: string, value: unknown, expected: string): boolean {
    if (typeof value === "string" && isPlaceholder(value)) {
      this.fail(key, value, expected, "is a placeholder: replace it with your own value");
      return true;
    }
    return false;
  }

  /** A section: a mapping with only known keys. Missing or null → {} (all defaults). */
  section(key: string, value: unknown, known: readonly string[]): Obj {
    if (value === undefined || value === null) return {};
    if (!isObj(value)) {
      this.fail(key, value, `a mapping with the keys ${known.join(", ")}`);
      this.broken.add(key);
      return {};
    }
    for (const k of Object.keys(value)) {
      if (!known.includes(k)) this.fail(key === "" ? k : `${key}.${k}`, value[k], `one of the keys ${known.join(", ")}`, "is under an unknown key (a typo?)");
    }
    return value;
  }

  string(key: string, value: unknown, expected: string, test: (s: string) => boolean): string | undefined {
    if (this.placeholder(key, value, expected)) return undefined;
    if (typeof value !== "string" || !test(value)) {
      this.fail(key, value, expected);
      return undefined;
    }
    return value;
  }

  bool(key: string, value: unknown, dflt: boolean): boolean {
    if (value === undefined) return dflt;
    if (typeof value !== "boolean") {
      this.fail(key, value, "a boolean (true or false)");
      return dflt;
    }
    return value;
  }

  oneOf<T extends string>(key: string, value: unknown, options: readonly T[], dflt: T): T {
    if (value === undefined) return dflt;
    const expected = `one of ${options.map((o) => JSON.stringify(o)).join(", ")}`;
    if (this.placeholder(key, value, expected)) return dflt;
    if (typeof value !== "string" || !options.includes(value as T)) {
      this.fail(key, value, expected);
      return dflt;
    }
    return value as T;
  }
}

const SECTIONS = ["homeserver", "appservice", "database", "relays", "socksProxy", "identities", "permissions", "rooms", "metrics", "logging"] as const;

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

  // homeserver
  const hs = c.section("homeserver", top.homeserver, ["url", "domain"]);
  const hsUrlExpected = "an http(s) URL of the homeserver's client-server API, e.g. https://matrix.your-domain.org or http://127.0.0.1:8008";
  let hsUrl: string | undefined;
  if (hs.url === undefined) c.missing("homeserver.url", hsUrlExpected);
  else hsUrl = c.string("homeserver.url", hs.url, hsUrlExpected, (s) => httpUrl(s) !== undefined);
  const domainExpected = "a server name, the part after ':' in user ids, e.g. your-domain.org or localhost";
  let domain: string | undefined;
  if (hs.domain === undefined) c.missing("homeserver.domain", domainExpected);
  else domain = c.string("homeserver.domain", hs.domain, domainExpected, isServerName);

  // appservice
  const as = c.section("appservice", top.appservice, ["id", "bindAddress", "port", "url", "botLocalpart", "userPrefix", "aliasPrefix", "asToken", "hsToken"]);
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

  // database
  const db = c.section("database", top.database, ["url"]);
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
      const baseDir = opts.baseDir ?? process.cwd();
      database = { url: dbUrl, kind: "pglite", path: isAbsolute(dbUrl) ? dbUrl : resolve(baseDir, dbUrl) };
    }
  }

  // relays
  const relays: string[] = [];
  const relayExpected = "a ws:// or wss:// relay URL, e.g. wss://relay.your-domain.org or ws://<56 characters>.onion:7717";
  if (top.relays === undefined || top.relays === null) {
    c.fail("relays", top.relays ?? undefined, `a list of at least one ${relayExpected.slice(2)}`);
  } else if (!Array.isArray(top.relays)) {
    c.fail("relays", top.relays, `a list of ws:// or wss:// relay URLs (one per line, each starting with "- ")`);
  } else if (top.relays.length === 0) {
    c.fail("relays", top.relays, "at least one ws:// or wss:// relay URL", "is empty");
  } else {
    top.relays.forEach((r, i) => {
      const v = c.string(`relays[${i}]`, r, relayExpected, (s) => wsUrl(s) !== undefined);
      if (v === undefined) return;
      if (relays.includes(v)) c.fail(`relays[${i}]`, v, "each relay listed once", "is listed twice");
      else relays.push(v);
    });
  }

  // socksProxy
  let socksProxy: string | undefined;
  if (top.socksProxy !== undefined && top.socksProxy !== null) {
    socksProxy = c.string("socksProxy", top.socksProxy, "a socks5h://host:port URL, e.g. socks5h://127.0.0.1:9050 for Tor", (s) => {
      try {
        const u = new URL(s);
        return u.protocol === "socks5h:" && u.hostname !== "" && u.port !== "";
      } catch {
        return false;
      }
    });
  }

  // identities
  const ids = c.section("identities", top.identities, ["key", "custodial"]);
  let key: string | undefined;
  if (ids.key !== undefined && ids.key !== null) key = c.string("identities.key", ids.key, KEY_EXPECTED, (s) => decodeKey32(s) !== undefined);
  const envKey = env[IDENTITY_KEY_ENV];
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

  // permissions
  const permissions: Record<string, PermissionLevel> = {};
  const levelExpected = `one of ${PERMISSION_LEVELS.map((l) => JSON.stringify(l)).join(", ")}`;
  if (top.permissions === undefined || top.permissions === null) {
    Object.assign(permissions, CONFIG_DEFAULTS.permissions);
  } else if (!isObj(top.permissions)) {
    c.fail("permissions", top.permissions, `a mapping of "*", a server name or a user id to ${levelExpected}`);
  } else {
    for (const [who, level] of Object.entries(top.permissions)) {
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

  const rooms = c.section("rooms", top.rooms, ["perRole"]);
  const metrics = c.section("metrics", top.metrics, ["enabled"]);
  const logging = c.section("logging", top.logging, ["level", "json"]);

  const config: BridgeConfig = {
    homeserver: { url: (hsUrl ?? "").replace(/\/+$/, ""), domain: domain ?? "" },
    appservice: {
      id,
      bindAddress,
      port,
      url: (asUrl ?? "").replace(/\/+$/, ""),
      botLocalpart,
      userPrefix,
      aliasPrefix,
      ...(asToken !== undefined ? { asToken } : {}),
      ...(hsToken !== undefined ? { hsToken } : {}),
    },
    database,
    relays,
    ...(socksProxy !== undefined ? { socksProxy } : {}),
    identities: { ...(key !== undefined ? { key } : {}), custodial: true },
    permissions,
    rooms: { perRole: c.bool("rooms.perRole", rooms.perRole, CONFIG_DEFAULTS.rooms.perRole) },
    metrics: { enabled: c.bool("metrics.enabled", metrics.enabled, CONFIG_DEFAULTS.metrics.enabled) },
    logging: {
      level: c.oneOf("logging.level", logging.level, LOG_LEVELS, CONFIG_DEFAULTS.logging.level),
      json: c.bool("logging.json", logging.json, CONFIG_DEFAULTS.logging.json),
    },
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

function defaultAppserviceUrl(bindAddress: string, port: number): string {
  let host = bindAddress;
  if (host === "0.0.0.0") host = "127.0.0.1";
  else if (host === "::") host = "[::1]";
  else if (isIP(host) === 6) host = `[${host}]`;
  return `http://${host}:${port}`;
}

/** "*" stays; domains are lowercased; in user ids only the server name is lowercased. */
export function normalisePermissionKey(who: string): string {
  if (who === "*") return who;
  const parts = who.startsWith("@") ? splitUserId(who) : undefined;
  if (parts) return `@${parts[0]}:${parts[1].toLowerCase()}`;
  return who.toLowerCase();
}
