// Issue 22 (a newcomer's first hour): a write made while the member's only
// relay is unreachable is either refused and not kept, or kept and queued;
// never "no relay accepted the frame" with exit 1 while the event is kept
// and posted later anyway (the member retries and gets two tasks). Through
// the CLI as a user runs it, the relay reached through a TCP door the test
// shuts and opens again on the same port, so the relay keeps what it held
// and nothing re-seeds it: only the client's own queue can bring the task.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { decodeInvite } from "../src/pursuance/invite.js";
import { ok, run, startCli, startRelayProcess } from "./helpers/cli.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

/** A TCP forwarder to `target` on a fixed port, shut and reopened at will. */
class Door {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  constructor(private readonly target: number) {}
  async open(): Promise<void> {
    const s = createServer((c) => {
      const up = createConnection(this.target, "127.0.0.1");
      this.sockets.add(c).add(up);
      c.pipe(up).pipe(c);
      const end = () => (c.destroy(), up.destroy());
      c.on("error", end).on("close", end);
      up.on("error", end).on("close", end);
    });
    await new Promise<void>((r) => s.listen(this.port, "127.0.0.1", r));
    this.port = (s.address() as { port: number }).port;
    this.server = s;
  }
  async shut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const s = this.server;
    this.server = null;
    if (s) await new Promise((r) => s.close(r));
  }
}

describe("CLI: a write while the only relay is unreachable", () => {
  let dir: string;
  const procs: ChildProcess[] = [];
  const clients: PursuanceClient[] = [];
  let door: Door;
  const ada = () => ["--home", join(dir, "ada"), "--timeout", "2s"];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "pursuance-offline-"));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const p of procs) p.kill("SIGKILL");
    await door?.shut();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is kept and says so (exit 0); it reaches the relay on the next command that does, once; concurrent and killed writes are kept too", async () => {
    const relay = await startRelayProcess();
    procs.push(relay.proc);
    door = new Door(Number(new URL(relay.url).port));
    await door.open();
    const via = `ws://127.0.0.1:${door.port}`;
    await ok(["client", "init", "--name", "ada", ...ada()]);
    await ok(["client", "create", "Offline", "--relay", via, ...ada()]);
    // Bob reads the relay directly, not through the door.
    const invite = { ...decodeInvite(await ok(["client", "invite", "--role", "admin", ...ada()])), relays: [relay.url] };
    const joining = PursuanceClient.join(await ports(), await identity(), invite, "bob", { fallbackDutyMs: 500, repairDelayMs: 50, syncTimeoutMs: 60_000 });
    await ok(["client", "sync", ...ada()]);
    const bob = await joining;
    clients.push(bob);

    await door.shut();
    const w = await run(["client", "task", "create", "x", ...ada()]);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(w.stderr).toMatch(/saved; will be sent when a relay answers/);
    expect(w.stderr).not.toMatch(/no relay accepted/);
    await bob.sync({ timeoutMs: 1_000, quietMs: 100 });
    expect(bob.state.taskIds).toHaveLength(0);

    // A status while still offline repeats it, and changes nothing.
    const st = await run(["client", "status", ...ada()]);
    expect(st.stderr).toMatch(/1 event saved here is not on any relay yet/);

    await door.open();
    const s = await run(["client", "sync", ...ada()]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).not.toMatch(/not on any relay yet/);
    await until("bob sees ada's task", () => bob.state.taskIds.length > 0, [bob], 30_000);
    expect(bob.state.taskIds).toHaveLength(1);

    // Two commands at once on one home, both offline: one waits for the other (the home's lock), so
    // neither overwrites the other's queue; and a command killed the moment it prints its task's id
    // has already kept the write. All three reach the relay on the next sync.
    await door.shut();
    const two = [startCli(["client", "task", "create", "alpha", ...ada()]), startCli(["client", "task", "create", "beta", ...ada()])];
    const [a, b] = await Promise.all(two.map((p) => p.done));
    expect(a!.code, a!.stderr).toBe(0);
    expect(b!.code, b!.stderr).toBe(0);
    const killed = startCli(["client", "task", "create", "gamma", ...ada()]);
    for (let i = 0; i < 300 && !/^[0-9a-f]{64}$/m.test(killed.stdout()); i++) await new Promise((r) => setTimeout(r, 20));
    killed.proc.kill("SIGKILL");
    await killed.done;
    const unsent = (JSON.parse(readFileSync(join(dir, "ada", "pursuance.json"), "utf8")) as { unsent?: string[] }).unsent ?? [];
    expect(unsent).toHaveLength(3);
    await door.open();
    await ok(["client", "sync", ...ada()]);
    await until("bob sees all four tasks", () => bob.state.taskIds.length === 4, [bob], 30_000);
  }, 120_000);
});
