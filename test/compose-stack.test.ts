// The self-hosting stack for real (`npm run test:compose`, run by .ci/run): the
// images built, `docker-compose up`, every healthcheck green; a Matrix user on
// the stack's Synapse founds a pursuance and a task through the bot; a CLI
// member outside the stack joins through the relay; `down` and `up` again, and
// everything is still there. Local stand-in images (no registry here) come
// from scripts/compose-local-images.sh, which the npm script runs first.
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bodyOf, TestUser } from "../harness/matrix.js";
import { freePort } from "../harness/synapse.js";

const pexec = promisify(execFile);
const ROOT = new URL("..", import.meta.url).pathname;
const PROJECT = `pursuance-ci-${process.pid}`;
const BOT = "@_pursuance_bot:localhost";
const TOKEN = /pursuance:invite\/[A-Za-z0-9_-]+/;

let deploy = "";
let env: NodeJS.ProcessEnv = {};
let synapseUrl = "";
const cliVolume = `${PROJECT}-cli`;
const log = (m: string) => process.stderr.write(`[compose ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

async function sh(cmd: string, args: string[], timeoutMs = 600_000): Promise<string> {
  try {
    const r = await pexec(cmd, args, { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return r.stdout;
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${x.message}\n${(x.stderr ?? "").slice(-4000)}`);
  }
}

const compose = (...args: string[]) => sh("docker-compose", ["-p", PROJECT, "--env-file", join(deploy, ".env"), "-f", "docker-compose.yml", "-f", "docker-compose.local.yml", ...args]);

/** The CLI as a member outside the stack: the same image, on the stack's network, its own volume. */
const cli = (...args: string[]) => sh("docker", ["run", "--rm", "-u", "0", "--network", `${PROJECT}_default`, "-v", `${cliVolume}:/member`, "pursuance:latest", "client", ...args, "--home", "/member"], 180_000);

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

