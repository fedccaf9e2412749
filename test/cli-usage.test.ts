// Issue 22 (a newcomer's first hour), what the CLI says before any relay is
// involved: global options typed where users type them. Real CLI processes.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "./helpers/cli.js";

describe("CLI: global options go anywhere", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "pursuance-usage-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("before the client's command, and before 'client' itself", async () => {
    const ada = join(dir, "ada");
    const init = await run(["client", "--home", ada, "init", "--name", "ada"]);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain(`(ada) in ${ada}`);
    // --json and --timeout=… before the command too; the home is ada's, so the answer is about her pursuance.
    const st = await run(["client", "--json", `--home=${ada}`, "--timeout", "1s", "status"]);
    expect(st.stderr).not.toMatch(/unknown command/);
    expect(st.stderr).toMatch(new RegExp(`no pursuance in ${ada}`));
    const top = await run(["--home", ada, "client", "status"]);
    expect(top.stderr).not.toMatch(/unknown command/);
    expect(top.stderr).toMatch(new RegExp(`no pursuance in ${ada}`));
    // An option that takes no command still says what is wrong.
    const bad = await run(["client", "--home", ada, "--nope", "status"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--nope/);
  });
});
