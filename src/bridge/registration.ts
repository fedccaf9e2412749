// The appservice registration (registration.yaml) that the homeserver loads,
// and `pursuance register`'s file work: write the registration and store its
// tokens back into the config, keeping the user's comments, atomically, 0600.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeSync, chmodSync } from "node:fs";
import { dirname, basename, join } from "node:path";
import { isMap, isScalar, parseDocument, stringify, type Document, type YAMLMap } from "yaml";
import { ConfigError, ConfigErrors, parseConfig, type BridgeConfig } from "./config/config.js";

/** The registration as Synapse (and matrix-appservice-bridge's AppServiceRegistration) read it. */
export interface AppserviceRegistration {
  id: string;
  url: string;
  as_token: string;
  hs_token: string;
  sender_localpart: string;
  rate_limited: false;
  /** End-to-bridge encryption (encryption.allow): to-device messages in transactions (MSC2409/MSC4203). */
  receive_ephemeral?: true;
  "de.sorunome.msc2409.push_ephemeral"?: true;
  /** Device list changes and one-time key counts in transactions (MSC3202). */
  "org.matrix.msc3202"?: true;
  /** The appservice creates its users' devices itself (MSC4190). */
  "io.element.msc4190"?: true;
  namespaces: {
    users: { exclusive: boolean; regex: string }[];
    aliases: { exclusive: boolean; regex: string }[];
    rooms: { exclusive: boolean; regex: string }[];
  };
}

export interface RegistrationOptions {
  /** How the homeserver reaches the bridge; default config.appservice.url. */
  url?: string;
}

export interface WriteRegistrationOptions extends RegistrationOptions {
  /** Make fresh tokens even when the config already holds some (the homeserver must then reload the registration). */
  newTokens?: boolean;
}

export interface WriteRegistrationResult {
  registration: AppserviceRegistration;
  /** The config as re-read from the rewritten file (register purpose: no identity key required). */
  config: BridgeConfig;
  /** Whether fresh tokens were generated (false: the config's tokens were reused). */
  generatedTokens: boolean;
  /** Whether appservice.url in the config was changed to `url`. */
  wroteUrl: boolean;
}

/**
 * What end-to-bridge encryption needs of the homeserver, per appservice. The
 * homeserver must also have the matching experimental features on (Synapse:
 * msc2409_to_device_messages_enabled, msc3202_transaction_extensions; see
 * scripts/synapse.sh and docs/DESIGN.md).
 */
export const E2EE_REGISTRATION = {
  receive_ephemeral: true,
  "de.sorunome.msc2409.push_ephemeral": true,
  "org.matrix.msc3202": true,
  "io.element.msc4190": true,
} as const;

/** A fresh 32-byte random token, base64url. */
export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/**
 * The registration object for `config`: exclusive user namespace
 * `@<userPrefix>.*:<domain>` and alias namespace `#<aliasPrefix>.*:<domain>`
 * (regex-escaped), no room namespace, rate limiting off, the bot as
 * sender_localpart. Tokens come from the config, or are fresh when absent.
 */
export function buildRegistration(config: BridgeConfig, opts: RegistrationOptions = {}): AppserviceRegistration {
  const as = config.appservice;
  const domain = escapeRegex(config.homeserver.domain);
  return {
    id: as.id,
    url: (opts.url ?? as.url).replace(/\/+$/, ""),
    as_token: as.asToken ?? newToken(),
    hs_token: as.hsToken ?? newToken(),
    sender_localpart: as.botLocalpart,
    rate_limited: false,
    ...(config.encryption.allow ? E2EE_REGISTRATION : {}),
    namespaces: {
      users: [{ exclusive: true, regex: `@${escapeRegex(as.userPrefix)}.*:${domain}` }],
      aliases: [{ exclusive: true, regex: `#${escapeRegex(as.aliasPrefix)}.*:${domain}` }],
      rooms: [],
    },
  };
}

