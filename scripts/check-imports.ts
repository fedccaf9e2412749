// Import hygiene, checked in CI right after the typecheck:
//   npx tsx scripts/check-imports.ts [ROOT]
// reads every .ts file under ROOT's src/, bench/, scripts/ and harness/,
// follows their relative `import … from "./x.js"`, `import type …`,
// `import "./x.js"` and `export … from "./x.js"` statements, and fails
// (exit 1) naming each import circle, each import of test/ from those
// folders (they ship or run without the tests), and each import against
// docs/DESIGN.md's layers (LAYERS below), and each place the pure domain
// (src/pursuance/) reaches for the world itself (IMPURE below) instead of
// through the ports it is given. No dependency: the
// statements are found with a regular expression over the source text.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const FOLDERS = ["src", "bench", "scripts", "harness"];

/**
 * Circles we know of and accept for now, each as its files in order (paths
 * from ROOT, any rotation). Nothing else may join this list without a reason.
 */
export const ALLOWED_CIRCLES: string[][] = [
  // None. (src/bridge/bridge.ts ↔ inbound.ts was broken by InboundHost, src/bridge/inbound-port.ts.)
];

/**
 * docs/DESIGN.md's layers, for the folders of src/ whose every import is
 * known: which folders of src/ each may import (its own always). The CLI, the
 * composition root of everything, is not checked here.
 */
export const LAYERS: Record<string, string[]> = {
  "src/cwtch": [],
  "src/pursuance": ["src/cwtch"],
  "src/usecases": ["src/pursuance", "src/cwtch"],
  "src/bot": ["src/usecases", "src/pursuance", "src/cwtch"],
  // The bridge hosts clients as the CLI does: it hands them their ports (a relay connection, crypto) and
  // seals identities with the same crypto, so it names cwtch's primitives and relay client directly.
  "src/bridge": ["src/bot", "src/usecases", "src/pursuance", "src/store", "src/cwtch"],
  // The store implements the ports the layers above define (type imports of their port files).
  "src/store": ["src/bridge", "src/pursuance", "src/cwtch"],
};

