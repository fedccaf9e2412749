// `pursuance init-deploy DIR`: a working deploy directory for docker-compose.yml.
// Secrets are made on the first run and never replaced: a rerun keeps every
// file that exists and fills in only what is missing, so it is safe to repeat
// (after an upgrade, say) and never locks anyone out of their own data.
import { accessSync, chmodSync, chownSync, constants, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { parse } from "yaml";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigErrors } from "../bridge/config/config.js";
import { isPlaceholder, isServerName } from "../bridge/config/values.js";
import { writeFileAtomic, writeRegistration } from "../bridge/registration.js";
import { SECRET_NAMES, bridgeConfigText, envText, homeserverText, newSecrets, parseEnv, publishedRelays, signingKeyText, type DeployOptions, type DeploySecrets } from "./deploy-files.js";
import { DeployRerunError, existingServerName, planRerun, type RerunFlags } from "./deploy-rerun.js";
import { hostnameOfSecretKeyFile, newOnionKey } from "./onion-key.js";
import { UsageError } from "./usage.js";

export const INIT_DEPLOY_HELP = `Usage: pursuance init-deploy DIR --server-name NAME --admin @YOU:NAME [options]
       pursuance init-deploy DIR [--relay-url URL] [--admin @USER:NAME]   (a rerun)

Write what docker-compose.yml needs into DIR (usually ./deploy):

  DIR/.env                     secrets: POSTGRES_PASSWORD, PURSUANCE_IDENTITY_KEY,
                               Synapse's registration, macaroon and form secrets
  DIR/bridge/config.yaml       the bridge's config (mounted at /data)
  DIR/synapse/homeserver.yaml  Synapse's config, its signing key and the
  DIR/synapse/signing.key      appservice registration (mounted at /config)
  DIR/synapse/registration.yaml
  DIR/tor/hs_ed25519_secret_key  the relay's onion service key (its address is
                               printed; invites carry it unless --relay-url)

Secrets are made on the first run and never replaced. A rerun keeps every
file and secret, and applies the flags it is given: --relay-url and --admin
change DIR/bridge/config.yaml (inviteRelays, permissions); a different
--server-name is refused (a Matrix server name cannot change). Run as root,
it gives the bridge's files to uid 1000 and Synapse's to uid 991 (the
containers' users), so later runs need root too.

Then:  docker-compose --env-file DIR/.env up -d

Options:
      --server-name NAME  the Matrix server name (the part after ':' in user ids);
                          required on the first run
      --admin @USER:NAME  the Matrix user who may create pursuances (bridge
                          permission 'admin'); required on the first run, more
                          people under permissions: in DIR/bridge/config.yaml
      --relay-url URL     the relay's public address for members outside the
                          stack (wss://relay.your-domain, a TLS proxy to
                          127.0.0.1:7717); default: its onion address
  -h, --help              show this help

Example:
  pursuance init-deploy deploy --server-name matrix.your-domain.org --admin @you:matrix.your-domain.org   (as root)
`;

export interface InitDeployIo {
  out(line: string): void;
  err(line: string): void;
  /** Whether to chown files to the containers' users (default: when running as root). */
  chown?: boolean;
}

const defaultIo: InitDeployIo = { out: (l) => process.stdout.write(l + "\n"), err: (l) => process.stderr.write(l + "\n") };

export async function runInitDeployCommand(argv: string[], io: InitDeployIo = defaultIo): Promise<number> {
  try {
    const p = parseFlags(argv);
    if (p === "help") {
      io.out(INIT_DEPLOY_HELP);
      return 0;
    }
    initDeploy(p.dir, resolveOptions(p.dir, p.flags), io);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`pursuance init-deploy: ${e.message}\n\n${INIT_DEPLOY_HELP}`);
      return 2;
    }
    if (e instanceof ConfigErrors) {
      io.err(e.message);
      return 1;
    }
    if (e instanceof DeployRerunError) {
      io.err(`pursuance init-deploy: ${e.message}`);
      return 1;
    }
    io.err(`pursuance init-deploy: ${(e as Error).message}`);
    return 1;
  }
}

