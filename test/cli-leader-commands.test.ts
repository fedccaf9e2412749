// The new `pursuance client` commands' argument checking, in process: every
// bad input is refused before any network or disk work, with exit code 2, a
// message naming the input, and the command's usage line; --help prints it.
import { describe, expect, it } from "vitest";
import { runClientCommand } from "../src/cli/client-command.js";

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  // A home that does not exist: reaching it would fail differently (exit 1), so exit 2 proves the early refusal.
  const code = await runClientCommand([...argv, "--home", "/nonexistent/pursuance-home"], { out: (l) => void out.push(l), err: (l) => void err.push(l) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const cases: Array<[string[], RegExp, RegExp]> = [
  [["rules", "policy"], /rules policy needs at least one of --succession-role, --quorum, --silent-after, --rotate-every/, /Usage: pursuance client rules \[show\] \| rules policy/],
  [["rules", "policy", "--silent-after", "500ms"], /--silent-after: "500ms" is under the minimum of 1s/, /Usage: pursuance client rules/],
  [["rules", "policy", "--silent-after", "soon"], /--silent-after: "soon" is not a duration/, /Usage: pursuance client rules/],
  [["rules", "policy", "--quorum", "two"], /--quorum: bad value "two"/, /Usage: pursuance client rules/],
  [["rules", "policy", "--rotate-every", "10s"], /--rotate-every: "10s" is under the minimum of 1m/, /Usage: pursuance client rules/],
  [["rules", "policy", "--quorom", "2"], /unknown option '--quorom'/, /Usage: pursuance client rules/],
  [["rules", "frob"], /unknown rules command "frob"/, /Usage: pursuance client rules/],
  [["leader", "vote"], /missing a member/, /Usage: pursuance client leader \[status\] \| leader vote WHO \| leader transfer WHO/],
  [["leader", "transfer"], /missing a member/, /Usage: pursuance client leader/],
  [["leader", "elect", "bob"], /unknown leader command "elect"/, /Usage: pursuance client leader/],
  [["role", "amend", "scribe"], /role amend needs at least one of --rank, --caps, --reads/, /Usage: pursuance client role .*amend NAME \[--rank N\]/],
  [["role", "amend", "scribe", "--caps", "fly"], /--caps: unknown capability "fly"/, /Usage: pursuance client role/],
  [["role", "amend", "scribe", "--reads", "all"], /--reads must be role or assigned, not "all"/, /Usage: pursuance client role/],
  [["role", "amend", "scribe", "--rank", "1001"], /--rank: bad value "1001"/, /Usage: pursuance client role/],
  [["role", "frob"], /unknown role command "frob"/, /Usage: pursuance client role .*delete NAME/],
  [["task", "retitle", "#1"], /missing the new title/, /Usage: pursuance client task .*retitle #N "<title>"/],
  [["task", "retitle", "#1", "  "], /the title is empty/, /Usage: pursuance client task/],
  [["task", "retitle", "#1", "two", "words"], /unexpected "words": quote a title with spaces/, /Usage: pursuance client task/],
  [["task", "archive"], /missing a task/, /Usage: pursuance client task .*archive #N/],
  [["keys", "rotate"], /missing a key scope/, /Usage: pursuance client keys status \| rotate SCOPE\|all/],
  [["keys", "frob"], /unknown keys command "frob"/, /Usage: pursuance client keys/],
];

describe("new CLI commands refuse bad input early, with the usage line", () => {
  for (const [argv, why, usage] of cases) {
    it(argv.join(" "), async () => {
      const r = await cli(...argv);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(why);
      expect(r.err).toMatch(usage);
    });
  }

  it("--help prints each command's usage and summary", async () => {
    for (const [cmd, usage] of [
      ["leader", /leader vote WHO \| leader transfer WHO/],
      ["rules", /rules policy \[--succession-role ROLE\] \[--quorum N\] \[--silent-after DUR\] \[--rotate-every DUR\|off\]/],
      ["role", /amend NAME .* \| delete NAME/],
      ["task", /archive #N \| retitle #N "<title>"/],
      ["keys", /rotate SCOPE\|all/],
    ] as const) {
      const r = await cli(cmd, "--help");
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: pursuance client ${cmd}`));
      expect(r.out).toMatch(usage);
    }
  });
});
