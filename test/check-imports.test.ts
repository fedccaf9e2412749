// scripts/check-imports.ts, the CI step after the typecheck: it fails (exit 1,
// naming the circle) on an import circle, type-only ones included, and on an
// import of test/ from src/, bench/, scripts/ or harness/; this tree passes it.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { checkImports, specifiers } from "../scripts/check-imports.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SCRIPT = join(ROOT, "scripts/check-imports.ts");
const dirs: string[] = [];

function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "check-imports-"));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function runScript(root: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", SCRIPT, root], { cwd: ROOT, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("check-imports", () => {
  const failing: Array<[string, Record<string, string>, string[]]> = [
    [
      "a circle, a type-only one included, named (a file that only imports into it is not named)",
      {
        "src/a.ts": 'import type { B } from "./b.js";\nexport interface A { b: B }\n',
        "src/b.ts": 'import {\n  type A,\n} from "./a.js";\nexport interface B { a?: A }\n',
        "src/c.ts": 'import type { A } from "./a.js";\nexport type C = A;\n',
      },
      ["import circle: src/a.ts → src/b.ts → src/a.ts"],
    ],
    [
      "a circle made by export … from, and an import of test/",
      {
        "harness/x.ts": 'export * from "./y.js";\n',
        "harness/y.ts": 'export { x } from "./x.js";\n',
        "scripts/s.ts": 'import { helper } from "../test/helpers/h.js";\nhelper();\n',
        "test/helpers/h.ts": "export const helper = () => {};\n",
      },
      ["import circle: harness/x.ts → harness/y.ts → harness/x.ts", "import of test/: scripts/s.ts imports test/helpers/h.ts"],
    ],
    [
      "an import against the layers (a use case reaching into the bot)",
      { "src/usecases/u.ts": 'import { reply } from "../bot/reply.js";\nreply();\n', "src/bot/reply.ts": "export const reply = () => {};\n" },
      ["import across layers: src/usecases/u.ts imports src/bot/reply.ts"],
    ],
    [
      "the domain reaching for the world itself (a timer, the clock, node:events), not through its ports",
      {
        "src/pursuance/client/x.ts": '// setTimeout( in a comment is fine\nimport { EventEmitter } from "node:events";\nexport const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));\nexport const t = () => Date.now();\n',
        "src/cli/y.ts": "export const ok = () => setTimeout(() => {}, 1);\n",
      },
      [
        "impure domain: src/pursuance/client/x.ts:2 reaches for a node module",
        "impure domain: src/pursuance/client/x.ts:2 reaches for EventEmitter",
        "impure domain: src/pursuance/client/x.ts:3 reaches for a timer",
        "impure domain: src/pursuance/client/x.ts:4 reaches for the clock",
      ],
    ],
  ];
  for (const [what, files, named] of failing) {
    it(`fails on ${what}`, () => {
      const r = runScript(fixture(files));
      expect(r.code).toBe(1);
      for (const n of named) expect(r.err).toContain(n);
      expect(r.err).not.toContain("src/c.ts");
    });
  }

  it("passes a tree without circles; a commented-out import is no import", () => {
    const dir = fixture({
      "src/a.ts": '// import { b } from "./b.js";\nexport const a = 1;\n',
      "src/b.ts": 'import { a } from "./a.js";\nexport const b = a + 1;\n',
    });
    const r = runScript(dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain("no import circles");
  });

  it("allows only the listed circle, and only while nothing else joins it", () => {
    const two = { "src/p.ts": 'import "./q.js";\n', "src/q.ts": 'import "./p.js";\n' };
    expect(checkImports(fixture(two), [["src/q.ts", "src/p.ts"]]).circles).toEqual([]);
    const three = fixture({ ...two, "src/r.ts": 'import "./p.js";\n', "src/q.ts": 'import "./p.js";\nimport "./r.js";\n' });
    expect(checkImports(three, [["src/p.ts", "src/q.ts"]]).circles).toHaveLength(1);
  });

  it("reads import, import type, side-effect imports and export … from", () => {
    expect(specifiers('import a from "./a.js";\nimport type { B } from "./b.js";\nimport "./c.js";\nexport * from "./d.js";\nexport type { E } from "./e.js";\nexport const f = "./f.js";\n')).toEqual(["./a.js", "./b.js", "./c.js", "./d.js", "./e.js"]);
  });

  it("this tree has no circle but the allowed one, and no import of test/", () => {
    const r = checkImports(ROOT);
    expect(r.circles).toEqual([]);
    expect(r.testImports).toEqual([]);
    expect(r.layerImports).toEqual([]);
  });
});
