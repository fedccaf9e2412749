// Issue 3's end-to-end proof: three members' CLI clients as real processes,
// two relays as real processes, one relay killed mid-run, a member removed
// mid-run. The remaining members converge on one state hash; the removed
// member's own client cannot read what is written after the removal.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, run, startRelayProcess } from "./helpers/cli.js";

describe("three CLI members, two relays, a relay killed and a member removed", () => {
  let dir: string;
  const relays: Array<{ url: string; proc: ChildProcess }> = [];
  const home = (n: string) => ["--home", join(dir, n), "--timeout", "4s"];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pursuance-e2e-"));
    relays.push(await startRelayProcess(), await startRelayProcess());
  });
  afterAll(() => {
    for (const r of relays) r.proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("converges, and locks the removed member out", async () => {
    for (const n of ["ada", "bob", "cat"]) await ok(["client", "init", "--name", n, ...home(n)]);
    const id = await ok(["client", "create", "Open Records", "--relay", relays[0]!.url, "--relay", relays[1]!.url, ...home("ada")]);
    expect(id).toMatch(/^[0-9a-f]{64}$/);

    const bobInvite = await ok(["client", "invite", "--role", "admin", ...home("ada")]);
    const catInvite = await ok(["client", "invite", "--role", "change agent", ...home("ada")]);
    expect(bobInvite).toMatch(/^pursuance:invite\//);
    // Keyless invites: a joiner can read nothing until a member's client lets it in. With every
    // member offline, the request waits on the relays; ada's next sync carries it and shares keys.
    expect(await ok(["client", "join", bobInvite, ...home("bob")])).toMatch(/^waiting to join Open Records/);
    expect(await ok(["client", "join", catInvite, ...home("cat")])).toMatch(/^waiting to join/);
    expect(await ok(["client", "status", ...home("bob")])).toMatch(/waiting to be let in/);
    await ok(["client", "sync", ...home("ada")]);
    await ok(["client", "sync", ...home("bob")]);
    await ok(["client", "sync", ...home("cat")]);
    const joined = JSON.parse(await ok(["client", "status", "--json", ...home("cat")])) as { members: Array<{ name: string }>; joining?: boolean };
    expect(joined.members.map((m) => m.name).sort()).toEqual(["ada", "bob", "cat"]);
    expect(joined.joining).toBeUndefined();
    // A used invite is single-use: a fourth member cannot reuse bob's; nobody carries it in.
    await ok(["client", "init", "--name", "eve", ...home("eve")]);
    expect(await ok(["client", "join", bobInvite, ...home("eve")])).toMatch(/^waiting to join/);
    await ok(["client", "sync", ...home("ada")]);
    const list = await ok(["client", "invite", "list", ...home("ada")]);
    expect(list.split("\n").filter((l) => / used /.test(l))).toHaveLength(2);
    // Expiry is set and shown; an invite is revoked by id prefix and listed as such.
    const third = await run(["client", "invite", "--role", "seedling", "--expires", "1h", ...home("ada")]);
    expect(third.code).toBe(0);
    expect(third.stderr).toMatch(/expires \d{4}-\d\d-\d\dT/);
    const open = /^([0-9a-f]{16})\s+open/m.exec(await ok(["client", "invite", "list", ...home("ada")]))![1]!;
    expect(await ok(["client", "invite", "revoke", open.slice(0, 8), ...home("ada")])).toBe(`revoked invite ${open}`);
    expect(await ok(["client", "invite", "list", ...home("ada")])).toMatch(new RegExp(`^${open}\\s+revoked`, "m"));

    const t1 = await ok(["client", "task", "create", "File FOIA request", "--role", "change agent", ...home("cat")]);
    expect(t1).toMatch(/^[0-9a-f]{64}$/);
    await ok(["client", "task", "comment", "#1", "draft attached", ...home("bob")]);

    // Kill relay 1 mid-run: everything continues through relay 2.
    relays[0]!.proc.kill("SIGKILL");
    await ok(["client", "task", "create", "Archive the PDFs", "--role", "admin", ...home("ada")]);
    const denied = await run(["client", "remove", "bob", ...home("cat")]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/lacks capability member\.remove/);

    // Remove cat mid-run; ada (highest rank) rotates the keys on her next sync.
    await ok(["client", "remove", "cat", "left the group", ...home("bob")]);
    await ok(["client", "sync", ...home("ada")]);
    const t3 = await ok(["client", "task", "create", "Post-removal plan", "--role", "change agent", ...home("ada")]);

    await ok(["client", "sync", ...home("bob")]);
    await ok(["client", "sync", ...home("ada")]);
    const st = async (n: string) => JSON.parse(await ok(["client", "status", "--json", ...home(n)])) as { stateHash: string; members: Array<{ name: string }>; rejected: number };
    const a = await st("ada");
    const b = await st("bob");
    expect(a.stateHash).toBe(b.stateHash);
    expect(a.members.map((m) => m.name).sort()).toEqual(["ada", "bob"]);

    const bobTasks = JSON.parse(await ok(["client", "task", "list", "--json", ...home("bob")])) as Array<{ id: string; title: string | null; comments: unknown[] }>;
    expect(bobTasks.find((t) => t.id === t3)?.title).toBe("Post-removal plan");
    expect(bobTasks.find((t) => t.id === t1)?.comments).toHaveLength(1);

    const catTasks = JSON.parse(await ok(["client", "task", "list", "--json", ...home("cat")])) as Array<{ id: string; title: string | null }>;
    const seen = catTasks.find((t) => t.id === t3);
    expect(seen === undefined || seen.title === null).toBe(true);
    expect(catTasks.find((t) => t.id === t1)?.title).toBe("File FOIA request");

    // The raw log verifies to the same hash on its own.
    const file = join(dir, "log.json");
    await ok(["client", "log", "export", file, ...home("ada")]);
    const v = JSON.parse(await ok(["verify", file, "--json"])) as { stateHash: string; invalid: unknown[] };
    expect(v.stateHash).toBe(a.stateHash);
    expect(v.invalid).toEqual([]);
  }, 600_000);
});
