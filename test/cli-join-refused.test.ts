// Issue 22 (a newcomer's first hour): `client join` with an invite that was
// revoked used to say "waiting…", exit 0 and leave the home belonging to a
// pursuance it never joins, so that a valid invite was then refused ("already
// belongs to a pursuance"). Now an online member's client answers a join on a
// closed invite with why; the joiner says so, exits 1, keeps nothing, and
// joins with the next invite. Real relay, real CLI processes.
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
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

  it("is told why (an unsigned answer: nothing dropped on its word), and starts over with a new key on another invite", async () => {
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
    expect(r.stderr).toMatch(/not signed/);
    expect(r.stderr).toMatch(/another invite/);
    expect(r.stdout).not.toMatch(/waiting to join/);
    // The home keeps its request (the answer could have been forged by anyone holding the rendezvous secret).
    expect(await ok(["client", "status", ...home("bob")])).toMatch(/waiting to be let in/);
    const oldId = JSON.parse(readFileSync(join(dir, "bob", "identity.json"), "utf8")).publicKey as string;

    const second = await ok(["client", "invite", ...home("ada")]);
    const joining = startCli(["client", "join", second, ...home("bob", "60s")]);
    waiting.push(joining);
    await joining.waitStderr(/starting over with a new key/);
    await joining.waitStderr(/asked to join/);
    await ok(["client", "sync", ...home("ada")]);
    const j = await joining.done;
    expect(j.code, j.stderr).toBe(0);
    expect(j.stdout).toMatch(/^joined Doors/);
    // A new member's first event, never a second one from the old key (which every client would take as equivocation).
    const newId = JSON.parse(readFileSync(join(dir, "bob", "identity.json"), "utf8")).publicKey as string;
    expect(newId).not.toBe(oldId);
    expect(existsSync(join(dir, "bob", `identity-${oldId.slice(0, 16)}.json`))).toBe(true);
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
    expect(await ok(["client", "status", ...home("cy")])).toMatch(/waiting to be let in/);
  }, 240_000);
});
