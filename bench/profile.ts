// Summarise a V8 .cpuprofile (node --cpu-prof): self time by function and by
// file, the top N. The `bound` of a figure in bounds.ts quotes this output.
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/run.ts --only relay --quick
//   npx tsx bench/profile.ts /tmp/prof/CPU.*.0.001.cpuprofile [N]
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

export function summarise(p: Profile, top = 25): string {
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const n of p.nodes) {
    const t = self.get(n.id) ?? 0;
    if (!t) continue;
    const file = n.callFrame.url.replace(/^.*\/(node_modules\/|src\/|bench\/)/, "$1") || "(native)";
    const fn = `${n.callFrame.functionName || "(anonymous)"} ${file}:${n.callFrame.lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + t);
    byFile.set(file, (byFile.get(file) ?? 0) + t);
  }
  const rows = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, t]) => `${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`)
      .join("\n");
  // Inclusive time (self + callees) of each function, counted once per stack even when recursive.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const incl = new Map<string, number>();
  for (const [id, t] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      if (!n.callFrame.url.includes("/src/") && !n.callFrame.url.includes("/ws/lib/")) continue;
      const k = `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/^.*\/(node_modules\/|src\/)/, "$1")}`;
      if (!seen.has(k)) seen.add(k), incl.set(k, (incl.get(k) ?? 0) + t);
    }
  }
  return `total ${(total / 1e6).toFixed(2)} s sampled\n-- self time by function\n${rows(byFn)}\n-- self time by file\n${rows(byFile)}\n-- inclusive time, project and ws functions\n${rows(incl)}`;
}

if (process.argv[1]?.endsWith("profile.ts")) {
  const file = process.argv[2];
  if (!file) throw new Error("usage: tsx bench/profile.ts FILE.cpuprofile [N]");
  console.log(summarise(JSON.parse(readFileSync(file, "utf8")) as Profile, Number(process.argv[3] ?? 25)));
}
