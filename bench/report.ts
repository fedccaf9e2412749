// The metric record written to bench/results/latest.json, and the table on stdout.

export interface Metric {
  name: string;
  /** null when it could not be measured (see note). */
  value: number | null;
  unit: string;
  /** The side-by-side baseline measured in the same run, or null. */
  baseline: number | null;
  /** value / baseline, or null. */
  ratio: number | null;
  /** Lowest acceptable ratio, when there is a target. */
  target?: number;
  note?: string;
}

export function metric(name: string, value: number | null, unit: string, baseline: number | null = null, extra: { target?: number; note?: string } = {}): Metric {
  const ratio = value !== null && baseline !== null && baseline > 0 ? value / baseline : null;
  return { name, value, unit, baseline, ratio, ...(extra.target !== undefined ? { target: extra.target } : {}), ...(extra.note ? { note: extra.note } : {}) };
}

function num(v: number | null): string {
  if (v === null) return "—";
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString("en-US");
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function table(ms: Metric[]): string {
  const rows = ms.map((m) => [
    m.name,
    num(m.value),
    m.unit,
    num(m.baseline),
    m.ratio === null ? "—" : m.ratio.toFixed(2),
    m.target === undefined ? "" : m.ratio === null ? `≥${m.target} ?` : `≥${m.target} ${m.ratio >= m.target ? "ok" : "MISSED"}`,
    m.note ?? "",
  ]);
  const head = ["metric", "value", "unit", "baseline", "ratio", "target", "note"];
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const right = new Set([1, 3, 4]);
  const line = (r: string[]) => r.map((c, i) => (right.has(i) ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join("  ").trimEnd();
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}
