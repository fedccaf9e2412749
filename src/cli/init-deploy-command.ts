// `pursuance init-deploy DIR`: a working deploy directory for docker-compose.yml.
// Secrets are made on the first run and never replaced: a rerun keeps every
// file that exists and fills in only what is missing, so it is safe to repeat
// (after an upgrade, say) and never locks anyone out of their own data.
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ConfigErrors } from "../bridge/config.js";
import { isPlaceholder, isServerName } from "../bridge/config-values.js";
import { writeFileAtomic, writeRegistration } from "../bridge/registration.js";
import { SECRET_NAMES, bridgeConfigText, envText, homeserverText, newSecrets, parseEnv, signingKeyText, type DeployOptions, type DeploySecrets } from "./deploy-files.js";
import { UsageError } from "./relay-command.js";

export const INIT_DEPLOY_HELP = `Usage: pursuance init-deploy DIR --server-name NAME [options]

Write what docker-compose.yml needs into DIR (usually ./deploy):

  DIR/.env                     secrets: POSTGRES_PASSWORD, PURSUANCE_IDENTITY_KEY,
                               Synapse's registration, macaroon and form secrets
  DIR/bridge/config.yaml       the bridge's config (mounted at /data)
  DIR/synapse/homeserver.yaml  Synapse's config, its signing key and the
  DIR/synapse/signing.key      appservice registration (mounted at /config)
  DIR/synapse/registration.yaml

Secrets are made on the first run and never replaced: a rerun keeps every
file that exists and writes only what is missing. Run as root, it gives the
bridge's files to uid 1000 and Synapse's to uid 991 (the containers' users).

Then:  docker-compose --env-file DIR/.env up -d

Options:
      --server-name NAME  the Matrix server name (the part after ':' in user ids)
      --relay-url URL     how members reach the relay (default ws://relay:7717,
                          the stack's own; use your public wss:// URL or onion)
      --admin @USER:NAME  a Matrix user who gets 'admin' on the bridge
  -h, --help              show this help
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
    initDeploy(p.dir, p.options, io);
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
    io.err(`pursuance init-deploy: ${(e as Error).message}`);
    return 1;
  }
}

function parseFlags(argv: string[]): "help" | { dir: string; options: DeployOptions } {
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
  if (serverName === undefined) throw new UsageError("--server-name is required (the part after ':' in your Matrix user ids)");
  if (!isServerName(serverName) || isPlaceholder(serverName)) throw new UsageError(`--server-name: ${JSON.stringify(serverName)} is not a usable Matrix server name`);
  const relayUrl = p.values["relay-url"] ?? "ws://relay:7717";
  if (!/^wss?:\/\/[^\s/]+/.test(relayUrl)) throw new UsageError(`--relay-url: ${JSON.stringify(relayUrl)} is not a ws:// or wss:// URL`);
  const admin = p.values.admin;
  if (admin !== undefined && !/^@[^:\s]+:[^\s]+$/.test(admin)) throw new UsageError(`--admin: ${JSON.stringify(admin)} is not a Matrix user id (@user:server)`);
  return { dir: p.positionals[0]!, options: { serverName, relayUrl, ...(admin ? { admin } : {}) } };
}

/** What each run did to each file, for the summary and for tests. */
export type FileFate = "written" | "kept" | "updated";

export function initDeploy(dirArg: string, o: DeployOptions, io: InitDeployIo = defaultIo): Record<string, FileFate> {
  const dir = resolve(dirArg);
  const bridgeDir = join(dir, "bridge");
  const synapseDir = join(dir, "synapse");
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
  const configPath = join(bridgeDir, "config.yaml");
  writeOnce(configPath, "bridge/config.yaml", () => bridgeConfigText(o, secrets));
  writeOnce(join(synapseDir, "homeserver.yaml"), "synapse/homeserver.yaml", () => homeserverText(o, secrets));
  writeOnce(join(synapseDir, "signing.key"), "synapse/signing.key", signingKeyText);
  // Tokens already in the config are reused, so the registration always matches it.
  const reg = writeRegistration(configPath, join(synapseDir, "registration.yaml"), { url: "http://bridge:9993" });
  fates["synapse/registration.yaml"] = "written";
  if (reg.generatedTokens) fates["bridge/config.yaml"] = fates["bridge/config.yaml"] === "kept" ? "updated" : "written";

  const chown = io.chown ?? (typeof process.getuid === "function" && process.getuid() === 0);
  if (chown) {
    giveTo(bridgeDir, 1000);
    giveTo(synapseDir, 991);
  }
  chmodSync(dir, 0o700);

  for (const [name, fate] of Object.entries(fates)) io.out(`${fate.padEnd(8)} ${join(dirArg, name)}`);
  if (!chown) io.err(`not root: give the containers their files with\n  sudo chown -R 1000:1000 ${join(dirArg, "bridge")} && sudo chown -R 991:991 ${join(dirArg, "synapse")}`);
  io.out(`\nnext: docker-compose --env-file ${join(dirArg, ".env")} up -d   (see docs/self-hosting.md)`);
  return fates;
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
