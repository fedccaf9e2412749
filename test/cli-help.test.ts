// Issue 22 (a newcomer's first hour): help that teaches. Every `pursuance
// client` command's --help lists its own options with the values they take
// and an example; a command with subcommands lists them one line each. Every
// command is run with --help through the CLI's own entry (one real process
// too, as a user runs it).
import { describe, expect, it } from "vitest";
import { CLIENT_COMMANDS, runClientCommand } from "../src/cli/client-command.js";
import { COMMANDS } from "../src/cli/main.js";
import type { Io } from "../src/cli/client-context.js";
import { run } from "./helpers/cli.js";

async function help(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = { out: (l) => void (out += l + "\n"), err: (l) => void (err += l + "\n") };
  const code = await runClientCommand(argv, io);
  return { code, out, err };
}

describe("CLI: every client command's --help", () => {
  for (const [name, cmd] of Object.entries(CLIENT_COMMANDS)) {
    it(name, async () => {
      const h = await help([name, "--help"]);
      expect(h.code).toBe(0);
      expect(h.out).toContain(`Usage: pursuance client ${name}`);
      for (const [opt, spec] of Object.entries(cmd.options ?? {})) {
        // A string option shows the value it takes (--role ROLE), a switch shows itself.
        const shown = new RegExp(`^  --${opt}${spec.type === "string" ? " \\S+" : ""}(\\s|$)`, "m");
        expect(h.out, `--${opt}`).toMatch(shown);
      }
      expect(h.out).toMatch(/^Options:$/m);
      const ex = /^Example:\n((?: {2}.+\n)+)/m.exec(h.out);
      expect(ex, h.out).not.toBeNull();
      for (const l of ex![1]!.trimEnd().split("\n")) expect(l).toMatch(new RegExp(`^  pursuance client ${name}\\b`));
      // A group: one line per subcommand, each starting with the command's name.
      const alternatives = cmd.usage.split(" | ").length;
      if (alternatives > 1) {
        const subs = /^Subcommands:\n((?: {2}.+\n)+)/m.exec(h.out);
        expect(subs, h.out).not.toBeNull();
        const lines = subs![1]!.trimEnd().split("\n");
        expect(lines).toHaveLength(alternatives);
        for (const l of lines) expect(l).toMatch(new RegExp(`^  ${name}\\b`));
      }
    });
  }

  it("as a user runs it: 'client task --help' in a real process", async () => {
    const r = await run(["client", "task", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Subcommands:\n {2}task create/m);
    expect(r.stdout).toMatch(/^ {2}--due DATE/m);
    expect(r.stdout).toMatch(/^Example:\n {2}pursuance client task /m);
  });
});

describe("CLI: every top-level command's --help, as a user runs it", () => {
  for (const name of Object.keys(COMMANDS)) {
    it(name, async () => {
      const r = await run([name, "--help"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: pursuance (client )?${name}\\b`, "m"));
      expect(r.stdout).toMatch(/^Options:/m);
      expect(r.stdout).toMatch(/^ {2}(-\w, )?--\w[\w-]*/m);
      expect(r.stdout).toMatch(new RegExp(`^Example:\n {2}pursuance (client )?${name}\\b`, "m"));
    });
  }
});
