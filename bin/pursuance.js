#!/usr/bin/env node
// Launcher: load the TypeScript sources through tsx, then run the CLI.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
const code = await main(process.argv.slice(2));
// Commands finish their work (stores flushed, relays closed) before returning;
// a lingering reconnect or request timer must not hold the shell for seconds.
process.exit(code);
