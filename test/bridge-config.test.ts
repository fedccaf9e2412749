// The bridge's config: every key validated with an error that names the key
// and the bad value, every problem reported at once, placeholders refused,
// config.sample.yaml refused as shipped and accepted once filled in;
// permissions precedence and open-permission warnings; the identity key from
// the environment.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  CONFIG_DEFAULTS,
  ConfigError,
  ConfigErrors,
  IDENTITY_KEY_ENV,
  isPlaceholder,
  loadConfig,
  parseConfig,
  resolveIdentityKey,
  showValue,
  type BridgeConfig,
  type ParseConfigOptions,
} from "../src/bridge/config/config.js";
import { openPermissionWarnings, permissionFor, permits } from "../src/bridge/permissions.js";
import { runConfigCommand } from "../src/cli/bridge-config-commands.js";
import { run } from "./helpers/cli.js";

const SAMPLE = fileURLToPath(new URL("../config.sample.yaml", import.meta.url));
const key32 = () => randomBytes(32).toString("base64url");

const AS_TOKEN = key32();
const HS_TOKEN = key32();
const ID_KEY = key32();

/** A complete, valid config as a plain object (bridge purpose). */
function base(): Record<string, any> {
  return {
    homeserver: { url: "http://127.0.0.1:8008", domain: "localhost" },
    appservice: { asToken: AS_TOKEN, hsToken: HS_TOKEN },
    relays: ["ws://127.0.0.1:7717"],
    identities: { key: ID_KEY },
  };
}

/** base() with `path` (dotted) set to `value`; `undefined` deletes the key. */
function withKey(path: string, value: unknown): string {
  const obj = base();
  const parts = path.split(".");
  let node: Record<string, any> = obj;
  for (const p of parts.slice(0, -1)) node = node[p] ??= {};
  const last = parts[parts.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return stringify(obj);
}

function errorsOf(text: string, opts: ParseConfigOptions = { env: {} }): ConfigError[] {
  try {
    parseConfig(text, "config.yaml", opts);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigErrors);
    return [...(e as ConfigErrors).errors];
  }
  return [];
}

function parseOk(text: string, opts: ParseConfigOptions = { env: {} }): BridgeConfig {
  return parseConfig(text, "config.yaml", opts);
}