function parseFlags(argv: string[]): "help" | { dir: string; flags: RerunFlags } {
  let p;
  try {
    p = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { "server-name": { type: "string" }, "relay-url": { type: "string" }, admin: { type: "string" }, help: { type: "boolean", short: "h" } },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (p.values.help) return "help";
  if (p.positionals.length !== 1) throw new UsageError(p.positionals.length === 0 ? "DIR is required" : `one DIR only (got ${p.positionals.map((x) => JSON.stringify(x)).join(", ")})`);
  const serverName = p.values["server-name"];
  if (serverName !== undefined) {
    if (!isServerName(serverName)) throw new UsageError(`--server-name: ${JSON.stringify(serverName)} is not a Matrix server name (a DNS name or IP address, optionally :port)`);
    if (isPlaceholder(serverName))
      throw new UsageError(
        `--server-name: ${JSON.stringify(serverName)} is a placeholder or a name reserved for documentation (example.org/.com/.net, .invalid: RFC 2606), which no one can reach; use your own domain, the one your users' ids will end in`,
      );
  }
  const relayUrl = p.values["relay-url"];
  if (relayUrl !== undefined && !/^wss?:\/\/[^\s/]+/.test(relayUrl)) throw new UsageError(`--relay-url: ${JSON.stringify(relayUrl)} is not a ws:// or wss:// URL`);
  const admin = p.values.admin;
  if (admin !== undefined && !/^@[^:\s]+:[^\s]+$/.test(admin)) throw new UsageError(`--admin: ${JSON.stringify(admin)} is not a Matrix user id (@user:server)`);
  return { dir: p.positionals[0]!, flags: { ...(serverName ? { serverName } : {}), ...(relayUrl ? { relayUrl } : {}), ...(admin ? { admin } : {}) } };
}

/**
 * The options for this run: on the first run --server-name and --admin are
 * required (without an admin nobody may !pursuance create); on a rerun the
 * server name comes from the files and every flag is optional.
 */
function resolveOptions(dirArg: string, f: RerunFlags): DeployOptions {
  const dir = resolve(dirArg);
  assertReadable(dirArg);
  const had = existingServerName(dir);
  const first = !existsSync(join(dir, "bridge", "config.yaml"));
  if (first && f.serverName === undefined && had === undefined) throw new UsageError("--server-name is required (the part after ':' in your Matrix user ids)");
  if (first && f.admin === undefined)
    throw new UsageError(
      `--admin is required: the Matrix user (yours, e.g. @you:${f.serverName ?? had ?? "your.server"}) who may !pursuance create; without one nobody can. More people: permissions: in ${join(dirArg, "bridge", "config.yaml")}`,
    );
  const serverName = f.serverName ?? had!;
  return { serverName, ...(f.relayUrl ? { relayUrl: f.relayUrl } : {}), ...(f.admin ? { admin: f.admin } : {}) };
}

/**
 * After a first run as root the bridge's and Synapse's folders belong to the
 * containers' users (1000, 991), mode 0700: a rerun as anyone else can read
 * nothing there, and would otherwise take the files for missing. Say so.
 */
function assertReadable(dirArg: string): void {
  for (const sub of ["", "bridge", "synapse", "tor"]) {
    const d = join(resolve(dirArg), sub);
    if (!existsSync(d)) continue;
    try {
      accessSync(d, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch {
      const st = statSync(d);
      throw new DeployRerunError(
        `cannot read ${join(dirArg, sub)} (it belongs to uid ${st.uid}${st.uid === 1000 ? ", the bridge container's user" : st.uid === 991 ? ", Synapse's" : ""}, mode ${(st.mode & 0o777).toString(8)}): run init-deploy as root (sudo), as the first time`,
        d,
      );
    }
  }
}

/** What each run did to each file, for the summary and for tests. */
export type FileFate = "written" | "kept" | "updated";

export function initDeploy(dirArg: string, o: DeployOptions, io: InitDeployIo = defaultIo): Record<string, FileFate> {
  const dir = resolve(dirArg);
  const bridgeDir = join(dir, "bridge");
  const synapseDir = join(dir, "synapse");
  const torDir = join(dir, "tor");
  const configPath = join(bridgeDir, "config.yaml");
  const first = !existsSync(configPath);
  // A rerun: every flag applies or is refused (naming the file) before anything is written.
  const plan = first ? undefined : planRerun(dirArg, readFileSync(configPath, "utf8"), existingServerName(dir), { serverName: o.serverName, ...(o.relayUrl ? { relayUrl: o.relayUrl } : {}), ...(o.admin ? { admin: o.admin } : {}) });
  for (const d of [dir, bridgeDir, synapseDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const fates: Record<string, FileFate> = {};

  // Secrets: what .env already holds wins; only missing names are made.
  const envPath = join(dir, ".env");
  const had = existsSync(envPath) ? parseEnv(readFileSync(envPath, "utf8")) : {};
  const fresh = newSecrets();
  const secrets = Object.fromEntries(SECRET_NAMES.map((k) => [k, had[k] ?? fresh[k]])) as unknown as DeploySecrets;
  const complete = SECRET_NAMES.every((k) => had[k] !== undefined);
  if (!complete) writeFileAtomic(envPath, envText(secrets));
  fates[".env"] = complete ? "kept" : existsSync(envPath) && Object.keys(had).length > 0 ? "updated" : "written";

  const writeOnce = (path: string, name: string, text: () => string) => {
    if (existsSync(path)) fates[name] = "kept";
    else {
      writeFileAtomic(path, text());
      fates[name] = "written";
    }
  };
  // The onion key, made on the first run so its address is known now and goes into invites.
  // Deployments from before keep Tor's own key in the tor volume (none is made for them here).
  const onionKeyPath = join(torDir, "hs_ed25519_secret_key");
  if (first && !existsSync(onionKeyPath)) {
    mkdirSync(torDir, { recursive: true, mode: 0o700 });
    writeFileAtomicBytes(onionKeyPath, newOnionKey().secretKeyFile);
    fates["tor/hs_ed25519_secret_key"] = "written";
  } else if (existsSync(onionKeyPath)) fates["tor/hs_ed25519_secret_key"] = "kept";
  const onion = existsSync(onionKeyPath) ? hostnameOfSecretKeyFile(readFileSync(onionKeyPath)) : undefined;
  const opts: DeployOptions = { ...o, ...(onion ? { onion } : {}) };

  writeOnce(configPath, "bridge/config.yaml", () => bridgeConfigText(opts, secrets));
  if (plan?.configText !== undefined) {
    writeFileAtomic(configPath, plan.configText);
    fates["bridge/config.yaml"] = "updated";
  }
  writeOnce(join(synapseDir, "homeserver.yaml"), "synapse/homeserver.yaml", () => homeserverText(opts, secrets));
  writeOnce(join(synapseDir, "signing.key"), "synapse/signing.key", signingKeyText);
  // Tokens already in the config are reused, so the registration always matches it.
  const reg = writeRegistration(configPath, join(synapseDir, "registration.yaml"), { url: "http://bridge:9993" });
  fates["synapse/registration.yaml"] = "written";
  if (reg.generatedTokens) fates["bridge/config.yaml"] = fates["bridge/config.yaml"] === "kept" ? "updated" : "written";

  const chown = io.chown ?? (typeof process.getuid === "function" && process.getuid() === 0);
  if (chown) {
    giveTo(bridgeDir, 1000);
    giveTo(synapseDir, 991);
    // Under sudo: the folder and .env stay the admin's, so `docker-compose --env-file DIR/.env`
    // works as them (in the docker group); the tor key stays root's (Tor's start script copies it).
    const admin = sudoUser();
    if (admin) {
      chownSync(dir, admin.uid, admin.gid);
      chownSync(envPath, admin.uid, admin.gid);
    }
  }
  chmodSync(dir, 0o700);

  for (const [name, fate] of Object.entries(fates)) io.out(`${fate.padEnd(8)} ${join(dirArg, name)}`);
  for (const c of plan?.changes ?? []) io.out(`  ${c}`);
  if (plan && plan.changes.length > 0) io.out(`the bridge reads its config at start: docker-compose --env-file ${join(dirArg, ".env")} restart bridge`);
  const published = first ? publishedRelays(opts) : readInviteRelays(configPath);
  io.out(
    published.length > 0
      ? `\nmembers outside this server reach the relay at: ${published.join(", ")} (invites from !pursuance invite carry it${published.some((u) => u.includes(".onion")) ? "; members use their own Tor: --socks socks5h://127.0.0.1:9050" : ""})`
      : `\ninvites carry the relay's address inside the stack only: give its public address with --relay-url (see docs/self-hosting.md)`,
  );
  if (!chown) io.err(`not root: give the containers their files with\n  sudo chown -R 1000:1000 ${join(dirArg, "bridge")} && sudo chown -R 991:991 ${join(dirArg, "synapse")}`);
  io.out(`next: docker-compose --env-file ${join(dirArg, ".env")} up -d   (see docs/self-hosting.md)`);
  return fates;
}

function readInviteRelays(configPath: string): string[] {
  const c = parse(readFileSync(configPath, "utf8")) as { inviteRelays?: unknown } | null;
  return Array.isArray(c?.inviteRelays) ? c.inviteRelays.filter((u): u is string => typeof u === "string") : [];
}

/** Binary twin of writeFileAtomic (mode 0600, fsync, rename), for the onion key. */
function writeFileAtomicBytes(path: string, bytes: Buffer): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes, { mode: 0o600, flag: "wx" });
  renameSync(tmp, path);
}

/** The user who ran `sudo`, from sudo's own variables; undefined when not under sudo (or as root's own sudo). */
function sudoUser(): { uid: number; gid: number } | undefined {
  const uid = Number(process.env.SUDO_UID);
  const gid = Number(process.env.SUDO_GID);
  return Number.isSafeInteger(uid) && uid > 0 && Number.isSafeInteger(gid) && gid >= 0 ? { uid, gid } : undefined;
}

function giveTo(d: string, uid: number): void {
  chownSync(d, uid, uid);
  for (const f of ["config.yaml", "homeserver.yaml", "signing.key", "registration.yaml"]) {
    const p = join(d, f);
    if (existsSync(p)) {
      chownSync(p, uid, uid);
      chmodSync(p, 0o600);
    }
  }
}
