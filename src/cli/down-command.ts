// `pursuance down`: stop the `pursuance up` of a data dir from another
// terminal (its pid file), as Ctrl-C would; and its Synapse even when that
// `up` is already gone (killed, crashed).
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { alive, runningUp, stopPid, stopSynapse, upPidFile } from "./up-lifecycle.js";

export const DOWN_HELP = `Usage: pursuance down [--home DIR]

Stop what 'pursuance up --home DIR' runs: the bridge, the relay and Synapse,
within 10 s.

Options:
  --home DIR   the data dir given to 'pursuance up' (default ./.pursuance/up)
  -h, --help   show this help

Example:
  pursuance down --home ./.pursuance/up
`;

export async function runDownCommand(argv: string[]): Promise<number> {
  let homeArg: string | undefined;
  try {
    const { values } = parseArgs({ args: argv, options: { home: { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true });
    if (values.help) return void process.stdout.write(DOWN_HELP), 0;
    homeArg = values.home;
  } catch (e) {
    process.stderr.write(`pursuance down: ${(e as Error).message}\nRun 'pursuance down --help' for usage.\n`);
    return 2;
  }
  const home = resolve(homeArg ?? ".pursuance/up");
  const up = runningUp(home);
  // `up` stops its own children on SIGTERM; its Synapse is stopped at the same time from here, so
  // neither waits on the other (past the grace, each is killed).
  const [, hs] = await Promise.all([up !== null ? stopPid(up, 7_000) : Promise.resolve(), stopSynapse(home, 4_000)]);
  if (up !== null) process.stderr.write(alive(up) ? `pursuance up (pid ${up}) would not stop\n` : `stopped pursuance up (pid ${up})\n`);
  if (hs !== null) process.stderr.write(`stopped Synapse (pid ${hs})\n`);
  rmSync(upPidFile(home), { force: true });
  if (up === null && hs === null) process.stderr.write(`nothing running for ${home}\n`);
  return 0;
}
