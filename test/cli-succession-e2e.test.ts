// Issue 7's end-to-end proof of succession, through the real CLI as separate
// processes and a real relay process: ada founds, bob and dan are admins (the
// succession role, quorum 2), cat a change agent. Ada writes a task only the
// top role reads, sets a 2 s silence limit, and stops. A vote before the limit
// is refused; after it, both admins vote dan in; dan then holds the top role's
// keys (from the escrow shares in the votes: nobody online held them), reads
// ada's task, removes cat and rotates every key; everyone left agrees on the state.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, run, startRelayProcess } from "./helpers/cli.js";

interface Status {
  stateHash: string;
  leader: string;
  me: string;
  members: Array<{ id: string; name: string; roles: string[] }>;
}

describe("succession through the CLI when the leader goes silent", () => {
  let dir: string;
  let relay: { url: string; proc: ChildProcess };
  const home = (n: string) => ["--home", join(dir, n), "--timeout", "4s"];
  const status = async (n: string) => JSON.parse(await ok(["client", "status", "--json", ...home(n)])) as Status;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pursuance-succession-"));
    relay = await startRelayProcess();
  });
  afterAll(() => {
    relay?.proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("crowns a successor by vote, who gets the top keys, removes a member and rotates; all agree", async () => {
    for (const n of ["ada", "bob", "dan", "cat"]) await ok(["client", "init", "--name", n, ...home(n)]);
    await ok(["client", "create", "Open Records", "--relay", relay.url, ...home("ada")]);
    for (const [n, role] of [["bob", "admin"], ["dan", "admin"], ["cat", "change agent"]] as const) {
      await ok(["client", "join", await ok(["client", "invite", "--role", role, ...home("ada")]), ...home(n)]);
    }
    // Ada sees the joins: her client shares keys and escrows the top role's keys among the two admins.
    await ok(["client", "rules", "policy", "--succession-role", "admin", "--quorum", "2", "--silent-after", "1m", ...home("ada")]);
    const secret = await ok(["client", "task", "create", "Top secret plan", "--role", "primary", ...home("ada")]);
    const rules = JSON.parse(await ok(["client", "rules", "--json", ...home("ada")])) as { succession: unknown; escrow: { threshold: number; holders: number } | null };
    expect(rules.succession).toEqual({ role: "admin", quorum: 2, silentAfterMs: 60_000 });
    expect(rules.escrow).toMatchObject({ threshold: 2, holders: 2 });

    // Too early: ada was heard from seconds ago.
    const early = await run(["client", "leader", "vote", "dan", ...home("bob")]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/succession needs 1 min of silence/);
    const nobody = await run(["client", "leader", "vote", "nobody", ...home("bob")]);
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toMatch(/no member "nobody"[\s\S]*Usage: pursuance client leader/);
    const bobView = JSON.parse(await ok(["client", "task", "show", secret.slice(0, 12), "--json", ...home("bob")])) as { title: string | null };
    expect(bobView.title).toBeNull(); // an admin does not read the top role's tasks

    // Ada's last act: a 2 s limit. Then she is silent: no process of hers runs from here.
    await ok(["client", "rules", "policy", "--silent-after", "2s", ...home("ada")]);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await ok(["client", "leader", "vote", "dan", ...home("bob")])).toBe("voted for dan (1 of 2 votes)");
    expect(await ok(["client", "leader", "vote", "dan", ...home("dan")])).toBe("dan is now the leader");

    // Dan holds the top role's keys at once, and reads what only the top role could.
    const keys = JSON.parse(await ok(["client", "keys", "status", "--json", ...home("dan")])) as Array<{ scope: string; held: boolean }>;
    expect(keys.find((k) => k.scope === "primary")?.held).toBe(true);
    const danView = JSON.parse(await ok(["client", "task", "show", secret.slice(0, 12), "--json", ...home("dan")])) as { title: string | null };
    expect(danView.title).toBe("Top secret plan");

    // The new leader acts with full authority: removes cat, rotates every key it holds.
    expect(await ok(["client", "remove", "cat", "inactive", ...home("dan")])).toBe("removed cat");
    const rotated = await ok(["client", "keys", "rotate", "all", ...home("dan")]);
    expect(rotated).toMatch(/rotated "primary"/);
    expect(rotated).toMatch(/rotated "group"/);

    for (const n of ["ada", "bob", "dan"]) await ok(["client", "sync", ...home(n)]);
    const [a, b, d] = [await status("ada"), await status("bob"), await status("dan")];
    expect(b.stateHash).toBe(d.stateHash);
    expect(a.stateHash).toBe(d.stateHash);
    expect(d.leader).toBe(d.me);
    expect(d.members.map((m) => m.name).sort()).toEqual(["ada", "bob", "dan"]);
    expect(d.members.find((m) => m.name === "dan")?.roles).toEqual(["admin", "primary"]);
    // Ada's own client, back online, sees she no longer leads and still reads the rotated top key (she is still primary).
    expect(a.leader).toBe(d.me);
  }, 600_000);
});
