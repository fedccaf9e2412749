// `pursuance <command>`: a table of subcommands. Add an entry to COMMANDS to
// add a command; each takes its own argv and returns the process exit code.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { runAnnouncementsCommand, runVerifyAnnouncement } from "./announce-command.js";
import { runConfigCommand, runRegisterCommand } from "./bridge-config-commands.js";
import { runBackupCommand, runRestoreCommand } from "./backup-command.js";
import { runBridgeCommand } from "./bridge-command.js";
import { runClientCommand } from "./client-command.js";
import { commandFirst } from "./client-context.js";
import { didYouMean } from "../usecases/spellings.js";
import { runDemoCommand } from "./demo-command.js";
import { runRelayCommand } from "./relay-command.js";
import { runDownCommand } from "./down-command.js";
import { runInitDeployCommand } from "./init-deploy-command.js";
import { runUpCommand } from "./up-command.js";

export interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

export const COMMANDS: Record<string, Command> = {
  up: { summary: "run everything locally: Synapse, a relay and the bridge (prints a test login)", run: runUpCommand },
  down: { summary: "stop what `pursuance up` runs (from another terminal)", run: runDownCommand },
  relay: { summary: "run an untrusted relay (WebSocket + /healthz + /metrics)", run: runRelayCommand },
  client: { summary: "the member client: create, join, tasks, roles, sync, verify", run: (argv) => runClientCommand(argv) },
  bridge: { summary: "run the Matrix bridge (appservice) from a config file", run: runBridgeCommand },
  demo: { summary: "run two relays and three members in one process and check they agree", run: runDemoCommand },
  register: { summary: "write the bridge's appservice registration.yaml and store its tokens in the config", run: (argv) => runRegisterCommand(argv) },
  config: { summary: "check the bridge's config file (config check -c config.yaml)", run: (argv) => runConfigCommand(argv) },
  "verify-announcement": { summary: "check a copied public announcement or profile (FILE or -) against its signature and pursuance; no account needed", run: (argv) => runVerifyAnnouncement(argv) },
  announcements: { summary: "announcements export DIR: the pursuance's signed announcements as static files for any web host", run: (argv) => runAnnouncementsCommand(argv) },
  backup: { summary: "write one passphrase-encrypted file with a member's identity, keys and log, or the bridge's state", run: (argv) => runBackupCommand(argv) },
  restore: { summary: "bring back what `pursuance backup` wrote, on this or another machine", run: (argv) => runRestoreCommand(argv) },
  "init-deploy": { summary: "write a deploy directory for docker-compose.yml: configs, registration, fresh secrets", run: (argv) => runInitDeployCommand(argv) },
  verify: { summary: "recompute state and hash from an exported log (same as client verify)", run: (argv) => runClientCommand(["verify", ...argv]) },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return `Usage: pursuance <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nRun 'pursuance <command> --help' for a command's options.\n`;
}

export async function main(argv: string[]): Promise<number> {
  // `pursuance --home D client status`: the client's common options before the command name too.
  const [name, ...rest] = commandFirst(argv);
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) {
    process.stderr.write(`pursuance: unknown command ${JSON.stringify(name)}${didYouMean(name, Object.keys(COMMANDS))}\n\n${usage()}`);
    return 2;
  }
  return cmd.run(rest);
}

// Run when executed directly (`tsx src/cli/main.ts …`); bin/pursuance.js imports it instead.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
