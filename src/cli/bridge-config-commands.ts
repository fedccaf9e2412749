// `pursuance register` and `pursuance config check`: the bridge's config and
// appservice registration. Bad flags exit 2 naming the flag; an invalid
// config exits 1 listing every problem.
import { parseArgs } from "node:util";
import { ConfigErrors, loadConfig } from "../bridge/config/config.js";
import { openPermissionWarnings } from "../bridge/permissions.js";
import { writeRegistration } from "../bridge/registration.js";
import { UsageError } from "./usage.js";

export interface ConfigCommandIo {
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
  env?: Record<string, string | undefined>;
}

export const REGISTER_HELP = `Usage: pursuance register [options]

Write the appservice registration for the homeserver, and store its tokens
(appservice.asToken, appservice.hsToken) back into the config file, keeping
its comments. The user and alias namespaces (@<userPrefix>.*:<domain>,
#<aliasPrefix>.*:<domain>) are exclusive; rate limiting is off. Tokens
already in the config are reused, so re-running is safe. Both files hold
secrets and are written atomically with mode 0600.

Then add the registration file to app_service_config_files in the
homeserver's config and restart the homeserver.

Options:
  -c, --config PATH     bridge config file (default config.yaml)
  -f, --file PATH       registration file to write (default registration.yaml)
  -u, --url URL         how the homeserver reaches the bridge, e.g.
                        http://127.0.0.1:9993; also stored as appservice.url
                        in the config (default: appservice.url from the config)
      --new-tokens      replace the tokens in the config with fresh ones (the
                        homeserver must then be restarted with the new file)
  -h, --help            show this help

Example:
  pursuance register -c config.yaml -f registration.yaml -u http://127.0.0.1:9993
`;

export const CONFIG_HELP = `Usage: pursuance config check [options]

Validate the bridge's config file as the bridge does at start: every key, its
type and value, placeholders (CHANGE_ME, <...>, example.com) refused, the
tokens from 'pursuance register' and an identity key (identities.key or the
PURSUANCE_IDENTITY_KEY environment variable) present. Prints "config OK" and
any warnings (e.g. permissions left open), or every problem found and exits 1.

Options:
  -c, --config PATH     bridge config file (default config.yaml)
  -h, --help            show this help

Example:
  pursuance config check -c config.yaml
`;

function io(o: ConfigCommandIo) {
  return {
    out: o.stdout ?? ((l: string) => process.stdout.write(l + "\n")),
    err: o.stderr ?? ((l: string) => process.stderr.write(l + "\n")),
  };
}

/** parseArgs, its errors (which name the option) turned into UsageError. */
function flags<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function nonEmpty(flag: string, v: string | undefined, dflt: string): string {
  if (v === undefined) return dflt;
  if (v.trim() === "") throw new UsageError(`${flag}: bad value ${JSON.stringify(v)} (want a file path)`);
  return v;
}

export function parseRegisterArgs(argv: string[]) {
  const { values } = flags(() =>
    parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string", short: "c" },
        file: { type: "string", short: "f" },
        url: { type: "string", short: "u" },
        "new-tokens": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }),
  );
  if (values.help) return "help" as const;
  const url = values.url;
  if (url !== undefined) {
    let ok = false;
    try {
      const u = new URL(url);
      ok = (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageError(`--url: bad value ${JSON.stringify(url)} (want an http(s) URL at which the homeserver reaches the bridge, e.g. http://127.0.0.1:9993)`);
  }
  return {
    config: nonEmpty("--config", values.config, "config.yaml"),
    file: nonEmpty("--file", values.file, "registration.yaml"),
    url,
    newTokens: values["new-tokens"] === true,
  };
}

export async function runRegisterCommand(argv: string[], o: ConfigCommandIo = {}): Promise<number> {
  const { out, err } = io(o);
  let args;
  try {
    args = parseRegisterArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`pursuance register: ${e.message}\nRun 'pursuance register --help' for usage.`);
    return 2;
  }
  if (args === "help") {
    out(REGISTER_HELP);
    return 0;
  }
  try {
    const r = writeRegistration(args.config, args.file, { ...(args.url !== undefined ? { url: args.url } : {}), newTokens: args.newTokens });
    const reg = r.registration;
    out(`wrote ${args.file} (id ${reg.id}, url ${reg.url}, bot @${reg.sender_localpart}:${r.config.homeserver.domain})`);
    out(`  exclusive users:   ${reg.namespaces.users[0]!.regex}`);
    out(`  exclusive aliases: ${reg.namespaces.aliases[0]!.regex}`);
    out(
      `${r.generatedTokens ? "stored new tokens" : "kept the tokens"} in ${args.config} (appservice.asToken, appservice.hsToken)` +
        (r.wroteUrl ? ` and appservice.url = ${reg.url}` : ""),
    );
    out(`next: add ${args.file} to app_service_config_files in the homeserver's config and restart it`);
    return 0;
  } catch (e) {
    if (e instanceof ConfigErrors) {
      err(`pursuance register: ${e.message}`);
      return 1;
    }
    err(`pursuance register: ${(e as Error).message}`);
    return 1;
  }
}

export async function runConfigCommand(argv: string[], o: ConfigCommandIo = {}): Promise<number> {
  const { out, err } = io(o);
  const [sub, ...rest] = argv;
  if (sub === "--help" || sub === "-h" || sub === "help") {
    out(CONFIG_HELP);
    return 0;
  }
  if (sub !== "check") {
    err(`pursuance config: ${sub === undefined ? "missing subcommand" : `unknown subcommand ${JSON.stringify(sub)}`} (want: check)\nRun 'pursuance config --help' for usage.`);
    return 2;
  }
  let path: string;
  try {
    const { values } = flags(() =>
      parseArgs({ args: rest, strict: true, allowPositionals: false, options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } } }),
    );
    if (values.help) {
      out(CONFIG_HELP);
      return 0;
    }
    path = nonEmpty("--config", values.config, "config.yaml");
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(`pursuance config check: ${e.message}\nRun 'pursuance config --help' for usage.`);
    return 2;
  }
  try {
    const config = loadConfig(path, { purpose: "bridge", env: o.env ?? process.env });
    const warnings = openPermissionWarnings(config.permissions);
    out(`config OK: ${path} (homeserver ${config.homeserver.url} as ${config.homeserver.domain}, ${config.relays.length} relay${config.relays.length === 1 ? "" : "s"}, database ${config.database.kind})`);
    for (const w of warnings) err(w);
    return 0;
  } catch (e) {
    if (!(e instanceof ConfigErrors)) throw e;
    err(e.message);
    return 1;
  }
}
