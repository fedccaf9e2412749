// The bench at its tiny size (`npm run bench -- --tiny`), so a job that breaks
// fails `npm test` instead of rotting unnoticed (the relay section once died
// on its first frame for months: `8 << 30` is 0 in JavaScript). Every section
// must complete and write its JSON with a number for every figure. No timing
// is asserted here: timing targets live in the bench only.
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { Results } from "../bench/report.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TSX = join(ROOT, "node_modules", ".bin", "tsx");
const SECTIONS = ["relay", "abuse", "pipeline", "joins", "fold", "coldload", "bridge", "bridge-e2ee", "relocate", "files", "soak", "orders"];
const dir = mkdtempSync(join(tmpdir(), "pursuance-bench-smoke-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tsx(script: string, args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((res) => {
    const child = spawn(TSX, [script, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => res({ code, stdout, stderr }));
  });
}

describe("bench smoke (--tiny)", () => {
  it("runs every job and writes latest.json with a number for every figure", async () => {
    const r = await tsx("bench/run.ts", ["--tiny", "--results", dir]);
    expect(r.code, `bench exited ${r.code}\n${r.stderr.slice(-4000)}`).toBe(0);
    const out = JSON.parse(readFileSync(join(dir, "latest.json"), "utf8")) as Results;
    expect(out.machine.size).toBe("tiny");
    expect(out.machine.cores).toBeGreaterThan(0);
    expect(out.machine.loadAverageAtStart).toHaveLength(3);
    expect(out.command).toContain("--tiny");
    const missing = out.figures.filter((m) => typeof m.value !== "number" || !Number.isFinite(m.value));
    expect(missing.map((m) => `${m.name}: ${m.note ?? ""}`)).toEqual([]);
    // A figure with a baseline or a target is a ratio: it must have one too.
    const noRatio = out.figures.filter((m) => (m.baseline !== null || m.target?.of === "ratio") && (typeof m.ratio !== "number" || !Number.isFinite(m.ratio)));
    expect(noRatio.map((m) => m.name)).toEqual([]);
    for (const m of out.figures) expect(m.loadAverage, m.name).toHaveLength(3);
    const seen = new Set(out.figures.map((m) => m.section));
    expect(SECTIONS.filter((s) => !seen.has(s))).toEqual([]);

    // The README's Performance table is generated from these results, on a copy of README.md.
    const readme = join(dir, "README.md");
    copyFileSync(join(ROOT, "README.md"), readme);
    const w = await tsx("bench/readme.ts", ["--results", dir, "--readme", readme]);
    expect(w.code, w.stderr).toBe(0);
    const text = readFileSync(readme, "utf8");
    expect(text).toContain("npm run bench -- --tiny");
    expect(text).toContain(`${out.machine.cores} cores`);
    for (const f of out.figures.filter((m) => m.target)) expect(text).toContain(`| ${f.name} |`);
    expect(text.match(/performance:begin/g)).toHaveLength(1);
  }, 480_000);
});
