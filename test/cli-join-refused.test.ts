// Issue 22 (a newcomer's first hour): `client join` with an invite that was
// revoked used to say "waiting…", exit 0 and leave the home belonging to a
// pursuance it never joins, so that a valid invite was then refused ("already
// belongs to a pursuance"). Now an online member's client answers a join on a
// closed invite with why; the joiner says so, exits 1, keeps nothing, and
// joins with the next invite. Real relay, real CLI processes.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, run, startCli, startRelayProcess, type CliProcess } from "./helpers/cli.js";

describe("CLI: a join with a revoked invite", () => {
  let dir: string;
  const procs: ChildProcess[] = [];
  const waiting: CliProcess[] = [];
  const home = (n: string, t = "3s") => ["--home", join(dir, n), "--timeout", t];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "pursuance-joinrefused-"));
  });
  afterAll(() => {
    for (const w of waiting) w.proc.kill("SIGKILL");
    for (const p of procs) p.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("is told why, keeps nothing, and joins with another invite", async () => {
    const relay = await startRelayProcess();
    procs.push(relay.proc);
    await ok(["client", "init", "--name", "ada", ...home("ada")]);
    await ok(["client", "init", "--name", "bob", ...home("bob")]);
    await ok(["client", "create", "Doors", "--relay", relay.url, ...home("ada")]);
    const first = await ok(["client", "invite", ...home("ada")]);
    const id = /^([0-9a-f]{16})\s+open/m.exec(await ok(["client", "invite", "list", ...home("ada")]))![1]!;
    await ok(["client", "invite", "revoke", id, ...home("ada")]);

    const refused = startCli(["client", "join", first, ...home("bob", "60s")]);
    waiting.push(refused);
    await refused.waitStderr(/asked to join/);
    await ok(["client", "sync", ...home("ada")]);
    const r = await refused.done;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/refused: this invite was revoked/);
    expect(r.stderr).toMatch(/another invite/);
    expect(r.stdout).not.toMatch(/waiting to join/);
    const st = await run(["client", "status", ...home("bob")]);
    expect(st.stderr).toMatch(/no pursuance in/);

    const second = await ok(["client", "invite", ...home("ada")]);
    const joining = startCli(["client", "join", second, ...home("bob", "60s")]);
    waiting.push(joining);
    await joining.waitStderr(/asked to join/);
    await ok(["client", "sync", ...home("ada")]);
    const j = await joining.done;
    expect(j.code, j.stderr).toBe(0);
    expect(j.stdout).toMatch(/^joined Doors/);
  }, 240_000);

  it("a home that asked while no member was online hears why at its next sync", async () => {
    const relay = await startRelayProcess();
    procs.push(relay.proc);
    await ok(["client", "init", "--name", "ann", ...home("ann")]);
    await ok(["client", "init", "--name", "cy", ...home("cy")]);
    await ok(["client", "create", "Later", "--relay", relay.url, ...home("ann")]);
    const inv = await ok(["client", "invite", ...home("ann")]);
    const id = /^([0-9a-f]{16})\s+open/m.exec(await ok(["client", "invite", "list", ...home("ann")]))![1]!;
    await ok(["client", "invite", "revoke", id, ...home("ann")]);
    // Nobody online: it waits, as before, and the home keeps the request.
    expect(await ok(["client", "join", inv, ...home("cy", "2s")])).toMatch(/^waiting to join Later/);
    await ok(["client", "sync", ...home("ann")]);
    const s = await run(["client", "sync", ...home("cy")]);
    expect(s.code, s.stderr).toBe(1);
    expect(s.stderr).toMatch(/refused: this invite was revoked/);
    const st = await run(["client", "status", ...home("cy")]);
    expect(st.stderr).toMatch(/no pursuance in/);
  }, 240_000);
});
