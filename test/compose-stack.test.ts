// The self-hosting guide, followed for real (`npm run test:compose`, run by
// .ci/run): the shell blocks docs/self-hosting.md marks `<!-- guide: NAME -->`
// run as written, in order, in one admin's shell (exports carry from block to
// block), in this checkout with its ./deploy, so the guide cannot drift from
// what works. Between them: a Matrix user founds a pursuance and a task
// through the bot; a CLI member outside the compose network (host Node, its
// own home) joins with an invite from `!pursuance invite` through the address
// the deployment publishes (the onion address, through a SOCKS5 stand-in for
// Tor: CI has no Tor network), another with `client join --relay`; stop and
// start; upgrade; the guide's backup (every file 0600); every volume and
// deploy/ destroyed; the guide's restore; every member and task is back.
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { bodyOf, TestUser, type RoomEvent } from "../harness/matrix.js";
import { socksStandIn, type SocksStandIn } from "../harness/socks-standin.js";
import { freePort } from "../harness/synapse.js";
import { decodeInvite } from "../src/pursuance/invite.js";

const pexec = promisify(execFile);
const ROOT = new URL("..", import.meta.url).pathname;
const GUIDE_PATH = join(ROOT, "docs", "self-hosting.md");
const DEPLOY = join(ROOT, "deploy");
const BACKUP = join(ROOT, "backup");
const PROJECT = `pursuance-ci-${process.pid}`;
const SERVER = "localhost";
const BOT = `@_pursuance_bot:${SERVER}`;
const TOKEN = /pursuance:invite\/[A-Za-z0-9_-]+/;
const SERVICES = ["postgres", "synapse", "relay", "bridge", "tor"];

const log = (m: string) => process.stderr.write(`[compose ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
let work = "";
let stateFile = "";
let env: NodeJS.ProcessEnv = {};
let synapseUrl = "";
let relayPort = 0;
let socks: SocksStandIn | undefined;
let started = false;

/** The guide's marked blocks, by name (the first word after `guide:`). */
function guideBlocks(): Map<string, string> {
  const text = readFileSync(GUIDE_PATH, "utf8");
  const blocks = new Map<string, string>();
  for (const m of text.matchAll(/<!-- guide: ([a-z-]+)[^>]*-->\n```sh\n([\s\S]*?)```/g)) blocks.set(m[1]!, m[2]!);
  return blocks;
}
const GUIDE = guideBlocks();
/** A command the guide gives inline (in backticks), found by its start: the test runs it as written there. */
function inline(start: string): string {
  const text = readFileSync(GUIDE_PATH, "utf8");
  const m = new RegExp("`(" + start.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "[^`]*)`").exec(text);
  if (!m) throw new Error(`docs/self-hosting.md gives no command starting ${start}`);
  return m[1]!;
}
function block(name: string): string {
  const b = GUIDE.get(name);
  if (b === undefined) throw new Error(`docs/self-hosting.md has no block marked <!-- guide: ${name} --> (has: ${[...GUIDE.keys()].join(", ")})`);
  return b;
}

async function sh(cmd: string, args: string[], timeoutMs = 600_000, extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const r = await pexec(cmd, args, { cwd: ROOT, env: { ...env, ...extraEnv }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return r.stdout;
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ").slice(0, 300)} failed: ${x.message.slice(0, 2000)}\n${(x.stderr ?? "").slice(-4000)}`);
  }
}

/** One admin's shell: each block runs in bash (-e, pipefail) with the exports of the blocks before it. */
async function guide(name: string, text = block(name), timeoutMs = 900_000): Promise<string> {
  log(`guide: ${name}`);
  const script = `set -eo pipefail\n[ ! -f ${stateFile} ] || . ${stateFile}\n${text}\nexport -p > ${stateFile}\n`;
  return sh("bash", ["-c", script], timeoutMs);
}

/** docker-compose as the guide's admin runs it (the exports so far, deploy/.env). */
async function compose(...args: string[]): Promise<string> {
  const q = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  const script = `set -eo pipefail\n[ ! -f ${stateFile} ] || . ${stateFile}\ndocker-compose --env-file deploy/.env ${q}\n`;
  return sh("bash", ["-c", script], 600_000);
}

/** The member's CLI, outside the compose network: this machine's Node, its own home. */
const member = (home: string, ...args: string[]) => sh("node", ["bin/pursuance.js", "client", ...args, "--home", home], 240_000);

async function healthy(services: string[], timeoutMs = 300_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const states: Record<string, string> = {};
    for (const s of services) {
      const id = (await compose("ps", "-q", s)).trim();
      states[s] = id ? (await sh("docker", ["inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}", id])).trim() : "absent";
    }
    if (services.every((s) => states[s] === "healthy")) return;
    if (Date.now() > end) throw new Error(`not healthy in time: ${JSON.stringify(states)}\n${await compose("logs", "--tail", "40").catch(() => "")}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function login(user: string, password: string): Promise<TestUser> {
  const r = await fetch(`${synapseUrl}/_matrix/client/v3/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user }, password }),
  });
  const j = (await r.json()) as { access_token: string; user_id: string };
  if (!r.ok) throw new Error(`login ${user}: ${r.status} ${JSON.stringify(j)}`);
  return new TestUser(synapseUrl, j.user_id, j.access_token);
}