/** Write `text` to `path` atomically (temp file in the same folder, fsync, rename), mode 0600. */
export function writeFileAtomic(path: string, text: string): void {
  let target = path;
  try {
    target = realpathSync(path); // write through a symlink rather than replacing it
  } catch {
    // does not exist yet
  }
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    chmodSync(tmp, 0o600); // whatever the umask
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dfd = openSync(dirname(target), "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // directory fsync is best effort (not supported everywhere)
  }
}

function ensureMap(doc: Document, key: string): void {
  const node = doc.get(key, true);
  if (node === undefined || (isScalar(node) && (node.value === null || node.value === undefined))) {
    const map = doc.createNode({});
    if (isScalar(node) && node.comment) map.comment = node.comment;
    doc.set(key, map);
  } else if (!isMap(node)) {
    throw new ConfigErrors("config", [new ConfigError("config", key, doc.get(key), "a mapping")]);
  }
}

/**
 * `pursuance register`: validate the config (purpose "register": tokens and
 * identity key not yet required), build the registration (reusing the
 * config's tokens unless absent or `newTokens`), store the tokens (and `url`
 * when given) back into the config file with its comments kept, then write
 * the registration file. Both files are written atomically with mode 0600.
 * Throws ConfigErrors when the config is invalid; nothing is written then.
 */
export function writeRegistration(configPath: string, registrationPath: string, opts: WriteRegistrationOptions = {}): WriteRegistrationResult {
  let text: string;
  try {
    text = readFileSync(configPath, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigErrors(configPath, [
      new ConfigError(configPath, "", undefined, "a readable YAML config file (start from config.sample.yaml)", `cannot read the file: ${err.code ?? err.message}`),
    ]);
  }
  const baseDir = dirname(configPath);
  const config = parseConfig(text, configPath, { purpose: "register", baseDir });
  const generatedTokens = opts.newTokens === true || config.appservice.asToken === undefined || config.appservice.hsToken === undefined;
  const withTokens: BridgeConfig = generatedTokens
    ? { ...config, appservice: { ...config.appservice, asToken: newToken(), hsToken: newToken() } }
    : config;
  const registration = buildRegistration(withTokens, opts);

  const doc = parseDocument(text);
  ensureMap(doc, "appservice");
  const section = doc.get("appservice", true) as YAMLMap;
  const hadTokens = section.has("asToken") || section.has("hsToken");
  doc.setIn(["appservice", "asToken"], registration.as_token);
  doc.setIn(["appservice", "hsToken"], registration.hs_token);
  const wroteUrl = opts.url !== undefined && registration.url !== config.appservice.url;
  if (wroteUrl) doc.setIn(["appservice", "url"], registration.url);
  if (!hadTokens && section.comment) {
    // Keys appended to a mapping land before its trailing comment (the sample's
    // "# asToken: (written by pursuance register)" lines): move it above them.
    const first = section.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === "asToken");
    if (first) {
      const key = doc.createNode("asToken");
      key.commentBefore = section.comment.replace(/\n+$/, "");
      first.key = key;
      // The comment's trailing newline was the blank line before the next section: keep it.
      const top = doc.contents;
      if (section.comment.endsWith("\n") && isMap(top)) {
        const i = top.items.findIndex((p) => (isScalar(p.key) ? p.key.value : p.key) === "appservice");
        const next = top.items[i + 1];
        if (next && isScalar(next.key)) next.key.spaceBefore = true;
      }
      section.comment = null;
    }
  }
  const newText = doc.toString();
  // What we write must read back as a valid config (this also checks `url`).
  const reread = parseConfig(newText, configPath, { purpose: "register", baseDir });

  writeFileAtomic(configPath, newText);
  writeFileAtomic(
    registrationPath,
    `# Appservice registration for the pursuance bridge, written by \`pursuance register\`.\n` +
      `# Add this file's path to app_service_config_files in the homeserver's config and restart it.\n` +
      `# It holds secrets (as_token, hs_token): keep it private. Re-run \`pursuance register\` rather than editing it.\n` +
      stringify(registration),
  );
  return { registration, config: reread, generatedTokens, wroteUrl };
}
