// `pursuance up`: the whole stack on this machine, one command. A Synapse
// homeserver (installed into a virtual environment on first run), a relay,
// and the bridge on embedded PGlite; prints where to point a Matrix client
// and a ready test user. Ctrl-C stops all of it.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { Bridge } from "../bridge/bridge.js";
import { loadConfig } from "../bridge/config.js";
import { writeFileAtomic, writeRegistration } from "../bridge/registration.js";
import { startRelay } from "../cwtch/relay-server.js";
import { makeLogger, settingsFrom } from "./bridge-command.js";

export const UP_HELP = `Usage: pursuance up [--home DIR]

Run everything locally: a Synapse homeserver (installed into DIR/../.synapse
on first run, about a minute, needs PyPI), a relay, and the Matrix bridge on
an embedded database. Prints the homeserver URL, the bot's user id and a
ready test user's id and password (also written to DIR/up.json). Ctrl-C
stops everything.

Options:
  --home DIR   where everything lives (default ./.pursuance/up)
  -h, --help   show this help
`;

const SYNAPSE = fileURLToPath(new URL("../../scripts/synapse.sh", import.meta.url));

function script(args: string[], say: (l: string) => void): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn("bash", [SYNAPSE, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d: Buffer) => {
      err += d;
      for (const l of d.toString().split("\n")) if (/^(synapse|==|Installing|Collecting)/.test(l)) say(`  ${l.trim()}`);
    });
    p.on("close", (code) => (code === 0 ? resolvePromise(out.trim()) : reject(new Error(`scripts/synapse.sh ${args[0]} failed (${code}):\n${err.slice(-2000)}`))));
  });
}

/** The preferred port when free, else any free one. */
function port(preferred: number): Promise<number> {
  const tryPort = (p: number) =>
    new Promise<number | null>((res) => {
      const s = createServer();
      s.once("error", () => res(null));
      s.listen(p, "127.0.0.1", () => {
        const a = s.address();
        s.close(() => res(typeof a === "object" && a ? a.port : null));
      });
    });
  return tryPort(preferred).then((p) => p ?? tryPort(0).then((q) => q!));
}

interface UpState {
  identityKey: string;
  testPassword: string;
}

export async function runUpCommand(argv: string[]): Promise<number> {
  let homeArg: string | undefined;
  try {
    const { values } = parseArgs({ args: argv, options: { home: { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true });
    if (values.help) return void process.stdout.write(UP_HELP), 0;
    homeArg = values.home;
  } catch (e) {
    process.stderr.write(`pursuance up: ${(e as Error).message}\nRun 'pursuance up --help' for usage.\n`);
    return 2;
  }
  const home = resolve(homeArg ?? ".pursuance/up");
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const say = (l: string) => process.stderr.write(l + "\n");
  const statePath = join(home, "up-state.json");
  const state: UpState = existsSync(statePath)
    ? (JSON.parse(readFileSync(statePath, "utf8")) as UpState)
    : { identityKey: randomBytes(32).toString("base64url"), testPassword: randomBytes(12).toString("base64url") };
  writeFileAtomic(statePath, JSON.stringify(state, null, 2) + "\n");

  say("[1/5] Synapse: installing into a virtual environment if needed (first run: about a minute)…");
  await script(["install"], say);
  const [synapsePort, relayPort, bridgePort] = [await port(8008), await port(7717), await port(9993)];

  say(`[2/5] relay on ws://127.0.0.1:${relayPort} (memory store)…`);
  const relay = await startRelay({ port: relayPort });

  say("[3/5] bridge config and appservice registration…");
  const configPath = join(home, "config.yaml");
  const regPath = join(home, "registration.yaml");
  const prior = existsSync(configPath) ? loadConfigQuiet(configPath) : null;
  writeFileAtomic(
    configPath,
    stringify({
      homeserver: { url: `http://127.0.0.1:${synapsePort}`, domain: "localhost" },
      appservice: { port: bridgePort, url: `http://127.0.0.1:${bridgePort}`, ...(prior ? { asToken: prior.as, hsToken: prior.hs } : {}) },
      database: { url: join(home, "bridge-db") },
      relays: [relay.url],
      identities: { key: state.identityKey, custodial: true },
      // Local only: everyone on this private homeserver may manage pursuances.
      permissions: { localhost: "admin" },
      logging: { level: "info", json: false },
    }),
  );
  writeRegistration(configPath, regPath);

  say(`[4/5] Synapse on http://127.0.0.1:${synapsePort}…`);
  const hsDir = join(home, "synapse");
  await script(["setup", hsDir, "--port", String(synapsePort), "--appservice", regPath], say);
  const baseUrl = await script(["start", hsDir], say);
  let user: { user_id: string; access_token: string } | null = null;
  try {
    user = JSON.parse(await script(["register-user", hsDir, "tester", state.testPassword], say)) as { user_id: string; access_token: string };
  } catch {
    // Already registered on an earlier run: same password.
  }

  say("[5/5] bridge…");
  const cfg = loadConfig(configPath);
  const bridge = new Bridge(settingsFrom(cfg, makeLogger(cfg)));
  await bridge.start();
  let roomId: string | null = null;
  if (user) roomId = await createRoom(baseUrl, user.access_token, `@${cfg.appservice.botLocalpart}:localhost`).catch(() => null);

  const info = {
    homeserver: baseUrl,
    serverName: "localhost",
    bot: `@${cfg.appservice.botLocalpart}:localhost`,
    testUser: { userId: "@tester:localhost", password: state.testPassword },
    room: roomId,
    relay: relay.url,
    bridge: `http://127.0.0.1:${bridge.port}`,
  };
  writeFileAtomic(join(home, "up.json"), JSON.stringify(info, null, 2) + "\n");
  process.stdout.write(
    [
      "",
      "Pursuance is up.",
      `  Matrix homeserver:  ${info.homeserver}   (server name: localhost)`,
      `  log in as:          ${info.testUser.userId}   password: ${info.testUser.password}`,
      `  bridge bot:         ${info.bot}   (invite it to a room, then: !pursuance create "My group")`,
      roomId ? `  a room is ready:    ${roomId} (the bot is invited)` : "",
      `  relay:              ${info.relay}   (CLI members: pursuance client … --relay ${info.relay})`,
      `  for scripts:        ${join(home, "up.json")}`,
      "Press Ctrl-C to stop.",
      "",
    ]
      .filter((l) => l !== "")
      .join("\n") + "\n",
  );
  await new Promise<void>((r) => process.once("SIGINT", r).once("SIGTERM", r));
  say("stopping…");
  await bridge.stop().catch(() => {});
  await relay.close().catch(() => {});
  await script(["stop", hsDir], say).catch(() => {});
  return 0;
}

function loadConfigQuiet(path: string): { as: string; hs: string } | null {
  try {
    const c = loadConfig(path, { purpose: "register" });
    return c.appservice.asToken && c.appservice.hsToken ? { as: c.appservice.asToken, hs: c.appservice.hsToken } : null;
  } catch {
    return null;
  }
}

async function createRoom(baseUrl: string, token: string, bot: string): Promise<string> {
  const r = await fetch(`${baseUrl}/_matrix/client/v3/createRoom`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Pursuance", preset: "private_chat", invite: [bot], topic: 'Try: !pursuance create "My group", then !help' }),
  });
  if (!r.ok) throw new Error(`createRoom ${r.status}`);
  return ((await r.json()) as { room_id: string }).room_id;
}
