// Issue 22 (a newcomer's first hour): the README read as a newcomer reads
// it. What a pursuance is comes before any command; the first two commands
// stay as they are; what each needs is said; Element users get a section;
// the words the rest uses are in a glossary; every `pursuance client …`
// command it names is one the CLI has.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CLIENT_COMMANDS } from "../src/cli/client-command.js";
import { COMMANDS } from "../src/cli/main.js";

const README = readFileSync(new URL("../README.md", import.meta.url), "utf8");

/** The text under a `## title` heading, up to the next heading of that level. */
function section(title: RegExp): string | null {
  const parts = README.split(/^## /m);
  const hit = parts.find((p) => title.test(p.split("\n")[0]!));
  return hit ?? null;
}

describe("README for a newcomer", () => {
  it("says what a pursuance is before the first command, and keeps the first two commands", () => {
    const firstBlock = README.indexOf("```");
    const intro = README.slice(0, firstBlock);
    expect(intro).toMatch(/A pursuance is [^.]+\.[^.]+\./);
    const blocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
    expect(blocks.slice(0, 2)).toEqual(["npm ci && npx pursuance up", "npm ci && npm test"]);
  });

  it("says what `pursuance up` and `npm test` need", () => {
    const beforeThird = README.slice(0, README.indexOf("```", README.indexOf("npm ci && npm test") + 30));
    expect(beforeThird).toMatch(/Python >= 3\.10/);
    expect(beforeThird).toMatch(/PyPI/);
    expect(beforeThird).toMatch(/PostgreSQL at 127\.0\.0\.1:5432/);
  });

  it("has a section for Element users and a glossary of the words it uses", () => {
    const element = section(/^From Element/i);
    expect(element, "a '## From Element' section").not.toBeNull();
    expect(element!).toMatch(/!pursuance create/);
    expect(element!).toMatch(/!help/);
    const glossary = section(/^Glossary/i);
    expect(glossary, "a '## Glossary' section").not.toBeNull();
    for (const term of ["relay", "role key", "seedling", "custodial", "ghost", "speaker", "state hash"])
      expect(glossary!, term).toMatch(new RegExp(`^\\* \\*\\*${term}\\*\\*[^:\\n]*: \\S`, "im"));
  });

  it("names only commands the CLI has", () => {
    for (const m of README.matchAll(/pursuance client ([a-z-]+)/g)) expect(Object.keys(CLIENT_COMMANDS), m[0]).toContain(m[1]);
    for (const m of README.matchAll(/npx pursuance ([a-z-]+)/g)) expect(Object.keys(COMMANDS), m[0]).toContain(m[1]);
  });
});
