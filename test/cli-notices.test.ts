// A CLI member is told what is theirs without asking (issue 23): a task given
// to them, on their next sync, once (across runs: the home remembers); and
// `digest`, their open work due within 14 days and what changed since the
// last digest — never a task they may not read. Real processes, a real relay.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, startRelayProcess } from "./helpers/cli.js";

describe("CLI notices: tasks given to me, and my digest", () => {
  let dir: string;
  let relay: { url: string; proc: ChildProcess };
  const home = (n: string) => ["--home", join(dir, n), "--timeout", "4s"];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pursuance-notices-"));
    relay = await startRelayProcess();
  });
  afterAll(() => {
    relay.proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("tells a member once of a task given to them, and digests only their own readable work", async () => {
    for (const n of ["ada", "sam"]) await ok(["client", "init", "--name", n, ...home(n)]);
    await ok(["client", "create", "Open Records", "--relay", relay.url, ...home("ada")]);
    const invite = await ok(["client", "invite", "--role", "seedling", ...home("ada")]);
    await ok(["client", "join", invite, ...home("sam")]);
    await ok(["client", "sync", ...home("ada")]);
    await ok(["client", "sync", ...home("sam")]);

    await ok(["client", "task", "create", "Call the archive", "--role", "admin", "--assign", "sam", "--due", "+3d", ...home("ada")]);
    await ok(["client", "task", "create", "Admins-only planning", "--role", "admin", "--due", "+2d", ...home("ada")]);
    await ok(["client", "task", "create", "Appeal later", "--role", "admin", "--assign", "sam", "--due", "+40d", ...home("ada")]);

    const first = await ok(["client", "sync", ...home("sam")]);
    expect(first).toMatch(/^assigned to you: #1 Call the archive \(due \d{4}-\d\d-\d\d\) \[new\]$/m);
    expect(first).toMatch(/^assigned to you: #3 Appeal later/m);
    expect(first).not.toMatch(/Admins-only/);
    // Told once, across runs.
    expect(await ok(["client", "sync", ...home("sam")])).not.toMatch(/assigned to you/);
    // Due within a day: said once, on the next sync.
    await ok(["client", "task", "create", "Call the clerk", "--role", "admin", "--assign", "sam", "--due", "today", ...home("ada")]);
    const soon = await ok(["client", "sync", ...home("sam")]);
    expect(soon).toMatch(/^due within a day: #4 Call the clerk \(due \d{4}-\d\d-\d\d\) \[new\]$/m);
    expect(soon).not.toMatch(/due within a day: #1/);
    expect(await ok(["client", "sync", ...home("sam")])).not.toMatch(/due within a day/);

    const d1 = await ok(["client", "digest", ...home("sam")]);
    expect(d1).toMatch(/^due within 14d:\n(?: {2}.*\n)* {2}#1 Call the archive/m);
    expect(d1).not.toMatch(/Appeal later \(due.*\n.*changed/); // 40 days out: not due within 14d
    expect(d1).not.toMatch(/Admins-only/);
    expect(d1).toMatch(/^changed ever:/m);

    await ok(["client", "task", "comment", "#1", "the archive opens at 9", ...home("ada")]);
    const d2 = await ok(["client", "digest", ...home("sam")]);
    expect(d2).toMatch(/^changed since .* UTC:\n {2}#1 Call the archive .* — 1 comment$/m);
    expect(d2).not.toMatch(/#3 Appeal later.*comment/);
    const d3 = await ok(["client", "digest", ...home("sam")]);
    expect(d3).toMatch(/^no change on your tasks since/m);
  }, 120_000);
});
