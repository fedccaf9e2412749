// Body builders for the rules and leadership: succession and rotation policy,
// amending and deleting roles, handing leadership over, and archiving tasks.
// Like actions.ts they refuse early when the result would surely be
// rejected; the fold still decides.
import { ActionError } from "./actions.js";
import type { Body } from "./events.js";
import { MAX_FILE_BYTES } from "./files.js";
import { CAPABILITIES, MIN_SILENT_AFTER_MS, silentAfterMs, type Capability, type RoleDef, roleDef } from "./rules.js";
import type { PursuanceState, Task } from "./state.js";

export interface PolicyChange {
  /** Succession role and quorum; omitted fields keep their current value. */
  role?: string;
  quorum?: number;
  silentAfterMs?: number;
  /** null: rotate only on membership change. */
  rotateEveryMs?: number | null;
  /** The label vocabulary (checked names, see labels.ts in the use cases). */
  labels?: string[];
  /** The largest document a task.attach may carry (files.ts), bytes. */
  fileLimitBytes?: number;
}

/** A rules.policy from the current policy with these changes; only the parts that change are sent. */
export function policyBody(s: PursuanceState, c: PolicyChange): Body {
  const b: Body = { t: "rules.policy" };
  if (c.role !== undefined || c.quorum !== undefined || c.silentAfterMs !== undefined) {
    const role = c.role ?? s.rules.succession.role;
    if (!roleDef(s.rules, role)) throw new ActionError(`no role named "${role}" (roles: ${Object.keys(s.rules.roles).join(", ")})`, role);
    const quorum = c.quorum ?? s.rules.succession.quorum;
    if (!Number.isInteger(quorum) || quorum < 1 || quorum > 1000) throw new ActionError(`quorum must be a whole number 1..1000, not ${quorum}`, quorum);
    const silent = c.silentAfterMs ?? silentAfterMs(s.rules);
    if (!Number.isInteger(silent) || silent < MIN_SILENT_AFTER_MS) throw new ActionError(`the silence limit must be at least ${MIN_SILENT_AFTER_MS} ms, not ${silent}`, silent);
    b.succession = { role, quorum, silentAfterMs: silent };
  }
  if (c.rotateEveryMs !== undefined) {
    if (c.rotateEveryMs !== null && (!Number.isInteger(c.rotateEveryMs) || c.rotateEveryMs < 60_000)) throw new ActionError(`rotation interval must be at least 60000 ms, not ${c.rotateEveryMs}`, c.rotateEveryMs);
    b.rotation = { everyMs: c.rotateEveryMs };
  }
  if (c.fileLimitBytes !== undefined) {
    if (!Number.isSafeInteger(c.fileLimitBytes) || c.fileLimitBytes < 1 || c.fileLimitBytes > MAX_FILE_BYTES) throw new ActionError(`the file limit must be 1 to ${MAX_FILE_BYTES} bytes, not ${c.fileLimitBytes}`, c.fileLimitBytes);
    b.files = { maxBytes: c.fileLimitBytes };
  }
  if (c.labels !== undefined) b.labels = [...new Set(c.labels)].sort();
  if (!b.succession && !b.rotation && !b.files && !b.labels) throw new ActionError("nothing to change: give a succession role, quorum, silence limit, rotation interval, file limit or labels");
  return b;
}

export interface RolePatch {
  rank?: number;
  caps?: string[];
  reads?: string;
}

/** role.amend: the current definition with these fields replaced. */
export function roleAmendBody(s: PursuanceState, role: string, p: RolePatch): Body {
  const cur: RoleDef | undefined = roleDef(s.rules, role);
  if (!cur) throw new ActionError(`no role named "${role}" (roles: ${Object.keys(s.rules.roles).join(", ")})`, role);
  if (p.rank === undefined && p.caps === undefined && p.reads === undefined) throw new ActionError("nothing to change: give a rank, capabilities or reads");
  for (const c of p.caps ?? []) if (!(CAPABILITIES as readonly string[]).includes(c)) throw new ActionError(`unknown capability ${JSON.stringify(c)} (known: ${CAPABILITIES.join(", ")})`, c);
  if (p.reads !== undefined && p.reads !== "role" && p.reads !== "assigned") throw new ActionError(`reads must be role or assigned, not ${JSON.stringify(p.reads)}`, p.reads);
  if (p.rank !== undefined && (!Number.isInteger(p.rank) || p.rank < 0 || p.rank > 1000)) throw new ActionError(`rank must be a whole number 0..1000, not ${p.rank}`, p.rank);
  const def: RoleDef = {
    rank: p.rank ?? cur.rank,
    caps: [...new Set((p.caps ?? cur.caps) as Capability[])].sort(),
    reads: (p.reads ?? cur.reads) as RoleDef["reads"],
  };
  return { t: "role.amend", role, def };
}

export function roleDeleteBody(s: PursuanceState, role: string): Body {
  if (!roleDef(s.rules, role)) throw new ActionError(`no role named "${role}" (roles: ${Object.keys(s.rules.roles).join(", ")})`, role);
  if (s.rules.succession.role === role) throw new ActionError(`role "${role}" is the succession role: change the succession policy first`, role);
  return { t: "role.delete", role };
}

export function transferBody(s: PursuanceState, to: string): Body {
  if (!s.members.has(to)) throw new ActionError(`not a member: ${to}`, to);
  if (s.leader === to) throw new ActionError("they are already the leader", to);
  return { t: "leader.transfer", to };
}

export function archiveBody(t: Task): Body {
  if (t.archived) throw new ActionError(`task #${t.num} is already archived`, t.id);
  return { t: "task.archive", task: t.id };
}

