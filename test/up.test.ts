// `pursuance up` as a user runs it: one process brings up Synapse, a relay and
// the bridge; the printed test login works, the bot answers in the ready
// room and in an encrypted room the user makes as Element does, and it stops — on Ctrl-C (SIGINT), on `pursuance down` from another
// terminal — within 10 s, Synapse included. A run that was SIGKILLed leaves a
// Synapse behind; the next run stops it and works. Every run prints the room.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, run } from "./helpers/cli.js";
import { bodyOf, TestUser } from "../harness/matrix.js";
import { E2eeUser } from "../harness/e2ee-user.js";

interface UpInfo {
  homeserver: string;
  bot: string;
  testUser: { userId: string; password: string };
  room: string | null;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("pursuance up", () => {
  const home = mkdtempSync(join(tmpdir(), "pursuance-up-"));
  const synapsePidFile = join(home, "synapse", "synapse.pid");
  const procs: ChildProcess[] = [];
  const synapsePids = new Set<number>();
  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
    for (const pid of synapsePids) if (alive(pid)) process.kill(pid, "SIGKILL");
    rmSync(home, { recursive: true, force: true });
  });

  /** Start `up`, wait until it says it is ready; returns the process, what it printed and up.json. */
  async function up(): Promise<{ proc: ChildProcess; out: () => string; info: UpInfo; synapsePid: number }> {
    const upJson = join(home, "up.json");
    // up.json stays from an earlier run (its room is reused); it is rewritten before "Press Ctrl-C" is printed.
    const proc = spawn(process.execPath, [BIN, "up", "--home", home], { stdio: ["ignore", "pipe", "pipe"] });
    procs.push(proc);
    let out = "";
    let err = "";
    proc.stdout!.on("data", (d) => (out += d));
    proc.stderr!.on("data", (d) => (err += d));
    const end = Date.now() + 300_000;
    while (!existsSync(upJson) || !out.includes("Press Ctrl-C")) {
      if (Date.now() > end || proc.exitCode !== null) throw new Error(`up did not come up:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    const synapsePid = Number(readFileSync(synapsePidFile, "utf8").trim());
    synapsePids.add(synapsePid);
    return { proc, out: () => out + err, info: JSON.parse(readFileSync(upJson, "utf8")) as UpInfo, synapsePid };
  }

  async function botAnswers(info: UpInfo): Promise<void> {
    const login = await fetch(`${info.homeserver}/_matrix/client/v3/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user: "tester" }, password: info.testUser.password }),
    });
    expect(login.status).toBe(200);
    const token = ((await login.json()) as { access_token: string }).access_token;
    const tester = new TestUser(info.homeserver, info.testUser.userId, token);
    await tester.join(info.room!);
    await tester.waitFor(info.room!, "the bot in the ready room", (e) => e.type === "m.room.member" && (e as { state_key?: string }).state_key === info.bot && e.content.membership === "join");
    const sent = Date.now();
    await tester.send(info.room!, "!help");
    const help = await tester.waitFor(info.room!, "help", (e) => e.sender === info.bot && e.origin_server_ts >= sent - 1000 && bodyOf(e).includes("!pursuance create"));
    expect(bodyOf(help)).toMatch(/<name>/);
  }

  /** Everything `up` ran is gone within 10 s of `stop()`. */
  async function goneWithin10s(proc: ChildProcess, synapsePid: number, stop: () => unknown): Promise<number | null> {
    const exited = new Promise<number | null>((r) => (proc.exitCode !== null ? r(proc.exitCode) : proc.once("exit", (c) => r(c))));
    const t0 = Date.now();
    stop();
    const code = await exited;
    while (alive(synapsePid) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 100));
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(alive(synapsePid)).toBe(false);
    return code;
  }

  it("runs the whole stack, prints a working login and the room, and one Ctrl-C stops all of it within 10 s", async () => {
    const { proc, out, info, synapsePid } = await up();
    expect(out()).toContain(info.testUser.password);
    expect(out()).toContain(info.homeserver);
    expect(info.room).toMatch(/^!/);
    expect(out()).toContain(`a room is ready:    ${info.room}`);
    await botAnswers(info);

    // As in Element: the user makes a private room, encrypted from the start, and invites the bot.
    const element = await E2eeUser.login(info.homeserver, "tester", info.testUser.password);
    try {
      const room = await element.createEncryptedRoom([info.bot]);
      await element.waitForJoin(room, info.bot);
      await element.send(room, '!pursuance create "Desk"');
      const reply = await element.waitFor(room, "the bot's reply in the encrypted room", (e) => e.sender === info.bot && e.body.includes("Desk"));
      expect(reply.wireType).toBe("m.room.encrypted");
      expect(reply.failed).toBe(false);
    } finally {
      element.stop();
    }

    const code = await goneWithin10s(proc, synapsePid, () => proc.kill("SIGINT"));
    expect(code).toBe(0);
    const down = await fetch(`${info.homeserver}/_matrix/client/versions`).then(() => false, () => true);
    expect(down).toBe(true);
  }, 360_000);

  it("a second Ctrl-C stops it at once, Synapse included", async () => {
    const { proc, synapsePid } = await up();
    const code = await goneWithin10s(proc, synapsePid, () => {
      proc.kill("SIGINT");
      setTimeout(() => proc.kill("SIGINT"), 100);
    });
    expect(code).not.toBeNull();
    expect(existsSync(join(home, "up.pid"))).toBe(false);
  }, 360_000);

  it("after a SIGKILL, the next run stops the orphaned Synapse and works; `pursuance down` stops it from outside", async () => {
    const first = await up();
    first.proc.kill("SIGKILL");
    await new Promise((r) => first.proc.once("exit", r));
    // What a killed run leaves behind: its Synapse.
    expect(alive(first.synapsePid)).toBe(true);

    const second = await up();
    expect(alive(first.synapsePid)).toBe(false);
    expect(second.out()).toMatch(/stopped a Synapse \(pid \d+\) left running/);
    // Every run prints the ready room, the same one as before.
    expect(second.info.room).toBe(first.info.room);
    expect(second.out()).toContain(`a room is ready:    ${second.info.room}`);
    await botAnswers(second.info);

    const r = await goneWithin10s(second.proc, second.synapsePid, () => run(["down", "--home", home], 30_000));
    expect(r).toBe(0);
    expect(existsSync(join(home, "up.pid"))).toBe(false);
  }, 600_000);
});
