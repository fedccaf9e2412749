// `pursuance client task attach|files|fetch` as members type them (issue 23):
// a 2 MiB file attached by one member, listed and fetched by another with
// progress on stderr; a member outside the reader role sees no name; a file
// over the limit is refused before it is read, naming its size and the limit;
// the leader sets the limit with `rules policy --file-limit`.
// Real processes, a real relay.
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, run, startRelayProcess } from "./helpers/cli.js";

describe("CLI: a task's documents", () => {
  let dir: string;
  let relay: { url: string; proc: ChildProcess };
  const home = (n: string) => ["--home", join(dir, n), "--timeout", "4s"];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pursuance-files-"));
    relay = await startRelayProcess();
  });
  afterAll(() => {
    relay.proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("attach, files and fetch between two members; a seedling sees no name; over the limit refused unread", async () => {
    for (const n of ["ada", "bob", "sam"]) await ok(["client", "init", "--name", n, ...home(n)]);
    await ok(["client", "create", "Open Records", "--relay", relay.url, ...home("ada")]);
    await ok(["client", "join", await ok(["client", "invite", "--role", "change agent", ...home("ada")]), ...home("bob")]);
    await ok(["client", "join", await ok(["client", "invite", "--role", "seedling", ...home("ada")]), ...home("sam")]);
    await ok(["client", "sync", ...home("ada")]);
    await ok(["client", "task", "create", "Budget records", "--role", "change agent", ...home("ada")]);

    const src = join(dir, "budget 2026.pdf");
    const bytes = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + (i >> 9)) & 0xff;
    writeFileSync(src, bytes);
    const a = await run(["client", "task", "attach", "#1", src, ...home("ada")]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout.trim()).toBe("attached budget 2026.pdf (2.0 MiB, 33 chunks) to #1 as file 1");
    expect(a.stderr).toMatch(/^attach budget 2026\.pdf: 50% \(\d+\/33 chunks\)$/m);
    expect(a.stderr).toMatch(/^attach budget 2026\.pdf: 100% \(33\/33 chunks\)$/m);

    expect(await ok(["client", "task", "files", "#1", ...home("bob")])).toMatch(/^1 {2}budget 2026\.pdf {2}2\.0 MiB {2}by ada {2}\d{4}-\d\d-\d\d \d\d:\d\d$/);
    expect(await ok(["client", "task", "show", "#1", ...home("bob")])).toMatch(/^ {2}file 1: budget 2026\.pdf \(2\.0 MiB, by ada\)$/m);
    const out = join(dir, "bob-copy.pdf");
    const f = await run(["client", "task", "fetch", "#1", "budget 2026.pdf", "--out", out, ...home("bob")]);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stdout.trim()).toBe(`wrote budget 2026.pdf (2.0 MiB) to ${out}`);
    expect(f.stderr).toMatch(/^fetch budget 2026\.pdf: 100% \(33\/33 chunks\)$/m);
    expect(Buffer.compare(readFileSync(out), bytes)).toBe(0);

    // Sam (seedling) reads no task not assigned to it: no name, no bytes.
    expect(await ok(["client", "task", "files", "#1", ...home("sam")])).toMatch(/^1 {2}\(encrypted: not readable with your roles\) {2}2\.0 MiB/);
    const s = await run(["client", "task", "fetch", "#1", "1", "--out", join(dir, "sam.pdf"), ...home("sam")]);
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/cannot read the files of task #1: your keys do not open it \(readers: change agent\)/);

    // 50 MiB and a byte, sparse: refused from its size, before it is read or anything is posted.
    const big = join(dir, "scan.iso");
    writeFileSync(big, "");
    truncateSync(big, 50 * 1024 * 1024 + 1);
    const b = await run(["client", "task", "attach", "#1", big, ...home("bob")]);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(`"scan.iso" is 52428801 bytes, over this pursuance's limit of 52428800 bytes (50 MiB) per file`);
    expect(await ok(["client", "task", "files", "#1", ...home("ada")])).not.toMatch(/scan\.iso/);

    // The leader lowers the limit: the rules carry it, every client refuses past it.
    await ok(["client", "rules", "policy", "--file-limit", "1MiB", ...home("ada")]);
    expect(await ok(["client", "rules", "show", ...home("bob")])).toMatch(/^documents: at most 1\.0 MiB \(1048576 bytes\) per file$/m);
    const lower = await run(["client", "task", "attach", "#1", src, ...home("bob")]);
    expect(lower.code).toBe(1);
    expect(lower.stderr).toMatch(`"budget 2026.pdf" is 2097152 bytes, over this pursuance's limit of 1048576 bytes (1 MiB) per file`);
    const tooBig = await run(["client", "rules", "policy", "--file-limit", "129MiB", ...home("ada")]);
    expect(tooBig.code).toBe(1);
    expect(tooBig.stderr).toMatch(/the file limit must be 1 to 134217728 bytes, not 135266304/);

    const bad = await run(["client", "task", "fetch", "#1", "nope.pdf", "--out", join(dir, "x"), ...home("bob")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/task #1 has no file "nope\.pdf" \(files: 1: budget 2026\.pdf\)/);
  }, 180_000);
});
