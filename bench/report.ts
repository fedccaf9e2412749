// The metric record written to bench/results/latest.json, and the table on stdout.

/**
 * What a figure must reach: its ratio (value / side-by-side baseline) or its
 * value, compared with `n`. `{ of: "ratio", op: ">=", n: 0.7 }` reads "ratio ≥ 0.7".
 */
export interface Goal {
  of: "ratio" | "value";
  op: ">=" | "<=" | "<";
  n: number;
}

export interface Metric {
  name: string;
  /** null when it could not be measured (see note). */
  value: number | null;
  unit: string;
  /** The side-by-side baseline measured in the same run, or null. */
  baseline: number | null;
  /** value / baseline, or null. */
  ratio: number | null;
  /** What this figure must reach, when it has a target. */
  target?: Goal;
  /** Whether the target is met (null: not measured). Only present with a target. */
  met?: boolean | null;
  note?: string;
  /** What limits this figure (from a profile or a heap summary), where the target is missed. */
  bound?: string;
  /** The bench section (job) that produced it. */
  section?: string;
  /** 1/5/15-minute load averages when the figure's section ended: other work skews every number. */
  loadAverage?: number[];
}

export interface MetricExtra {
  /** A number is the usual "ratio ≥ target". */
  target?: number | Goal;
  note?: string;
  bound?: string;
}

export function goalMet(g: Goal, value: number | null, ratio: number | null): boolean | null {
  const x = g.of === "ratio" ? ratio : value;
  if (x === null || !Number.isFinite(x)) return null;
  return g.op === ">=" ? x >= g.n : g.op === "<=" ? x <= g.n : x < g.n;
}

export function goalText(g: Goal): string {
  const op = g.op === ">=" ? "≥" : g.op === "<=" ? "≤" : "<";
  return g.of === "ratio" ? `${op} ${g.n}` : `${op} ${g.n} (value)`;
}

export function metric(name: string, value: number | null, unit: string, baseline: number | null = null, extra: MetricExtra = {}): Metric {
  const ratio = value !== null && baseline !== null && baseline > 0 ? value / baseline : null;
  const target: Goal | undefined = typeof extra.target === "number" ? { of: "ratio", op: ">=", n: extra.target } : extra.target;
  return {
    name,
    value,
    unit,
    baseline,
    ratio,
    ...(target ? { target, met: goalMet(target, value, ratio) } : {}),
    ...(extra.note ? { note: extra.note } : {}),
    ...(extra.bound ? { bound: extra.bound } : {}),
  };
}

export function num(v: number | null): string {
  if (v === null) return "—";
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString("en-US");
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function targetCell(m: Metric): string {
  if (!m.target) return "";
  return `${goalText(m.target)} ${m.met === null || m.met === undefined ? "?" : m.met ? "ok" : "MISSED"}`;
}

export function table(ms: Metric[]): string {
  const rows = ms.map((m) => [
    m.name,
    num(m.value),
    m.unit,
    num(m.baseline),
    m.ratio === null ? "—" : m.ratio.toFixed(2),
    targetCell(m),
    m.loadAverage ? m.loadAverage[0]!.toFixed(2) : "",
    [m.note, m.bound ? `bound: ${m.bound}` : ""].filter(Boolean).join("; "),
  ]);
  const head = ["metric", "value", "unit", "baseline", "ratio", "target", "load", "note"];
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const right = new Set([1, 3, 4, 6]);
  const line = (r: string[]) => r.map((c, i) => (right.has(i) ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join("  ").trimEnd();
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

/** bench/results/latest.json: what ran, where, and every figure. */
export interface Results {
  /** The command line that produced these figures. */
  command: string;
  machine: {
    cpu: string;
    cores: number;
    memoryGiB: number;
    node: string;
    platform: string;
    date: string;
    size: string;
    sections: string[];
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
    seconds: number;
  };
  figures: Metric[];
}
