// `pursuance backup` / `restore` for a member who holds their own keys, with
// the real CLI as processes and a real relay: a backup taken from PostgreSQL
// restores into the embedded database in another home, and that one back into
// another PostgreSQL database; the restored member catches up from the relay
// and acts, and another member sees it. A wrong passphrase, a flipped byte
// anywhere and an occupied home all fail with a clear error and write nothing.
// (PGlite opens are slow under load, so only the middle copy uses it.)
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { taskCreateBody } from "../src/pursuance/actions.js";
import { decodeInvite } from "../src/pursuance/invite.js";
import { taskView } from "../src/pursuance/views.js";
import { ok, run, startRelayProcess } from "./helpers/cli.js";
import { postgresEngine } from "./helpers/engines.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

describe("member backup and restore across data directories and databases", () => {
  let dir: string;
  let relay: { url: string; proc: ChildProcess };
  const pg = postgresEngine("backup_member");
  let db1 = "";
  let db2 = "";
  let bob: PursuanceClient | null = null;
  const pass = () => join(dir, "pass.txt");
  const home = (n: string, ...more: string[]) => ["--home", join(dir, n), ...more];
  const client = (n: string, ...more: string[]) => ["--home", join(dir, n), "--timeout", "4s", ...more];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pursuance-backup-"));
    writeFileSync(pass(), "correct horse battery staple\n", { mode: 0o600 });
    writeFileSync(join(dir, "wrong.txt"), "correct horse battery stable\n", { mode: 0o600 });
    relay = await startRelayProcess();
    for (let i = 0; i < 2; i++) {
      const { location, db } = await pg.fresh();
      await db.close();
      if (i === 0) db1 = location;
      else db2 = location;
    }
  });
  afterAll(async () => {
    bob?.close();
    relay?.proc.kill("SIGKILL");
    await pg.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const titles = async (h: string[]) => (JSON.parse(await ok(["client", "task", "list", "--json", ...h])) as Array<{ title: string }>).map((t) => t.title).sort();
  const bobTitles = () => bob!.state.taskIds.map((id) => taskView(bob!, bob!.state.tasks.get(id)!).title ?? "?").sort();

  it("restores from PostgreSQL into PGlite and back; the restored member acts and others see it", async () => {
    const ada = (...more: string[]) => client("ada", "--db", db1, ...more);
    await ok(["client", "init", "--name", "ada", ...ada()]);
    await ok(["client", "create", "Nothing Lost", "--relay", relay.url, ...ada()]);
    const invite = await ok(["client", "invite", "--role", "admin", ...ada()]);
    // Bob waits to be let in; ada's next syncs carry his request and send him the keys.
    let joined = false;
    const joining = PursuanceClient.join(await ports(), await identity(), decodeInvite(invite), "bob", { repairDelayMs: 50, syncTimeoutMs: 90_000 }).then((c) => ((joined = true), c));
    for (let i = 0; i < 6 && !joined; i++) {
      await new Promise((res) => setTimeout(res, 1000));
      await ok(["client", "sync", ...ada()]);
    }
    bob = await joining;
    await ok(["client", "task", "create", "before the backup", ...ada()]);
    await until("bob is in and reads ada's task", () => bobTitles().includes("before the backup"), [bob], 30_000);

    const file = join(dir, "ada.pbak");
    const b = await run(["backup", file, "--passphrase-file", pass(), ...home("ada", "--db", db1)]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/member ada .* written to/);
    // Sealed: neither the secret key nor a task title is readable in the file.
    const raw = readFileSync(file);
    const secret = (JSON.parse(readFileSync(join(dir, "ada", "identity.json"), "utf8")) as { secretKey: string }).secretKey;
    expect(raw.includes(secret)).toBe(false);
    expect(raw.includes("Nothing Lost")).toBe(false);
    expect(raw.subarray(0, 16).toString()).toBe("PURSUANCE-BACKUP");

    // Work goes on without ada: the restored ada must catch up on it.
    await bob.publish(taskCreateBody(bob.actor, bob.state, { text: { title: "while ada was away", deliverables: "" }, readers: ["admin"] }));
    await bob.flushed();

    // Another machine: another home, the embedded database instead of PostgreSQL.
    const r = await run(["restore", file, "--passphrase-file", pass(), ...home("ada2")]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, "ada2", "identity.json"), "utf8")).toBe(readFileSync(join(dir, "ada", "identity.json"), "utf8"));
    expect(existsSync(join(dir, "ada2", "db"))).toBe(true);
    expect(await ok(["client", "task", "create", "by the restored ada", ...client("ada2")])).toMatch(/^[0-9a-f]{64}$/);
    await until("bob sees the restored ada's task", () => bobTitles().includes("by the restored ada"), [bob], 30_000);
    expect(bobTitles()).toEqual(["before the backup", "by the restored ada", "while ada was away"]);
    // The restored ada continued her own chain: nobody flags her for equivocation.
    expect(bob.state.rejected.filter((x) => /equivoc/i.test(x.reason))).toEqual([]);

    // And back: PGlite → PostgreSQL, a third home.
    const file2 = join(dir, "ada2.pbak");
    const b2 = await run(["backup", file2, "--passphrase-file", pass(), ...home("ada2")]);
    expect(b2.code, b2.stderr).toBe(0);
    const r3 = await run(["restore", file2, "--passphrase-file", pass(), ...home("ada3", "--db", db2)]);
    expect(r3.code, r3.stderr).toBe(0);
    expect(await titles(client("ada3", "--db", db2))).toEqual(["before the backup", "by the restored ada", "while ada was away"]);

    // An identity is there already: refused without --force, replaced with it.
    const again = await run(["restore", file, "--passphrase-file", pass(), ...home("ada3", "--db", db2)]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/identity\.json already exists \(ada\).*--force/s);
    const forced = await run(["restore", file, "--passphrase-file", pass(), "--force", ...home("ada3", "--db", db2)]);
    expect(forced.code, forced.stderr).toBe(0);
    // The older backup, forced in, catches up again from the relay.
    expect(await titles(client("ada3", "--db", db2))).toEqual(["before the backup", "by the restored ada", "while ada was away"]);

    // A database already holding ada's rows (another home, same --db): refused too, nothing written.
    const sameDb = await run(["restore", file, "--passphrase-file", pass(), ...home("ada4", "--db", db1)]);
    expect(sameDb.code).toBe(2);
    expect(sameDb.stderr).toMatch(/already holds rows of member/);
    expect(existsSync(join(dir, "ada4", "identity.json"))).toBe(false);
  }, 400_000);

  it("a wrong passphrase or a flipped byte fails clearly and writes nothing", async () => {
    const file = join(dir, "ada.pbak");
    if (!existsSync(file)) return; // the first test failed before writing it
    const wrong = await run(["restore", file, "--passphrase-file", join(dir, "wrong.txt"), ...home("nobody1")]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/wrong passphrase for .*ada\.pbak; nothing was restored/);
    expect(existsSync(join(dir, "nobody1"))).toBe(false);

    const good = readFileSync(file);
    // One byte in the magic, the header's KDF cost, the salt, the ciphertext and the checksum.
    for (const at of [3, 20, 30, Math.floor(good.length / 2), good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at] = bad[at]! ^ 0x01;
      const f = join(dir, `flipped-${at}.pbak`);
      writeFileSync(f, bad);
      const target = join(dir, `nobody-${at}`);
      const r = await run(["restore", f, "--passphrase-file", pass(), "--home", target]);
      expect(r.code, `byte ${at}`).toBe(1);
      expect(r.stderr, `byte ${at}`).toMatch(at === 3 ? /is not a pursuance backup file/ : /is damaged: its checksum does not match/);
      expect(existsSync(target), `byte ${at}`).toBe(false);
    }
    // Truncated, too.
    writeFileSync(join(dir, "short.pbak"), good.subarray(0, 40));
    const short = await run(["restore", join(dir, "short.pbak"), "--passphrase-file", pass(), "--home", join(dir, "nobody-short")]);
    expect(short.stderr).toMatch(/is damaged: 40 bytes is too short/);
    expect(existsSync(join(dir, "nobody-short"))).toBe(false);

    // No passphrase source and no terminal: a usage error; a passphrase is never an argument.
    const none = await run(["restore", file, "--home", join(dir, "nobody-none")]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no passphrase: give --passphrase-file FILE or set PURSUANCE_BACKUP_PASSPHRASE/);
    expect((await run(["backup", file, "--passphrase", "x", ...home("ada")])).stderr).toMatch(/Unknown option '--passphrase'/);
  }, 120_000);
});
