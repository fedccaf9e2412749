// `pursuance up` as a user runs it: one process brings up Synapse, a relay and
// the bridge; the printed test login works, the bot answers in the ready
// room, and Ctrl-C (SIGINT) stops everything, Synapse included.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN } from "./helpers/cli.js";
import { bodyOf, TestUser } from "./helpers/matrix.js";

describe("pursuance up", () => {
  const home = mkdtempSync(join(tmpdir(), "pursuance-up-"));
  let proc: ReturnType<typeof spawn> | null = null;
  afterAll(() => {
    proc?.kill("SIGKILL");
    rmSync(home, { recursive: true, force: true });
  });

  it("runs the whole stack, prints a working login, and stops cleanly on Ctrl-C", async () => {
    proc = spawn(process.execPath, [BIN, "up", "--home", home], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    proc.stdout!.on("data", (d) => (out += d));
    proc.stderr!.on("data", (d) => (err += d));
    const upJson = join(home, "up.json");
    const end = Date.now() + 300_000;
    while (!existsSync(upJson) || !out.includes("Press Ctrl-C")) {
      if (Date.now() > end || proc.exitCode !== null) throw new Error(`up did not come up:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    const info = JSON.parse(readFileSync(upJson, "utf8")) as { homeserver: string; bot: string; testUser: { userId: string; password: string }; room: string };
    expect(out).toContain(info.testUser.password);
    expect(out).toContain(info.homeserver);

    const login = await fetch(`${info.homeserver}/_matrix/client/v3/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user: "tester" }, password: info.testUser.password }),
    });
    expect(login.status).toBe(200);
    const token = ((await login.json()) as { access_token: string }).access_token;
    const tester = new TestUser(info.homeserver, info.testUser.userId, token);
    await tester.join(info.room);
    await tester.waitFor(info.room, "the bot in the ready room", (e) => e.type === "m.room.member" && (e as { state_key?: string }).state_key === info.bot && e.content.membership === "join");
    await tester.send(info.room, "!help");
    const help = await tester.waitFor(info.room, "help", (e) => e.sender === info.bot && bodyOf(e).includes("!pursuance create"));
    expect(bodyOf(help)).toMatch(/<name>/);

    proc.kill("SIGINT");
    const code = await new Promise<number | null>((r) => proc!.once("exit", r));
    expect(code).toBe(0);
    const down = await fetch(`${info.homeserver}/_matrix/client/versions`).then(() => false, () => true);
    expect(down).toBe(true);
  }, 360_000);
});