describe("parseConfig: valid configs and defaults", () => {
  it("fills in every default", () => {
    const c = parseOk(stringify(base()), { env: {}, baseDir: "/srv/bridge" });
    expect(c.homeserver).toEqual({ url: "http://127.0.0.1:8008", domain: "localhost" });
    expect(c.appservice).toEqual({
      id: "pursuance",
      bindAddress: "127.0.0.1",
      port: 9993,
      url: "http://127.0.0.1:9993",
      botLocalpart: "_pursuance_bot",
      userPrefix: "_pursuance_",
      aliasPrefix: "_pursuance_",
      asToken: AS_TOKEN,
      hsToken: HS_TOKEN,
    });
    expect(c.database).toEqual({ url: "./data/bridge-db", kind: "pglite", path: "/srv/bridge/data/bridge-db" });
    expect(c.relays).toEqual(["ws://127.0.0.1:7717"]);
    expect(c.socksProxy).toBeUndefined();
    expect(c.identities).toEqual({ key: ID_KEY, custodial: true });
    expect(c.permissions).toEqual({ "*": "commands" });
    expect(c.rooms).toEqual({ perRole: false });
    expect(c.metrics).toEqual({ enabled: true });
    expect(c.logging).toEqual({ level: "info", json: false });
  });

  it("takes every key as given", () => {
    const obj = base();
    obj.homeserver = { url: "https://matrix.pursuance.net/", domain: "pursuance.net" };
    obj.appservice = {
      ...obj.appservice,
      id: "my-bridge",
      bindAddress: "0.0.0.0",
      port: 29993,
      botLocalpart: "pbot",
      userPrefix: "p_",
      aliasPrefix: "pa_",
    };
    obj.database = { url: "postgres://bridge:s3cret@db:5432/bridge" };
    obj.relays = ["wss://relay-one.pursuance.net", "ws://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuv.onion:7717"];
    obj.socksProxy = "socks5h://127.0.0.1:9050";
    obj.permissions = { "*": "commands", "Pursuance.NET": "manage", "@Alice:pursuance.net": "admin" };
    obj.rooms = { perRole: true };
    obj.metrics = { enabled: false };
    obj.logging = { level: "debug", json: true };
    const c = parseOk(stringify(obj));
    expect(c.homeserver.url).toBe("https://matrix.pursuance.net");
    // bindAddress 0.0.0.0: the default url points at loopback, not at 0.0.0.0.
    expect(c.appservice).toMatchObject({ id: "my-bridge", bindAddress: "0.0.0.0", port: 29993, url: "http://127.0.0.1:29993", botLocalpart: "pbot", userPrefix: "p_", aliasPrefix: "pa_" });
    expect(c.database).toEqual({ url: "postgres://bridge:s3cret@db:5432/bridge", kind: "postgres" });
    expect(c.relays).toHaveLength(2);
    expect(c.socksProxy).toBe("socks5h://127.0.0.1:9050");
    // Domains lowercased; in user ids only the server name.
    expect(c.permissions).toEqual({ "*": "commands", "pursuance.net": "manage", "@Alice:pursuance.net": "admin" });
    expect(c.rooms.perRole).toBe(true);
    expect(c.metrics.enabled).toBe(false);
    expect(c.logging).toEqual({ level: "debug", json: true });
  });

  it("explicit appservice.url wins; IPv6 bind addresses are bracketed", () => {
    expect(parseOk(withKey("appservice.url", "http://bridge:9993/")).appservice.url).toBe("http://bridge:9993");
    expect(parseOk(withKey("appservice.bindAddress", "::1")).appservice.url).toBe("http://[::1]:9993");
    expect(parseOk(withKey("appservice.bindAddress", "::")).appservice.url).toBe("http://[::1]:9993");
  });

  it("an empty permissions mapping is allowed (nobody may use the bridge) and warned about", () => {
    const c = parseOk(withKey("permissions", {}));
    expect(c.permissions).toEqual({});
    expect(openPermissionWarnings(c.permissions).join("\n")).toMatch(/nobody/);
  });
});

