// Issue 22 (a newcomer's first hour), what the CLI says: global options typed
// where users type them; refusals in the user's words (no class names of
// ours, no bare hex ids, the nearest valid value, titles checked before any
// syncing, exit 2 for bad input and 1 for a refusal). Real CLI processes.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, run, startRelayProcess, type RunResult } from "./helpers/cli.js";

/** What no member should read: our class names, and bare ids where a name exists. */
function internal(text: string): string[] {
  return [...text.matchAll(/\b[A-Z][A-Za-z]*Error\b:?|\b[0-9a-f]{12,}\b/g)].map((m) => m[0]);
}

describe("CLI: global options go anywhere", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "pursuance-usage-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("before the client's command, and before 'client' itself", async () => {
    const ada = join(dir, "ada");
    const init = await run(["client", "--home", ada, "init", "--name", "ada"]);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain(`(ada) in ${ada}`);
    // --json and --timeout=… before the command too; the home is ada's, so the answer is about her pursuance.
    const st = await run(["client", "--json", `--home=${ada}`, "--timeout", "1s", "status"]);
    expect(st.stderr).not.toMatch(/unknown command/);
    expect(st.stderr).toMatch(new RegExp(`no pursuance in ${ada}`));
    const top = await run(["--home", ada, "client", "status"]);
    expect(top.stderr).not.toMatch(/unknown command/);
    expect(top.stderr).toMatch(new RegExp(`no pursuance in ${ada}`));
    // An option that takes no command still says what is wrong.
    const bad = await run(["client", "--home", ada, "--nope", "status"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--nope/);
  });
});

describe("CLI: refusals in the user's words", () => {
  let dir: string;
  let relay: ChildProcess;
  const seen: RunResult[] = [];
  const ada = () => ["--home", join(dir, "ada"), "--timeout", "2s"];
  const say = async (args: string[]) => {
    const r = await run([...args, ...ada()]);
    seen.push(r);
    return r;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pursuance-words-"));
    const r = await startRelayProcess();
    relay = r.proc;
    await ok(["client", "init", "--name", "ada", ...ada()]);
    await ok(["client", "create", "Words", "--relay", r.url, ...ada()]);
  });
  afterAll(() => {
    relay.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("a blank title and an over-long one are refused before any syncing, naming the limit", async () => {
    const blank = await say(["client", "task", "create", "   "]);
    expect(blank.code, blank.stderr).toBe(2);
    expect(blank.stderr).toMatch(/title is empty/);
    expect(blank.stderr).not.toMatch(/syncing/);
    const long = await say(["client", "task", "create", "é".repeat(501)]);
    expect(long.code, long.stderr).toBe(2);
    expect(long.stderr).toMatch(/at most 500 characters \(this one has 501\)/);
    expect(long.stderr).not.toMatch(/syncing/);
    // 500 characters of two bytes each is a title, not an encoding error.
    const fits = await say(["client", "task", "create", "é".repeat(500)]);
    expect(fits.code, fits.stderr).toBe(0);
  });

  it("a mistyped role gets the nearest one; a rule's refusal exits 1; no class names or bare ids anywhere", async () => {
    const typo = await say(["client", "role", "grant", "ada", "admn"]);
    expect(typo.code, typo.stderr).toBe(2);
    expect(typo.stderr).toMatch(/no role named "admn"; did you mean admin\?/);
    const last = await say(["client", "relay", "remove", (JSON.parse(await ok(["client", "status", "--json", ...ada()])) as { relays: Array<{ url: string }> }).relays[0]!.url]);
    expect(last.code, last.stderr).toBe(1);
    expect(last.stderr).toMatch(/cannot remove the last relay/);
    // The rules name members by id; the member reads their names.
    const self = await say(["client", "remove", "ada"]);
    expect(self.code, self.stderr).toBe(1);
    expect(self.stderr).toMatch(/\bada\b/);
    const cmd = await say(["client", "stauts"]);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toMatch(/did you mean status\?/);
    for (const r of seen) expect(internal(r.stderr), r.stderr).toEqual([]);
  });
});
