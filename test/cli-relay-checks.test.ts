// Issue 22 (a newcomer's first hour), relays that do not answer, through the
// CLI as a user runs it: `relay add` of an address where nothing listens is
// refused naming the URL and what happened (or added on purpose with
// --force, saying it does not answer); `create` on such an address says the
// connection was refused instead of waiting out a deadline of its own, and a
// relay that accepts the connection but never greets is given --timeout.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { ok, run, startRelayProcess } from "./helpers/cli.js";

const DEAD = "ws://127.0.0.1:1";

describe("CLI: relays that do not answer", () => {
  let dir: string;
  const procs: ChildProcess[] = [];
  let mute: Server;
  let muteUrl: string;
  const home = (n: string) => ["--home", join(dir, n), "--timeout", "2s"];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pursuance-relaycheck-"));
    // A WebSocket server that accepts and never says a word: no relay, yet no refusal either.
    mute = createServer();
    new WebSocketServer({ server: mute });
    await new Promise<void>((r) => mute.listen(0, "127.0.0.1", r));
    muteUrl = `ws://127.0.0.1:${(mute.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    for (const p of procs) p.kill("SIGKILL");
    mute.closeAllConnections();
    mute.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("relay add refuses an address where nothing listens, naming it and why; --force adds it, saying it does not answer", async () => {
    const r1 = await startRelayProcess();
    procs.push(r1.proc);
    await ok(["client", "init", "--name", "ada", ...home("ada")]);
    await ok(["client", "create", "Checks", "--relay", r1.url, ...home("ada")]);

    const refused = await run(["client", "relay", "add", DEAD, ...home("ada")]);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stdout).not.toMatch(/added/);
    expect(refused.stderr).toContain(DEAD);
    expect(refused.stderr).toMatch(/connection refused/);
    expect(refused.stderr).toMatch(/--force/);
    // Nothing changed: the pursuance still lives on its one relay only.
    const st = JSON.parse(await ok(["client", "status", "--json", ...home("ada")])) as { relays: Array<{ url: string }> };
    expect(st.relays.map((r) => r.url)).toEqual([r1.url]);

    const forced = await run(["client", "relay", "add", DEAD, "--force", ...home("ada")]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).not.toMatch(/re-posted/);
    expect(forced.stdout).toMatch(new RegExp(`^added ${DEAD}; it does not answer now \\(connection refused`));
    const st2 = JSON.parse(await ok(["client", "status", "--json", ...home("ada")])) as { relays: Array<{ url: string }> };
    expect(st2.relays.map((r) => r.url).sort()).toEqual([r1.url, DEAD].sort());
  });

  it("create on a refused address says so, naming the URL once, and keeps no pursuance", async () => {
    await ok(["client", "init", "--name", "bob", ...home("bob")]);
    const r = await run(["client", "create", "Nowhere", "--relay", DEAD, "--home", join(dir, "bob"), "--timeout", "3s"]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/connection refused/);
    expect(r.stderr.split(DEAD).length - 1).toBe(1);
    expect(r.stderr).not.toMatch(/30000 ms|30 s/);
    // The home is free for another try.
    const st = await run(["client", "status", "--home", join(dir, "bob")]);
    expect(st.stderr).toMatch(/no pursuance in/);
  });

  it("create on a relay that never greets gives up at --timeout, saying so", async () => {
    await ok(["client", "init", "--name", "cat", ...home("cat")]);
    const r = await run(["client", "create", "Mute", "--relay", muteUrl, "--home", join(dir, "cat"), "--timeout", "1s"]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(muteUrl);
    expect(r.stderr).toMatch(/no greeting within 1 s/);
  });
});