describe("parseConfig: each bad key is named with its bad value", () => {
  // [key path to set, bad value, key named in the error, text expected in the message]
  const cases: [string, unknown, string, RegExp][] = [
    ["homeserver.url", "htp://x", "homeserver.url", /homeserver\.url: "htp:\/\/x" is not an http\(s\) URL/],
    ["homeserver.url", 8008, "homeserver.url", /homeserver\.url: 8008 is not an http\(s\) URL/],
    ["homeserver.url", "http://", "homeserver.url", /"http:\/\/" is not an http\(s\) URL/],
    ["homeserver.domain", "not a domain!", "homeserver.domain", /homeserver\.domain: "not a domain!" is not a server name/],
    ["homeserver.domain", "@alice:localhost", "homeserver.domain", /"@alice:localhost" is not a server name/],
    ["homeserver.domain", "localhost:99999", "homeserver.domain", /"localhost:99999" is not a server name/],
    ["homeserver", "http://127.0.0.1:8008", "homeserver", /homeserver: "http:\/\/127\.0\.0\.1:8008" is not a mapping with the keys url, domain/],
    ["appservice.id", "has space", "appservice.id", /appservice\.id: "has space" is not a registration id/],
    ["appservice.bindAddress", "bad host!", "appservice.bindAddress", /appservice\.bindAddress: "bad host!" is not an IP address or host name/],
    ["appservice.port", 70000, "appservice.port", /appservice\.port: 70000 is not an integer port 1-65535/],
    ["appservice.port", "9993", "appservice.port", /appservice\.port: "9993" is not an integer port/],
    ["appservice.port", 0, "appservice.port", /appservice\.port: 0 is not/],
    ["appservice.port", 99.5, "appservice.port", /appservice\.port: 99\.5 is not/],
    ["appservice.url", "ftp://bridge", "appservice.url", /appservice\.url: "ftp:\/\/bridge" is not an http\(s\) URL/],
    ["appservice.botLocalpart", "Bot:x", "appservice.botLocalpart", /appservice\.botLocalpart: "Bot:x" is not a user id localpart/],
    ["appservice.userPrefix", "UPPER_", "appservice.userPrefix", /appservice\.userPrefix: "UPPER_" is not a localpart prefix/],
    ["appservice.aliasPrefix", "a b", "appservice.aliasPrefix", /appservice\.aliasPrefix: "a b" is not an alias localpart prefix/],
    ["appservice.asToken", "short", "appservice.asToken", /appservice\.asToken: "short" is not a token of at least 16 characters/],
    ["appservice.hsToken", "has spaces but is long enough", "appservice.hsToken", /appservice\.hsToken: "has \S+ \(29 characters\)" is not a token/],
    ["appservice.hsToken", AS_TOKEN, "appservice.hsToken", /appservice\.hsToken: ".{4}… \(43 characters\)" is the same as appservice\.asToken/],
    ["database.url", "mysql://db/x", "database.url", /database\.url: "mysql:\/\/db\/x" has an unsupported scheme; expected a postgres:\/\//],
    ["database.url", "", "database.url", /database\.url: "" is not a postgres:\/\/.* or a folder path/],
    ["database.url", 5, "database.url", /database\.url: 5 is not/],
    ["database.url", "postgres://user:hunter2@[bad", "database.url", /database\.url: "postgres:\/\/user:\*\*\*@\[bad" is not a postgres/],
    ["relays", "ws://127.0.0.1:7717", "relays", /relays: "ws:\/\/127\.0\.0\.1:7717" is not a list of ws:\/\/ or wss:\/\/ relay URLs/],
    ["relays", [], "relays", /relays: \[\] is empty; expected at least one ws:\/\/ or wss:\/\/ relay URL/],
    ["relays", ["ws://a.net", "http://b.net"], "relays[1]", /relays\[1\]: "http:\/\/b\.net" is not a ws:\/\/ or wss:\/\/ relay URL/],
    ["relays", ["ws://a.net", "ws://a.net"], "relays[1]", /relays\[1\]: "ws:\/\/a\.net" is listed twice/],
    ["socksProxy", "socks5://127.0.0.1:9050", "socksProxy", /socksProxy: "socks5:\/\/127\.0\.0\.1:9050" is not a socks5h:\/\/host:port URL/],
    ["socksProxy", "socks5h://127.0.0.1", "socksProxy", /socksProxy: "socks5h:\/\/127\.0\.0\.1" is not a socks5h/],
    ["identities.key", "tooshort", "identities.key", /identities\.key: "tooshort" is not a base64url-encoded 32-byte key/],
    ["identities.key", randomBytes(31).toString("base64url") + "AA", "identities.key", /identities\.key: ".{4}… \(\d+ characters\)" is not a base64url-encoded 32-byte key/],
    ["identities.custodial", false, "identities.custodial", /identities\.custodial: false is not supported: the bridge holds .* \(custodial\).*; expected true/],
    ["permissions", ["*"], "permissions", /permissions: \["\*"\] is not a mapping/],
    ["permissions", { "*": "superuser" }, 'permissions["*"]', /permissions\["\*"\]: "superuser" is not one of "commands", "manage", "admin"/],
    ["permissions", { "not a domain!": "admin" }, 'permissions["not a domain!"]', /permissions\["not a domain!"\]: "not a domain!" is not a valid key/],
    ["permissions", { "@nocolon": "admin" }, 'permissions["@nocolon"]', /"@nocolon" is not a valid key; expected "\*", a server name/],
    ["rooms.perRole", "yes", "rooms.perRole", /rooms\.perRole: "yes" is not a boolean \(true or false\)/],
    ["rooms", true, "rooms", /rooms: true is not a mapping with the keys perRole/],
    ["metrics.enabled", "true", "metrics.enabled", /metrics\.enabled: "true" is not a boolean/],
    ["logging.level", "verbose", "logging.level", /logging\.level: "verbose" is not one of "debug", "info", "warn", "error"/],
    ["logging.json", 1, "logging.json", /logging\.json: 1 is not a boolean/],
    ["logging.format", "json", "logging.format", /logging\.format: "json" is under an unknown key \(a typo\?\); expected one of the keys level, json/],
    ["homeservr", { url: "x" }, "homeservr", /homeservr: \{"url":"x"\} is under an unknown key/],
    ["appservice.bindAdress", "0.0.0.0", "appservice.bindAdress", /appservice\.bindAdress: "0\.0\.0\.0" is under an unknown key/],
  ];

  it.each(cases)("%s = %j", (path, value, key, message) => {
    const errors = errorsOf(withKey(path, value));
    expect(errors.map((e) => e.key)).toEqual([key]);
    const e = errors[0]!;
    expect(e.message).toMatch(/^config\.yaml: /);
    expect(e.message).toMatch(message);
    if (key === path) expect(e.value).toEqual(value);
    expect(e.expected.length).toBeGreaterThan(0);
  });

  it.each([
    ["homeserver.url", "homeserver.url"],
    ["homeserver.domain", "homeserver.domain"],
    ["relays", "relays"],
  ])("a missing required key is named: %s", (path, key) => {
    const errors = errorsOf(withKey(path, undefined));
    expect(errors.map((e) => e.key)).toEqual([key]);
    expect(errors[0]!.value).toBeUndefined();
    expect(errors[0]!.message).toMatch(new RegExp(`^config\\.yaml: ${key.replace(".", "\\.")}: missing; expected `));
  });

  it("secrets are shortened and database passwords hidden in messages", () => {
    const longBad = "x".repeat(30) + " y";
    const [e] = errorsOf(withKey("appservice.asToken", longBad));
    expect(e!.message).not.toContain(longBad);
    expect(e!.message).toContain('"xxxx… (32 characters)"');
    expect(showValue("database.url", "postgres://u:hunter2@h/db")).toBe('"postgres://u:***@h/db"');
  });

  it("a YAML syntax error names its line; duplicate keys are refused", () => {
    const syntax = errorsOf("homeserver:\n  url: [http://x\nrelays: []\n");
    expect(syntax).toHaveLength(1);
    expect(syntax[0]!.message).toMatch(/^config\.yaml: YAML syntax error: .*line \d+, column \d+; expected valid YAML/);
    const dup = errorsOf("relays: [ws://a.net]\nrelays: [ws://b.net]\n");
    expect(dup[0]!.message).toMatch(/YAML syntax error: Map keys must be unique/);
  });

  it("a top level that is not a mapping is refused", () => {
    expect(errorsOf("- a\n- b\n")[0]!.message).toMatch(/config\.yaml: the top level is \["a","b"\], not a mapping/);
  });

  it("reports every problem at once", () => {
    const obj = base();
    obj.homeserver.url = "htp://x";
    obj.appservice.port = 70000;
    obj.relays = ["http://nope.net"];
    obj.logging = { level: "loud" };
    obj.rooms = { perRole: "no" };
    obj.extra = 1;
    let thrown: unknown;
    try {
      parseConfig(stringify(obj), "config.yaml", { env: {} });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ConfigErrors);
    const err = thrown as ConfigErrors;
    expect(err.errors.map((e) => e.key).sort()).toEqual(["appservice.port", "extra", "homeserver.url", "logging.level", "relays[0]", "rooms.perRole"]);
    expect(err.message).toMatch(/^config\.yaml: 6 problems:\n/);
    for (const e of err.errors) expect(err.message).toContain(e.message);
    expect(err.message).toContain('config.yaml: homeserver.url: "htp://x" is not an http(s) URL');
  });

  it("an empty file names every required key", () => {
    const keys = errorsOf("").map((e) => e.key);
    expect(keys).toEqual(["homeserver.url", "homeserver.domain", "appservice.asToken", "appservice.hsToken", "relays", "identities.key"]);
    expect(errorsOf("", { purpose: "register", env: {} }).map((e) => e.key)).toEqual(["homeserver.url", "homeserver.domain", "relays"]);
  });
});

describe("placeholders are refused", () => {
  const placeholders: [string, unknown][] = [
    ["homeserver.url", "https://CHANGE_ME"],
    ["homeserver.url", "https://matrix.example.org"],
    ["homeserver.url", "http://<your homeserver>:8008"],
    ["homeserver.domain", "CHANGE_ME"],
    ["homeserver.domain", "example.com"],
    ["homeserver.domain", "matrix.example.net"],
    ["homeserver.domain", "your-domain.org"],
    ["appservice.url", "http://bridge.example.com:9993"],
    ["appservice.asToken", "CHANGE_ME"],
    ["appservice.hsToken", "REPLACE_ME_WITH_A_TOKEN"],
    ["database.url", "postgres://user:CHANGE_ME@db/bridge"],
    ["relays", ["wss://relay.example.org"]],
    ["relays", ["ws://<relay>:7717"]],
    ["socksProxy", "socks5h://CHANGE_ME:9050"],
    ["identities.key", "CHANGE_ME"],
    ["logging.level", "TODO"],
  ];
  it.each(placeholders)("%s = %j", (path, value) => {
    const errors = errorsOf(withKey(path, value));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.key).toMatch(new RegExp(`^${path.replace(".", "\\.")}`));
    expect(errors[0]!.message).toContain(JSON.stringify(Array.isArray(value) ? value[0] : value));
    expect(errors[0]!.message).toMatch(/is a placeholder/);
  });

  it("in permission keys too", () => {
    for (const who of ["@CHANGE_ME:CHANGE_ME", "@admin:example.com", "example.org", "<your user id>"]) {
      const errors = errorsOf(withKey("permissions", { "*": "commands", [who]: "admin" }));
      expect(errors.map((e) => e.key)).toEqual([`permissions[${JSON.stringify(who)}]`]);
      expect(errors[0]!.message).toMatch(/is a placeholder key/);
    }
  });

  it("real values are not mistaken for placeholders", () => {
    for (const v of ["_pursuance_", "http://127.0.0.1:8008", "localhost", "myexample.com", "examples.org", "https://matrix.org", AS_TOKEN, HS_TOKEN, ID_KEY, "./data/bridge-db", "todos.net"]) {
      expect(isPlaceholder(v), v).toBe(false);
    }
    // Random tokens never look like placeholders.
    for (let i = 0; i < 2000; i++) expect(isPlaceholder(key32())).toBe(false);
  });
});