/** What src/pursuance/ may not touch itself: node's modules, timers, the clock, randomness, the process, EventEmitter. */
export const IMPURE: Array<[RegExp, string]> = [
  [/\bfrom\s+["']node:[^"']+["']|\brequire\(/, "a node module (the domain reaches the world through its ports)"],
  [/\b(?:setTimeout|setInterval|setImmediate)\s*\(/, "a timer (use the setTimer port)"],
  [/\bDate\.now\s*\(|\bnew Date\(\s*\)|\bperformance\.now\s*\(/, "the clock (use the now port, or a time passed in)"],
  [/\bMath\.random\s*\(/, "randomness (use the crypto port)"],
  [/\bprocess\./, "the process"],
  [/\bEventEmitter\b/, "EventEmitter (client/listeners.ts holds the client's listeners)"],
];
const PURE_FOLDER = "src/pursuance/";

const STATEMENT = /(?:^|[;\n}])\s*(?:import|export)\s+(?:type\s+)?(?:[^;'"]*?\s+from\s+)?["']([^"']+)["']/g;

/** The relative modules a source text names in import/export statements (comments stripped first). */
export function specifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [...code.matchAll(STATEMENT)].map((m) => m[1]!);
}

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name === "node_modules" || name.startsWith(".")) return [];
    if (statSync(p).isDirectory()) return tsFiles(p);
    return /\.(ts|mts)$/.test(name) && !name.endsWith(".d.ts") ? [p] : [];
  });
}

/** "./x.js" from a/b.ts → a/x.ts (or a/x/index.ts), as TypeScript's NodeNext resolution maps it. */
function resolveSpec(from: string, spec: string): string | null {
  if (!spec.startsWith(".")) return null;
  const base = resolve(dirname(from), spec);
  for (const cand of [base.replace(/\.js$/, ".ts"), base.replace(/\.mjs$/, ".mts"), base, `${base}.ts`, join(base, "index.ts")]) {
    if (existsSync(cand) && statSync(cand).isFile()) return cand;
  }
  return null;
}

export interface ImportReport {
  /** Each circle as its files in import order, paths from ROOT. */
  circles: string[][];
  /** For each circle, every file tangled with it (its strongly connected set). */
  tangles: string[][];
  /** Circles found but on ALLOWED_CIRCLES. */
  allowed: string[][];
  /** "scripts/x.ts imports test/helpers/y.ts". */
  testImports: string[];
  /** "src/usecases/x.ts imports src/bot/y.ts (src/usecases may import src/pursuance, src/cwtch)". */
  layerImports: string[];
  /** "src/pursuance/x.ts:12 reaches for a timer (use the setTimer port)". */
  impurities: string[];
}

function sameCircle(a: string[], b: string[]): boolean {
  return a.length === b.length && a.some((_, i) => a.every((x, j) => x === b[(i + j) % b.length]));
}

export function checkImports(root: string, allowList: string[][] = ALLOWED_CIRCLES): ImportReport {
  const rel = (p: string) => relative(root, p).split(sep).join("/");
  const files = FOLDERS.flatMap((f) => tsFiles(join(root, f)));
  const graph = new Map<string, string[]>();
  const testImports: string[] = [];
  const layerImports: string[] = [];
  const impurities: string[] = [];
  const layerOf = (p: string) => /^src\/[^/]+/.exec(rel(p))?.[0];
  for (const f of files) {
    const deps: string[] = [];
    const text = readFileSync(f, "utf8");
    if (rel(f).startsWith(PURE_FOLDER)) impurities.push(...impuritiesIn(text).map(([line, what]) => `${rel(f)}:${line} reaches for ${what}`));
    for (const spec of specifiers(text)) {
      const target = resolveSpec(f, spec);
      if (target === null) continue;
      if (rel(target).startsWith("test/")) testImports.push(`${rel(f)} imports ${rel(target)}`);
      const [from, to] = [layerOf(f), layerOf(target)];
      const may = from !== undefined ? LAYERS[from] : undefined;
      if (may && to !== undefined && to !== from && !may.includes(to)) layerImports.push(`${rel(f)} imports ${rel(target)} (${from} may import ${may.join(", ") || "nothing of ours"})`);
      deps.push(target);
    }
    graph.set(f, [...new Set(deps)]);
  }
  // Tarjan's strongly connected components; each component of 2+ files (or a file importing itself) holds a circle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const comps: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) comps.push(comp);
    }
  };
  for (const f of [...graph.keys()].sort()) if (!idx.has(f)) visit(f);
  const circles: string[][] = [];
  const tangles: string[][] = [];
  const allowed: string[][] = [];
  for (const comp of comps) {
    const circle = cycleIn(comp, graph).map(rel);
    // Allowed only when the circle is the whole tangle: a new file joining it is a new circle.
    if (comp.length === circle.length && allowList.some((a) => sameCircle(a, circle))) allowed.push(circle);
    else {
      circles.push(circle);
      tangles.push(comp.map(rel).sort());
    }
  }
  return { circles, tangles, allowed, testImports, layerImports, impurities };
}

/** Lines (1-based) of code, comments aside, that reach for what IMPURE names. */
export function impuritiesIn(text: string): Array<[number, string]> {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " ")).replace(/\/\/.*$/gm, "");
  const out: Array<[number, string]> = [];
  code.split("\n").forEach((line, i) => {
    for (const [re, what] of IMPURE) if (re.test(line)) out.push([i + 1, what]);
  });
  return out;
}

/** One circle through a component, shortest first from its first file (by name), to name it plainly. */
function cycleIn(comp: string[], graph: Map<string, string[]>): string[] {
  const inComp = new Set(comp);
  const start = [...comp].sort()[0]!;
  const prev = new Map<string, string>();
  const queue = [start];
  const seen = new Set([start]);
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!inComp.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(prev.get(path[0]!)!);
        return path;
      }
      if (!seen.has(w)) {
        seen.add(w);
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...comp].sort();
}

export function formatReport(r: ImportReport): string[] {
  return [
    ...r.circles.map((c, i) => `import circle: ${[...c, c[0]].join(" → ")}${r.tangles[i]!.length > c.length ? ` (tangled with it: ${r.tangles[i]!.filter((f) => !c.includes(f)).join(", ")})` : ""}`),
    ...r.testImports.map((t) => `import of test/: ${t}`),
    ...r.layerImports.map((t) => `import across layers: ${t}`),
    ...r.impurities.map((t) => `impure domain: ${t}`),
  ];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), ".."));
  const r = checkImports(root);
  const problems = formatReport(r);
  for (const a of r.allowed) process.stdout.write(`allowed (see ALLOWED_CIRCLES): ${[...a, a[0]].join(" → ")}\n`);
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`${p}\n`);
    process.stderr.write(`check-imports: ${problems.length} problem(s)\n`);
    process.exit(1);
  }
  process.stdout.write("check-imports: no import circles, no imports of test/, layers kept, the domain reaches the world only through its ports\n");
}
