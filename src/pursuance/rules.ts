// Rules as data: roles with a rank and capabilities, the succession rule and
// the key-rotation policy. The default template is the original Pursuance
// ladder (primary > admin > recruiter > change agent > seedling).

export const CAPABILITIES = [
  "task.create",
  "task.assign",
  "task.update",
  "task.close",
  "task.comment",
  "task.archive",
  "role.grant",
  "member.invite",
  "member.remove",
  "rules.change",
  "announce",
  "keys.rotate",
  /** Change where the pursuance lives (relays.set). Rules older than it: members with rules.change. */
  "relays.change",
] as const;
export type Capability = (typeof CAPABILITIES)[number];

export interface RoleDef {
  /** Higher outranks lower; authority acts only strictly downwards. */
  rank: number;
  caps: Capability[];
  /**
   * "role": holders (and every higher-ranked member) hold this role's key and
   * read its tasks. "assigned": no role key; holders read only tasks assigned
   * to them personally (the original Pursuance's seedling).
   */
  reads: "role" | "assigned";
}

export interface Rules {
  roles: Record<string, RoleDef>;
  /**
   * Holders of `role` may move leadership by `quorum` signed votes (no single
   * leader must stay online), but only once the leader has been silent (no
   * event of theirs) for `silentAfterMs`. Optional so logs written before the
   * limit existed still decode; absent means DEFAULT_SILENT_AFTER_MS.
   */
  succession: { role: string; quorum: number; silentAfterMs?: number };
  /** Rotate every role key and the group key at least this often (ms of event time); null = only on membership change. */
  rotation: { everyMs: number | null };
  /** The largest document a task.attach may carry (files.ts); absent: DEFAULT_MAX_FILE_BYTES. */
  files?: { maxBytes: number };
  /**
   * The labels a task may carry (task.meta). Names only: which task carries
   * which label is sealed under the task's key. Absent: DEFAULT_LABELS.
   */
  labels?: string[];
}

export const LABEL_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const MAX_LABELS = 64;
export const DEFAULT_LABELS: readonly string[] = ["urgent", "blocked", "later", "question", "research", "legal", "security"];

/** The labels members may put on tasks under these rules. */
export function taskLabels(rules: Rules): readonly string[] {
  return rules.labels ?? DEFAULT_LABELS;
}

export const DEFAULT_SILENT_AFTER_MS = 14 * 86_400_000;
/** Shorter limits are allowed (tests, drills), but not so short that ordinary latency counts as silence. */
export const MIN_SILENT_AFTER_MS = 1_000;

/**
 * The role of that name, if the rules define one. Role names come from
 * events, and `roles` is a plain object: "constructor" or "__proto__" would
 * otherwise find Object.prototype's members, so only own properties count.
 */
export function roleDef(rules: Rules, name: string): RoleDef | undefined {
  return Object.hasOwn(rules.roles, name) ? rules.roles[name] : undefined;
}

/** 50 MiB: the per-file limit when the rules name none (files.ts holds the hard cap). */
export const DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024;

export function maxFileBytes(rules: Rules): number {
  return rules.files?.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
}

export function silentAfterMs(rules: Rules): number {
  return rules.succession.silentAfterMs ?? DEFAULT_SILENT_AFTER_MS;
}

export const ROLE_NAME = /^[a-z][a-z0-9 _-]{0,31}$/;

const ALL = [...CAPABILITIES];

export function defaultRules(): Rules {
  return {
    roles: {
      primary: { rank: 100, caps: ALL, reads: "role" },
      admin: { rank: 80, caps: ALL, reads: "role" },
      recruiter: {
        rank: 60,
        caps: ["member.invite", "role.grant", "task.create", "task.assign", "task.update", "task.comment", "task.close"],
        reads: "role",
      },
      "change agent": { rank: 40, caps: ["task.create", "task.update", "task.comment", "task.close"], reads: "role" },
      seedling: { rank: 20, caps: ["task.comment", "task.update"], reads: "assigned" },
    },
    succession: { role: "admin", quorum: 2, silentAfterMs: DEFAULT_SILENT_AFTER_MS },
    rotation: { everyMs: null },
  };
}

/** The highest-ranked role: what the leader holds. */
export function topRole(rules: Rules): string {
  let best: string | null = null;
  for (const [name, r] of Object.entries(rules.roles)) if (best === null || r.rank > roleDef(rules, best)!.rank || (r.rank === roleDef(rules, best)!.rank && name < best)) best = name;
  if (best === null) throw new Error("rules define no roles");
  return best;
}

/** Roles whose key a member with these roles holds: every reads:"role" role ranked at or below their highest. */
export function entitledScopes(rules: Rules, held: Iterable<string>): string[] {
  let max = -Infinity;
  for (const r of held) max = Math.max(max, roleDef(rules, r)?.rank ?? -Infinity);
  return Object.entries(rules.roles)
    .filter(([, d]) => d.reads === "role" && d.rank <= max)
    .map(([n]) => n)
    .sort();
}