describe("config.sample.yaml", () => {
  const sample = readFileSync(SAMPLE, "utf8");
  const dir = mkdtempSync(join(tmpdir(), "pursuance-sample-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The sample with each CHANGE_ME replaced by a real value. */
  function filled(): string {
    return sample
      .replace("url: https://CHANGE_ME", "url: https://matrix.pursuance.net")
      .replace("domain: CHANGE_ME", "domain: pursuance.net")
      .replace("- wss://CHANGE_ME", "- wss://relay.pursuance.net")
      .replace("key: CHANGE_ME", `key: ${ID_KEY}`)
      .replace('"@CHANGE_ME:CHANGE_ME": admin', '"@alice:pursuance.net": admin');
  }

  it("documents every key with a comment just above it", () => {
    const lines = sample.split("\n");
    const keys = [
      "homeserver", "url", "domain", "appservice", "id", "bindAddress", "port", "botLocalpart", "userPrefix", "aliasPrefix",
      "asToken", "hsToken", "database", "relays", "inviteRelays", "socksProxy", "identities", "key", "custodial", "permissions", "rooms", "perRole",
      "metrics", "enabled", "logging", "level", "json",
    ];
    for (const k of keys) {
      const i = lines.findIndex((l) => new RegExp(`^\\s*(# )?${k}:`).test(l));
      expect(i, `sample has no ${k}:`).toBeGreaterThan(0);
      expect(lines[i - 1]!.trim().startsWith("#"), `${k} has no comment just above it`).toBe(true);
    }
    // appservice.url is documented (commented out: its default derives from bindAddress and port).
    expect(sample).toMatch(/^\s*# url: http:\/\/127\.0\.0\.1:9993$/m);
    expect(sample).toMatch(/PURSUANCE_IDENTITY_KEY/);
    expect(sample).toMatch(/custodial/i);
  });

  it("as shipped it fails, naming each placeholder", () => {
    const path = join(dir, "config.yaml");
    writeFileSync(path, sample);
    let thrown: unknown;
    try {
      loadConfig(path, { env: {} });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ConfigErrors);
    const errors = (thrown as ConfigErrors).errors;
    const placeholderKeys = errors.filter((e) => /placeholder/.test(e.message)).map((e) => e.key);
    expect(placeholderKeys).toEqual(["homeserver.url", "homeserver.domain", "relays[0]", "identities.key", 'permissions["@CHANGE_ME:CHANGE_ME"]']);
    // The only other problems: the tokens that `pursuance register` writes.
    expect(errors.filter((e) => !/placeholder/.test(e.message)).map((e) => e.key)).toEqual(["appservice.asToken", "appservice.hsToken"]);
    for (const e of errors) expect(e.message.startsWith(`${path}: ${e.key}: `)).toBe(true);
  });

  it("with the placeholders replaced it passes, and its values are the documented defaults", () => {
    const text = filled();
    const c = parseConfig(text, "config.yaml", { purpose: "register", env: {}, baseDir: dir });
    expect(c.homeserver).toEqual({ url: "https://matrix.pursuance.net", domain: "pursuance.net" });
    const { asToken: _a, hsToken: _h, ...as } = c.appservice;
    expect(as).toEqual({ ...CONFIG_DEFAULTS.appservice, url: "http://127.0.0.1:9993" });
    expect(c.database).toEqual({ url: CONFIG_DEFAULTS.database.url, kind: "pglite", path: resolve(dir, "data/bridge-db") });
    expect(c.rooms).toEqual(CONFIG_DEFAULTS.rooms);
    expect(c.metrics).toEqual(CONFIG_DEFAULTS.metrics);
    expect(c.logging).toEqual(CONFIG_DEFAULTS.logging);
    expect(c.permissions).toEqual({ "*": "commands", "@alice:pursuance.net": "admin" });
    expect(openPermissionWarnings(c.permissions)).toEqual([]);
    // The bridge also needs the tokens `pursuance register` writes.
    expect(errorsOf(text).map((e) => e.key)).toEqual(["appservice.asToken", "appservice.hsToken"]);
    const withTokens = text.replace("  # asToken: (written by pursuance register)", `  asToken: ${AS_TOKEN}\n  hsToken: ${HS_TOKEN}`);
    expect(parseOk(withTokens).appservice.asToken).toBe(AS_TOKEN);
  });

  it("`pursuance config check` prints every error for the sample, and config OK once filled in", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (l: string) => out.push(l), stderr: (l: string) => err.push(l), env: {} };
    const path = join(dir, "check.yaml");
    writeFileSync(path, sample);
    expect(await runConfigCommand(["check", "-c", path], io)).toBe(1);
    const text = err.join("\n");
    for (const k of ["homeserver.url", "homeserver.domain", "relays[0]", "identities.key", "appservice.asToken", "appservice.hsToken"]) expect(text).toContain(`${path}: ${k}: `);
    expect(out).toEqual([]);

    out.length = err.length = 0;
    writeFileSync(path, filled().replace("  # asToken: (written by pursuance register)", `  asToken: ${AS_TOKEN}\n  hsToken: ${HS_TOKEN}`).replace(/^ {2}"\*": commands$/m, '  "*": admin'));
    expect(await runConfigCommand(["check", "--config", path], io)).toBe(0);
    expect(out.join("\n")).toMatch(/^config OK: /);
    expect(err.join("\n")).toMatch(/WARNING: permissions\["\*"\] is "admin": ANY Matrix user/);
  });
});

describe("pursuance config (CLI, real process)", () => {
  it("--help documents every flag; bad flags exit 2 naming the flag", async () => {
    // Independent processes: run them side by side (each pays tsx's start-up).
    const [help, help2, bad, sub, noval, missing, sample, top] = await Promise.all([
      run(["config", "--help"]),
      run(["config", "check", "--help"]),
      run(["config", "check", "--frobnicate"]),
      run(["config", "chek"]),
      run(["config", "check", "-c"]),
      run(["config", "check", "-c", "/nonexistent/config.yaml"]),
      run(["config", "check", "-c", SAMPLE]),
      run(["--help"]),
    ]);
    expect(help.code).toBe(0);
    for (const f of ["check", "-c, --config", "-h, --help", "PURSUANCE_IDENTITY_KEY"]) expect(help.stdout).toContain(f);
    expect(help2.code).toBe(0);
    expect(help2.stdout).toBe(help.stdout);

    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--frobnicate/);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toMatch(/unknown subcommand "chek"/);
    expect(noval.code).toBe(2);
    expect(noval.stderr).toMatch(/--config/);

    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/\/nonexistent\/config\.yaml: cannot read the file: ENOENT/);

    expect(sample.code).toBe(1);
    expect(sample.stderr).toMatch(/homeserver\.url: "https:\/\/CHANGE_ME" is a placeholder/);

    expect(top.stdout).toMatch(/config\s+check the bridge's config/);
    expect(top.stdout).toMatch(/register\s+write the bridge's appservice registration/);
   }, 120_000);
});

describe("identity key", () => {
  const config = () => parseOk(stringify(base()));

  it("PURSUANCE_IDENTITY_KEY overrides identities.key", () => {
    const envKey = key32();
    expect(Buffer.from(resolveIdentityKey(config(), { [IDENTITY_KEY_ENV]: envKey })).toString("base64url")).toBe(envKey);
    expect(Buffer.from(resolveIdentityKey(config(), {})).toString("base64url")).toBe(ID_KEY);
    expect(resolveIdentityKey(config(), { [IDENTITY_KEY_ENV]: "" })).toHaveLength(32); // empty = unset
  });

  it("either one satisfies the bridge; neither is an error naming both", () => {
    const noKey = withKey("identities.key", undefined);
    expect(errorsOf(noKey).map((e) => e.key)).toEqual(["identities.key"]);
    expect(errorsOf(noKey)[0]!.message).toMatch(/identities\.key: missing and PURSUANCE_IDENTITY_KEY is not set/);
    const c = parseOk(noKey, { env: { [IDENTITY_KEY_ENV]: ID_KEY } });
    expect(c.identities.key).toBeUndefined();
    expect(resolveIdentityKey(c, { [IDENTITY_KEY_ENV]: ID_KEY })).toHaveLength(32);
    expect(() => resolveIdentityKey(c, {})).toThrow(ConfigError);
    expect(() => resolveIdentityKey(c, {})).toThrow(/identities\.key: missing and PURSUANCE_IDENTITY_KEY is not set/);
    // register does not need one.
    expect(errorsOf(noKey, { purpose: "register", env: {} })).toEqual([]);
  });

  it("a placeholder identities.key is fine when PURSUANCE_IDENTITY_KEY holds a valid key, and only then", () => {
    const placeholder = withKey("identities.key", "CHANGE_ME");
    const c = parseOk(placeholder, { env: { [IDENTITY_KEY_ENV]: ID_KEY } });
    expect(c.identities.key).toBeUndefined();
    expect(Buffer.from(resolveIdentityKey(c, { [IDENTITY_KEY_ENV]: ID_KEY })).toString("base64url")).toBe(ID_KEY);
    // Without the variable, or with a bad one, the placeholder is still refused by name.
    expect(errorsOf(placeholder, { env: {} }).map((e) => e.key)).toEqual(["identities.key"]);
    expect(errorsOf(placeholder, { env: {} })[0]!.message).toMatch(/identities\.key: "CHANGE_ME" is a placeholder/);
    expect(errorsOf(placeholder, { env: { [IDENTITY_KEY_ENV]: "not-a-key" } }).map((e) => e.key).sort()).toEqual(["PURSUANCE_IDENTITY_KEY", "identities.key"]);
    // A value that is not a placeholder but not a key either is still an error, variable or not.
    expect(errorsOf(withKey("identities.key", "tooshort"), { env: { [IDENTITY_KEY_ENV]: ID_KEY } }).map((e) => e.key)).toEqual(["identities.key"]);
  });

  it("a bad key in the environment is named", () => {
    const errors = errorsOf(stringify(base()), { env: { [IDENTITY_KEY_ENV]: "not-a-key" } });
    expect(errors.map((e) => e.key)).toEqual([IDENTITY_KEY_ENV]);
    expect(errors[0]!.message).toMatch(/PURSUANCE_IDENTITY_KEY: "not-a-key" \(environment variable\) is not a valid key; expected a base64url-encoded 32-byte key/);
    expect(() => resolveIdentityKey(config(), { [IDENTITY_KEY_ENV]: "not-a-key" })).toThrow(/PURSUANCE_IDENTITY_KEY: "not-a-key" is not a base64url/);
  });
});

describe("permissions", () => {
  const perms = {
    "*": "commands",
    "corp.org": "manage",
    "@boss:corp.org": "admin",
    "@intern:corp.org": "commands",
    "partner.net:8448": "admin",
  } as const;

  it("the most specific key wins: user id > domain > *", () => {
    expect(permissionFor(perms, "@anyone:elsewhere.net")).toBe("commands");
    expect(permissionFor(perms, "@worker:corp.org")).toBe("manage");
    expect(permissionFor(perms, "@boss:corp.org")).toBe("admin");
    // A user entry lowers what the domain grants, too.
    expect(permissionFor(perms, "@intern:corp.org")).toBe("commands");
    // Domains match exactly (case-insensitively), not subdomains; ports are part of the name.
    expect(permissionFor(perms, "@worker:CORP.org")).toBe("manage");
    expect(permissionFor(perms, "@x:sub.corp.org")).toBe("commands");
    expect(permissionFor(perms, "@x:partner.net")).toBe("commands");
    expect(permissionFor(perms, "@x:partner.net:8448")).toBe("admin");
    // User ids are case-sensitive in the localpart.
    expect(permissionFor(perms, "@Boss:corp.org")).toBe("manage");
    expect(permissionFor(perms, "@boss:Corp.Org")).toBe("admin");
  });

  it("no match, or a malformed id, is none", () => {
    const noStar = { "corp.org": "admin" } as const;
    expect(permissionFor(noStar, "@x:elsewhere.net")).toBe("none");
    for (const bad of ["", "boss", "@boss", "@:corp.org", "boss:corp.org", "@boss:not a domain"]) expect(permissionFor(perms, bad)).toBe("none");
  });

  it("levels are additive", () => {
    expect(permits("admin", "manage")).toBe(true);
    expect(permits("admin", "commands")).toBe(true);
    expect(permits("manage", "commands")).toBe(true);
    expect(permits("manage", "admin")).toBe(false);
    expect(permits("commands", "manage")).toBe(false);
    expect(permits("none", "commands")).toBe(false);
  });

  it("keys as written in config (any case) match after parsing", () => {
    const c = parseOk(withKey("permissions", { "CORP.ORG": "manage", "@Boss:Corp.Org": "admin" }));
    expect(permissionFor(c.permissions, "@x:corp.org")).toBe("manage");
    expect(permissionFor(c.permissions, "@Boss:corp.org")).toBe("admin");
    expect(permissionFor(c.permissions, "@x:elsewhere.net")).toBe("none");
  });

  it("warns loudly when left open", () => {
    expect(openPermissionWarnings({ "*": "commands" })).toEqual([]);
    expect(openPermissionWarnings({ "*": "commands", "@me:matrix.org": "admin", "corp.org": "manage", localhost: "admin" })).toEqual([]);
    const star = openPermissionWarnings({ "*": "manage" });
    expect(star).toHaveLength(1);
    expect(star[0]).toMatch(/^WARNING: permissions\["\*"\] is "manage": ANY Matrix user on ANY federated homeserver/);
    expect(openPermissionWarnings({ "*": "admin" })[0]).toMatch(/administer this bridge/);
    const pub = openPermissionWarnings({ "*": "commands", "matrix.org": "admin" });
    expect(pub).toHaveLength(1);
    expect(pub[0]).toMatch(/permissions\["matrix\.org"\] is "admin": EVERY user on matrix\.org .*anyone can sign up on matrix\.org/);
    expect(openPermissionWarnings({ "matrix.org": "manage" })[0]).toMatch(/anyone can sign up on matrix\.org/);
    expect(openPermissionWarnings({ "corp.org": "admin" })[0]).toMatch(/EVERY user on corp\.org administers this bridge; if anyone can register/);
    expect(openPermissionWarnings({ "*": "admin", "matrix.org": "admin" })).toHaveLength(2);
  });
});