async function onionAddress(timeoutMs = 60_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = (await compose("exec", "-T", "tor", "cat", "/var/lib/tor/relay/hostname").catch(() => "")).trim();
    if (got) return got;
    if (Date.now() > end) throw new Error(`tor wrote no onion hostname:\n${await compose("logs", "--tail", "30", "tor")}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe("the compose stack, started and used", () => {
  beforeAll(async () => {
    const docker = spawnSync("docker", ["info"], { stdio: "ignore" });
    if (docker.status !== 0) throw new Error("no Docker engine answers (start dockerd; .ci/run does)");
    deploy = mkdtempSync(join(tmpdir(), "pursuance-deploy-"));
    const [synapsePort, relayPort] = [await freePort(), await freePort()];
    env = { ...process.env, DEPLOY_DIR: deploy, SYNAPSE_PORT: String(synapsePort), RELAY_PORT: String(relayPort) };
    synapseUrl = `http://127.0.0.1:${synapsePort}`;
    await sh("node", ["bin/pursuance.js", "init-deploy", deploy, "--server-name", "localhost", "--admin", "@alice:localhost"]);
    // Ctrl-C: take the stack down before going (afterAll does not run on a signal).
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      process.once(sig, () => {
        spawnSync("docker-compose", ["-p", PROJECT, "--env-file", join(deploy, ".env"), "-f", "docker-compose.yml", "-f", "docker-compose.local.yml", "down", "-v"], { cwd: ROOT, env, stdio: "ignore" });
        spawnSync("docker", ["volume", "rm", "-f", cliVolume], { stdio: "ignore" });
        process.exit(130);
      });
    }
    log("building the stack's images…");
    await compose("build", "-q");
  }, 900_000);

  afterAll(async () => {
    if (!deploy) return;
    if (process.env.KEEP_STACK) return log(`KEEP_STACK: left running as project ${PROJECT}, deploy dir ${deploy}`);
    await compose("down", "-v", "--remove-orphans").catch((e: Error) => log(e.message));
    await sh("docker", ["volume", "rm", "-f", cliVolume]).catch(() => {});
    rmSync(deploy, { recursive: true, force: true });
  }, 300_000);

  it("up, a pursuance and a task from Matrix, a CLI member joins through the relay, down and up: all still there", async () => {
    const t0 = Date.now();
    await compose("up", "-d");
    await healthy(["postgres", "synapse", "relay", "bridge"]);
    log(`healthy after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    // Tor publishes the relay as an onion service (no Tor network here to reach it through: tor.md tests that).
    const onion = await onionAddress();
    expect(onion).toMatch(/^[a-z2-7]{56}\.onion$/);

    await compose("exec", "-T", "synapse", "register_new_matrix_user", "-c", "/config/homeserver.yaml", "-u", "alice", "-p", "alice-pw-123", "--no-admin", "http://localhost:8008");
    const alice = await login("alice", "alice-pw-123");
    const room = await alice.createRoom([BOT]);
    await alice.waitFor(room, "the bot joins", (e) => e.type === "m.room.member" && e.sender === BOT, 60_000).catch(async () => {
      throw new Error(`the bot never joined: ${await compose("logs", "--tail", "60", "bridge")}`);
    });
    await alice.send(room, '!pursuance create "Compose"');
    await alice.waitFor(room, "created", (e) => e.sender === BOT && bodyOf(e).includes("created Compose"), 60_000);
    await alice.send(room, '!task create "Stack task"');
    await alice.waitFor(room, "the task", (e) => e.sender === BOT && bodyOf(e).startsWith("📋") && bodyOf(e).includes("Stack task"), 60_000);

    // A member who keeps their own keys: invited by DM, joins over the relay from outside the stack.
    await alice.send(room, "!pursuance invite --role admin");
    const dm = await alice.directChatWith(BOT, 60_000).catch(async (e: Error) => {
      const said = (await alice.messages(room)).filter((m) => m.type === "m.room.message").map((m) => `${m.sender}: ${bodyOf(m)}`);
      throw new Error(`${e.message}\nroom:\n${said.join("\n")}\nbridge:\n${await compose("logs", "--tail", "40", "bridge")}`);
    });
    const inv = await alice.waitFor(dm, "the invite", (e) => e.sender === BOT && TOKEN.test(bodyOf(e)), 60_000);
    await cli("init", "--name", "carol");
    const joined = await cli("join", TOKEN.exec(bodyOf(inv))![0], "--timeout", "60s");
    expect(joined).toMatch(/joined Compose .* as admin/);
    expect(await cli("task", "list")).toMatch(/Stack task/);
    await cli("task", "create", "From the CLI");
    await alice.waitFor(room, "the CLI member's task", (e) => bodyOf(e).includes("From the CLI"), 60_000);

    log("down, and up again…");
    await compose("down");
    const t1 = Date.now();
    await compose("up", "-d");
    await healthy(["postgres", "synapse", "relay", "bridge"]);
    log(`healthy again after ${((Date.now() - t1) / 1000).toFixed(0)} s`);
    // The onion key lives in the tor volume: the address survives a restart.
    expect(await onionAddress()).toBe(onion);

    // Matrix side: the same login, the room, the pursuance and both tasks.
    const again = await login("alice", "alice-pw-123");
    await again.send(room, "!task list");
    const list = await again.waitFor(room, "the task list", (e) => e.sender === BOT && bodyOf(e).includes("Stack task") && bodyOf(e).includes("From the CLI"), 60_000);
    expect(bodyOf(list)).toMatch(/#1/);
    // Relay side: the CLI member syncs from the restarted relay (PostgreSQL kept every frame).
    await cli("sync", "--timeout", "30s");
    const tasks = await cli("task", "list");
    expect(tasks).toMatch(/Stack task/);
    expect(tasks).toMatch(/From the CLI/);
    // And the stack still works: a new task after the restart reaches the CLI member.
    await again.send(room, '!task create "After the restart"');
    await again.waitFor(room, "the new task", (e) => e.sender === BOT && bodyOf(e).startsWith("📋") && bodyOf(e).includes("After the restart"), 60_000);
    await cli("sync", "--timeout", "30s");
    expect(await cli("task", "list")).toMatch(/After the restart/);

    // The backup docs/self-hosting.md gives, run as written there.
    const out = mkdtempSync(join(tmpdir(), "pursuance-backup-"));
    try {
      await compose("run", "--rm", "-T", "-u", "0", "-e", "PURSUANCE_BACKUP_PASSPHRASE=compose test passphrase", "-v", `${out}:/out`, "bridge", "backup", "/out/bridge.pbk", "--bridge", "-c", "/data/config.yaml");
      expect(statSync(join(out, "bridge.pbk")).size).toBeGreaterThan(1000);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 1_200_000);
});
