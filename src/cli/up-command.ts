// `pursuance up`: the whole stack on this machine, one command. A Synapse
// homeserver (installed into a virtual environment on first run), a relay,
// and the bridge on embedded PGlite; prints where to point a Matrix client
// and a ready test user. Ctrl-C stops all of it.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import type { Bridge } from "../bridge/bridge.js";
import { startBridge } from "../bridge/bridge-root.js";
import { loadConfig } from "../bridge/config/config.js";
import { writeFileAtomic, writeRegistration } from "../bridge/registration.js";
import { startRelay, type RelayServer } from "../cwtch/relay-server.js";
import { withTimeout } from "../bridge/deadline.js";
import { runningSynapse, runningUp, signal, stopSynapse, synapseDir, upPidFile } from "./up-lifecycle.js";
import { makeLogger, settingsFrom } from "./bridge-command.js";

export const UP_HELP = `Usage: pursuance up [--home DIR]

Run everything locally: a Synapse homeserver (installed into DIR/../.synapse
on first run, about a minute, needs PyPI), a relay, and the Matrix bridge on
an embedded database. Prints the homeserver URL, the bot's user id and a
ready test user's id and password (also written to DIR/up.json). Ctrl-C
(or 'pursuance down --home DIR' from another terminal) stops everything
within 10 s; a second Ctrl-C stops it at once. A Synapse left behind by a
killed run is stopped on the next one.

Options:
  --home DIR   where everything lives (default ./.pursuance/up)
  -h, --help   show this help

Example:
  pursuance up
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
  const other = runningUp(home);
  if (other !== null) {
    process.stderr.write(`pursuance up: already running for ${home} (pid ${other}); stop it with: pursuance down --home ${home}\n`);
    return 1;
  }
  // A run that was killed (SIGKILL, a crash) leaves its Synapse behind: ours (its pid file), so stop it.
  const orphan = await stopSynapse(home, 5_000);
  if (orphan !== null) say(`stopped a Synapse (pid ${orphan}) left running by an earlier run`);
  writeFileSync(upPidFile(home), `${process.pid}\n`);

  // Stopping: the first signal stops everything within 10 s; a second one at once.
  let bridge: Bridge | null = null;
  let relay: RelayServer | null = null;
  let stopping: Promise<void> | null = null;
  let stopRequested!: () => void;
  const stopSignal = new Promise<void>((r) => (stopRequested = r));
  const killNow = () => {
    const pid = runningSynapse(home);
    if (pid !== null) signal(pid, "SIGKILL");
    rmSync(upPidFile(home), { force: true });
  };
  const onSignal = () => {
    if (stopping) {
      say("stopping now.");
      killNow();
      process.exit(130);
    }
    stopping = (async () => {
      say("stopping… (Ctrl-C again to stop at once)");
      // All three at once: the 10 s promise must hold on a loaded machine too, where each takes longer.
      await Promise.all([
        withTimeout(bridge?.stop() ?? Promise.resolve(), 4_000, "bridge stop").catch((e: Error) => say(`  bridge: ${e.message}`)),
        withTimeout(relay?.close() ?? Promise.resolve(), 1_000, "relay stop").catch(() => {}),
        stopSynapse(home, 4_000),
      ]);
      rmSync(upPidFile(home), { force: true });
    })();
    stopRequested();
  };
  process.on("SIGINT", onSignal).on("SIGTERM", onSignal);
  // However this process ends short of SIGKILL, its Synapse does not outlive it.
  process.once("exit", killNow);
  try {
    return await upUntilStopped(home, say, stopSignal, (b) => (bridge = b), (r) => (relay = r), () => stopping);
  } finally {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    // Nothing left to wait for: a handle someone forgot must not keep "stopping…" on screen.
    setTimeout(() => process.exit(), 1_000).unref();
  }
}

async function upUntilStopped(
  home: string,
  say: (l: string) => void,
  stopSignal: Promise<void>,
  setBridge: (b: Bridge) => void,
  setRelay: (r: RelayServer) => void,
  stopping: () => Promise<void> | null,
): Promise<number> {
  // Each stage first checks whether Ctrl-C came while the previous one ran.
  const stopped = async () => {
    const s = stopping();
    if (!s) return false;
    await s;
    return true;
  };
  const statePath = join(home, "up-state.json");
  const state: UpState = existsSync(statePath)
    ? (JSON.parse(readFileSync(statePath, "utf8")) as UpState)
    : { identityKey: randomBytes(32).toString("base64url"), testPassword: randomBytes(12).toString("base64url") };
  writeFileAtomic(statePath, JSON.stringify(state, null, 2) + "\n");

  say("[1/5] Synapse: installing into a virtual environment if needed (first run: about a minute)…");
  await script(["install"], say);
  const [synapsePort, relayPort, bridgePort] = [await port(8008), await port(7717), await port(9993)];

  say(`[2/5] relay on ws://127.0.0.1:${relayPort} (memory store)…`);
  if (await stopped()) return 0;
  const relay = await startRelay({ port: relayPort });
  setRelay(relay);

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
  if (await stopped()) return 0;
  const hsDir = synapseDir(home);
  await script(["setup", hsDir, "--port", String(synapsePort), "--appservice", regPath], say);
  const baseUrl = await script(["start", hsDir], say);
  if (await stopped()) return 0;
  let token: string | null = null;
  try {
    token = (JSON.parse(await script(["register-user", hsDir, "tester", state.testPassword], say)) as { access_token: string }).access_token;
  } catch {
    // Already registered on an earlier run: same password, so log in.
    token = await login(baseUrl, "tester", state.testPassword).catch(() => null);
  }

  say("[5/5] bridge…");
  const cfg = loadConfig(configPath);
  const bridge = await startBridge(settingsFrom(cfg, makeLogger(cfg)), { created: setBridge });
  if (await stopped()) return 0;
  const botId = `@${cfg.appservice.botLocalpart}:localhost`;
  const upJson = join(home, "up.json");
  const priorRoom = existsSync(upJson) ? ((JSON.parse(readFileSync(upJson, "utf8")) as { room?: string | null }).room ?? null) : null;
  let roomId: string | null = null;
  if (token) roomId = await readyRoom(baseUrl, token, botId, priorRoom).catch(() => null);

  const info = {
    homeserver: baseUrl,
    serverName: "localhost",
    bot: `@${cfg.appservice.botLocalpart}:localhost`,
    testUser: { userId: "@tester:localhost", password: state.testPassword },
    room: roomId,
    relay: relay.url,
    bridge: `http://127.0.0.1:${bridge.port}`,
  };
  writeFileAtomic(upJson, JSON.stringify(info, null, 2) + "\n");
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
      `Press Ctrl-C to stop (or: pursuance down --home ${home}).`,
      "",
    ]
      .filter((l) => l !== "")
      .join("\n") + "\n",
  );
  await stopSignal;
  await stopping();
  say("stopped.");
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

async function login(baseUrl: string, user: string, password: string): Promise<string> {
  const r = await fetch(`${baseUrl}/_matrix/client/v3/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user }, password }),
  });
  if (!r.ok) throw new Error(`login ${r.status}`);
  return ((await r.json()) as { access_token: string }).access_token;
}

/** The room of an earlier run when the test user is still in it (the bot invited again if it left), else a new one. */
async function readyRoom(baseUrl: string, token: string, bot: string, prior: string | null): Promise<string> {
  if (prior) {
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const r = await fetch(`${baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(prior)}/joined_members`, { headers });
    if (r.ok) {
      const joined = Object.keys(((await r.json()) as { joined: Record<string, unknown> }).joined);
      if (!joined.includes(bot)) await fetch(`${baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(prior)}/invite`, { method: "POST", headers, body: JSON.stringify({ user_id: bot }) });
      return prior;
    }
  }
  return createRoom(baseUrl, token, bot);
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
