// Issue 9 through the CLI, as a user would run it (real processes, real
// relays): every relay of a pursuance is lost; its founder rebuilds it on a
// new relay from her own copy with `pursuance client relay recover`; a member
// told the address by hand follows the log's relays.set, and both go on.
// Before the loss, a `relay move` that the online member follows.
// (The member is a library client: CLI processes cost seconds each, and the
// offline-member move is covered over real relays in relay-move.test.ts.)
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { decodeInvite } from "../src/pursuance/invite.js";
import { ok, run, startRelayProcess } from "./helpers/cli.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

describe("CLI: a relay move, then total loss of every relay, recovered from one member's copy", () => {
  let dir: string;
  const procs: ChildProcess[] = [];
  const clients: PursuanceClient[] = [];
  const ada = () => ["--home", join(dir, "ada"), "--timeout", "2s"];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "pursuance-recover-"));
  });
  afterAll(() => {
    for (const c of clients) c.close();
    for (const p of procs) p.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("recovers onto a new relay; the others converge on it once told its address, and keep working", async () => {
    const r1 = await startRelayProcess();
    procs.push(r1.proc);
    await ok(["client", "init", "--name", "ada", ...ada()]);
    await ok(["client", "create", "Movers", "--relay", r1.url, ...ada()]);
    const invite = decodeInvite(await ok(["client", "invite", "--role", "admin", ...ada()]));
    // Bob asks to join; ada's next sync lets him in.
    const joining = PursuanceClient.join(await ports(), await identity(), invite, "bob", { fallbackDutyMs: 500, repairDelayMs: 50, syncTimeoutMs: 60_000 });
    await ok(["client", "sync", ...ada()]);
    const bob = await joining;
    clients.push(bob);
    await bob.publish({ t: "announce", text: "before the loss" });

    // First a move, while bob is online: ada's copy goes to the new relay, the notice to both.
    const rm = await startRelayProcess();
    procs.push(rm.proc);
    const moved = await run(["client", "relay", "move", rm.url, ...ada()]);
    expect(moved.code, moved.stderr).toBe(0);
    const mm = new RegExp(`^moved to ${rm.url}: re-posted (\\d+) frames; the notice is on 2 relays`).exec(moved.stdout);
    expect(mm, moved.stdout).not.toBeNull();
    expect(moved.stderr).toContain(`re-posting to ${rm.url}: ${mm![1]} of ${mm![1]} frames`);
    await until("bob follows the move", () => bob.group.relayUrls.join() === rm.url, [bob], 30_000);

    // Total loss: every relay dies with everything it held; bob loses his connection and keeps retrying.
    r1.proc.kill("SIGKILL");
    rm.proc.kill("SIGKILL");
    const r2 = await startRelayProcess();
    procs.push(r2.proc);

    const rec = await run(["client", "relay", "recover", r2.url, ...ada()]);
    expect(rec.code, rec.stderr).toBe(0);
    // It says plainly that no relay answers, rebuilds with progress, and names the new relay for everyone.
    expect(rec.stderr).toMatch(/no relay reachable \(ws:\/\/[^)]+\); working from the local copy \(\d+ events\), retrying/);
    const m = new RegExp(`^recovered (\\d+) events onto ${r2.url}; every member who reaches it follows \\(relays\\.set [0-9a-f]{64}\\)$`).exec(rec.stdout.trim());
    expect(m, rec.stdout).not.toBeNull();
    const n = Number(m![1]);
    expect(n).toBeGreaterThanOrEqual(3); // genesis, invite, bob's join (bob's later work is only in bob's copy)
    expect(rec.stderr).toContain(`re-posting to ${r2.url}: ${n} of ${n} frames`);

    // Bob is told the address by hand; the log's relays.set does the rest.
    await bob.useRelay(r2.url);
    await until("bob follows the recovery", () => bob.relays.join() === r2.url && bob.group.relayUrls.join() === r2.url, [bob], 30_000);
    expect(bob.state.announcements.map((a) => a.text)).toEqual(["before the loss"]);
    await bob.publish({ t: "announce", text: "after the loss" });
    await until("ada's copy on the relay", () => bob.session.log.size > n, [bob], 30_000);

    // Ada's CLI now lives on the new relay, sees bob's new work, and holds bob's state.
    const st = JSON.parse(await ok(["client", "status", "--json", ...ada()])) as { stateHash: string; relays: Array<{ url: string; connected: boolean }> };
    expect(st.relays.map((r) => r.url)).toEqual([r2.url]);
    await bob.sync({ timeoutMs: 3_000, quietMs: 300 });
    expect(st.stateHash).toBe(bob.hash());
    expect(bob.state.announcements.length).toBe(2);
  }, 150_000); // ~30 s on an idle machine; CLI processes take seconds each under load
});