async function onionHostname(timeoutMs = 60_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = (await guide("onion").catch(() => "")).trim();
    if (got) return got;
    if (Date.now() > end) throw new Error(`tor wrote no onion hostname:\n${await compose("logs", "--tail", "30", "tor")}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The bot's answer to `command`, said after now. */
async function ask(u: TestUser, room: string, command: string, pred: (body: string) => boolean, what: string): Promise<string> {
  const since = Date.now() - 1000;
  await u.send(room, command);
  const e = await u.waitFor(room, what, (x: RoomEvent) => x.sender === BOT && x.origin_server_ts >= since && pred(bodyOf(x)), 90_000);
  return bodyOf(e);
}

/** Whatever of this test's project is left (a `down` that could not run: deploy/.env gone mid-restore). */
async function removeProject(): Promise<void> {
  const label = `label=com.docker.compose.project=${PROJECT}`;
  for (const [list, rm] of [
    [["ps", "-aq", "--filter", label], ["rm", "-f"]],
    [["volume", "ls", "-q", "--filter", label], ["volume", "rm", "-f"]],
    [["network", "ls", "-q", "--filter", label], ["network", "rm"]],
  ] as const) {
    const ids = (await sh("docker", [...list]).catch(() => "")).split("\n").filter(Boolean);
    if (ids.length > 0) await sh("docker", [...rm, ...ids]).catch((e: Error) => log(e.message));
  }
}

const counts = (status: string) => {
  const m = /(\d+) members · (\d+) tasks/.exec(status);
  return m ? `${m[1]} members, ${m[2]} tasks` : `(no counts in: ${status})`;
};

describe("docs/self-hosting.md, followed as written", () => {
  beforeAll(async () => {
    const docker = spawnSync("docker", ["info"], { stdio: "ignore" });
    if (docker.status !== 0) throw new Error("no Docker engine answers (start dockerd; .ci/run does)");
    // The guide works in the checkout's ./deploy and ./backup: never an admin's own.
    for (const d of [DEPLOY, BACKUP]) if (existsSync(d)) throw new Error(`${d} exists: this test follows the guide in this checkout and will not touch it; move it aside`);
    work = mkdtempSync(join(tmpdir(), "pursuance-guide-"));
    stateFile = join(work, "shell-state");
    [relayPort] = [await freePort()];
    const synapsePort = await freePort();
    synapseUrl = `http://127.0.0.1:${synapsePort}`;
    // The admin's shell: what they would type (SERVER, ADMIN), the ports free here, and no
    // POSTGRES_PASSWORD or DEPLOY_DIR (the guide's commands must work without them).
    const base = { ...process.env };
    for (const k of ["POSTGRES_PASSWORD", "PURSUANCE_IDENTITY_KEY", "DEPLOY_DIR", "COMPOSE_FILE"]) delete base[k];
    let path = base.PATH ?? "";
    if (spawnSync("sh", ["-c", "command -v sudo"]).status !== 0 && process.getuid?.() === 0) {
      // Root without sudo installed (CI's container): the guide's `sudo` is a no-op here.
      mkdirSync(join(work, "bin"));
      writeFileSync(join(work, "bin", "sudo"), '#!/bin/sh\nexec "$@"\n');
      chmodSync(join(work, "bin", "sudo"), 0o755);
      path = `${join(work, "bin")}:${path}`;
    }
    env = { ...base, PATH: path, COMPOSE_PROJECT_NAME: PROJECT, SERVER, ADMIN: `@alice:${SERVER}`, SYNAPSE_PORT: String(synapsePort), RELAY_PORT: String(relayPort) };
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      process.once(sig, () => {
        spawnSync("bash", ["-c", `[ ! -f ${stateFile} ] || . ${stateFile}; docker-compose --env-file deploy/.env down -v`], { cwd: ROOT, env, stdio: "ignore" });
        rmSync(DEPLOY, { recursive: true, force: true });
        rmSync(BACKUP, { recursive: true, force: true });
        process.exit(130);
      });
    }
  }, 900_000);

  afterAll(async () => {
    await socks?.close();
    if (!work) return;
    if (process.env.KEEP_STACK) return log(`KEEP_STACK: left running as project ${PROJECT}; ${DEPLOY} and ${BACKUP} kept`);
    if (started) {
      await compose("down", "-v", "--remove-orphans").catch((e: Error) => log(e.message));
      await removeProject();
    }
    rmSync(DEPLOY, { recursive: true, force: true });
    rmSync(BACKUP, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }, 300_000);

  it("set up, members inside and outside, stop/start, upgrade, backup (0600), every volume lost, restore: all back", async () => {
    const t0 = Date.now();
    await guide("local-images");
    started = true;
    await guide("init");
    // As written: no POSTGRES_PASSWORD in the shell, the guide's --env-file supplies it.
    expect(env.POSTGRES_PASSWORD).toBeUndefined();
    expect(await guide("ps")).toMatch(/bridge/);
    await healthy(SERVICES);
    log(`healthy after ${((Date.now() - t0) / 1000).toFixed(0)} s`);

    // This test's Matrix users are plain HTTP clients (harness/matrix.ts): they cannot read the
    // encrypted direct chat an invite is answered in, which the default (encryption.default: true)
    // makes. An Element user keeps the default; test/bridge-e2ee.test.ts covers that side.
    const cfgPath = join(DEPLOY, "bridge", "config.yaml");
    writeFileSync(cfgPath, `${readFileSync(cfgPath, "utf8")}\nencryption:\n  default: false\n`);
    await compose("restart", "bridge");
    await healthy(SERVICES);

    // The guide's config check, as written.
    expect(await guide("config check", inline("docker-compose --env-file deploy/.env run --rm -T bridge config check"))).toMatch(/ok|valid|✓/i);

    // The published address: the onion key init-deploy made is the one Tor serves, and invites carry it.
    const onion = await onionHostname();
    expect(onion).toMatch(/^[a-z2-7]{56}\.onion$/);
    const bridgeConfig = parse(readFileSync(join(DEPLOY, "bridge", "config.yaml"), "utf8")) as { inviteRelays: string[]; relays: string[] };
    expect(bridgeConfig.inviteRelays).toEqual([`ws://${onion}/`]);
    expect(bridgeConfig.relays).toEqual(["ws://relay:7717"]);

    // Accounts: the guide's command (a prompt needs a terminal: the test gives -T and -p).
    const register = block("register").trim().replace(" exec synapse ", " exec -T synapse ").replace("-u you", "-u alice");
    expect(register).toContain("register_new_matrix_user -c /config/homeserver.yaml -u alice");
    await guide("register", `${register} -p alice-pw-123`);
    const alice = await login("alice", "alice-pw-123");
    // Sign-up is closed: nobody registers themselves.
    const open = await fetch(`${synapseUrl}/_matrix/client/v3/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "mallory", password: "x-123456789", auth: { type: "m.login.dummy" } }) });
    expect(open.status).toBe(403);

    const room = await alice.createRoom([BOT]);
    await alice.waitFor(room, "the bot joins", (e) => e.type === "m.room.member" && e.sender === BOT, 60_000).catch(async () => {
      throw new Error(`the bot never joined: ${await compose("logs", "--tail", "60", "bridge")}`);
    });
    await ask(alice, room, '!pursuance create "Compose"', (b) => b.includes("created Compose"), "created");
    await ask(alice, room, '!task create "Stack task"', (b) => b.startsWith("📋") && b.includes("Stack task"), "the task");

    // A member outside the compose network, with the invite from !pursuance invite, through the
    // published onion address: their client asks the SOCKS proxy (Tor's stand-in) for it by name.
    await alice.send(room, "!pursuance invite --role admin");
    const dm = await alice.directChatWith(BOT, 60_000);
    const first = TOKEN.exec(bodyOf(await alice.waitFor(dm, "the invite", (e) => e.sender === BOT && TOKEN.test(bodyOf(e)), 60_000)))![0];
    expect(decodeInvite(first).relays).toEqual([`ws://${onion}/`]);
    socks = await socksStandIn(onion, { host: "127.0.0.1", port: relayPort });
    const carol = join(work, "carol");
    await member(carol, "init", "--name", "carol");
    expect(await member(carol, "join", first, "--socks", socks.url, "--timeout", "60s")).toMatch(/joined Compose .* as admin/);
    expect(socks.asked).toContain(`${onion}:80`);
    expect(await member(carol, "task", "list", "--socks", socks.url)).toMatch(/Stack task/);
    await member(carol, "task", "create", "From the CLI", "--socks", socks.url);
    await alice.waitFor(room, "the CLI member's task", (e) => bodyOf(e).includes("From the CLI"), 60_000);

    // Another, without Tor: `client join --relay` in place of the invite's address.
    await alice.send(room, "!pursuance invite");
    const second = TOKEN.exec(bodyOf(await alice.waitFor(dm, "a second invite", (e) => e.sender === BOT && TOKEN.test(bodyOf(e)) && !bodyOf(e).includes(first), 60_000)))![0];
    const dave = join(work, "dave");
    await member(dave, "init", "--name", "dave");
    expect(await member(dave, "join", second, "--relay", `ws://127.0.0.1:${relayPort}`, "--timeout", "60s")).toMatch(/joined Compose/);

    // Stop and start, as the guide says.
    await guide("stop-start");
    await healthy(SERVICES);
    expect(await onionHostname()).toBe(onion);
    await ask(alice, room, "!task list", (b) => b.includes("Stack task") && b.includes("From the CLI"), "the task list");

    // Upgrade, as the guide says (the rerun keeps everything; `up --build`).
    const envBefore = readFileSync(join(DEPLOY, ".env"), "utf8");
    await guide("upgrade");
    await healthy(SERVICES);
    expect(readFileSync(join(DEPLOY, ".env"), "utf8")).toBe(envBefore);
    await ask(alice, room, '!task create "After the upgrade"', (b) => b.startsWith("📋") && b.includes("After the upgrade"), "the new task");
    await member(carol, "sync", "--timeout", "30s", "--socks", socks.url);
    expect(await member(carol, "task", "list", "--socks", socks.url)).toMatch(/After the upgrade/);

    // What the bridge has now: every member and task must come back from the backup.
    const roles = await ask(alice, room, "!role list", (b) => b.includes("carol") && b.includes("dave"), "the members");
    const status = await ask(alice, room, "!pursuance status", (b) => /\d+ members · \d+ tasks/.test(b), "the status");
    expect(counts(status)).toBe("3 members, 3 tasks");

    // The guide's encrypted copy of the bridge's state (the passphrase from the environment: no terminal here),
    // then the guide's backup: every file either writes is 0600 (the folder 0700).
    const pbk = inline("docker-compose --env-file deploy/.env run --rm -u 0 -v").replace(" run --rm ", " run --rm -T -e PURSUANCE_BACKUP_PASSPHRASE='compose test passphrase' ");
    expect(pbk).toContain("bridge backup /out/bridge.pbk --bridge");
    await guide("bridge backup", pbk);
    await guide("backup");
    const files = readdirSync(BACKUP).sort();
    expect(files).toEqual(["bridge.pbk", "deploy.tgz", "pgdata.tgz", "synapse.tgz", "tor.tgz"]);
    expect((statSync(BACKUP).mode & 0o777).toString(8)).toBe("700");
    for (const f of files) {
      expect((statSync(join(BACKUP, f)).mode & 0o777).toString(8), f).toBe("600");
      expect(statSync(join(BACKUP, f)).size, f).toBeGreaterThan(100);
    }
    await healthy(SERVICES);

    // Everything lost: the volumes and deploy/. Then the guide's restore, on fresh volumes.
    log("down -v and rm -rf deploy: restoring from the backup…");
    await compose("down", "-v");
    rmSync(DEPLOY, { recursive: true, force: true });
    const volumes = await sh("docker", ["volume", "ls", "-q", "--filter", `name=${PROJECT}_`]);
    expect(volumes.trim()).toBe("");
    await guide("restore");
    await healthy(SERVICES);
    expect(await onionHostname()).toBe(onion);

    // Synapse's accounts and rooms, the bridge's members and tasks: as at the backup.
    const back = await login("alice", "alice-pw-123");
    expect(counts(await ask(back, room, "!pursuance status", (b) => /\d+ members · \d+ tasks/.test(b), "the status after the restore"))).toBe(counts(status));
    const rolesAfter = await ask(back, room, "!role list", (b) => b.includes("carol") && b.includes("dave"), "the members after the restore");
    for (const name of ["alice", "carol", "dave"]) expect(rolesAfter.includes(name), name).toBe(roles.includes(name));
    const list = await ask(back, room, "!task list", (b) => b.includes("Stack task"), "the task list after the restore");
    for (const t of ["Stack task", "From the CLI", "After the upgrade"]) expect(list).toContain(t);
    // And it works: a task from the member outside reaches Matrix through the restored onion address.
    await member(carol, "task", "create", "After the restore", "--socks", socks.url);
    await back.waitFor(room, "the task after the restore", (e) => bodyOf(e).includes("After the restore"), 90_000);
  }, 2_400_000);
});
