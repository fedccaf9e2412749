// The leader's policy, once for both faces: who votes a successor and after
// how long a silence, how often keys rotate, the largest document, the labels
// tasks may carry. Flags come as typed; one parser checks them before
// anything is read or sent, and the rules judge the rest (leader only).
import { policyBody, type PolicyChange } from "../pursuance/actions-rules.js";
import type { PursuanceState } from "../pursuance/state.js";
import { publish, type Env } from "./env.js";
import { UsageError } from "./errors.js";
import { parseLabelVocabulary } from "./labels.js";
import { findRole, parseDurationAtLeast, parseIntFlag, parseSize } from "./spellings.js";

export interface PolicyOptions {
  successionRole?: string;
  quorum?: string;
  silentAfter?: string;
  /** A duration, or "off" (rotate only on membership change). */
  rotateEvery?: string;
  fileLimit?: string;
  /** "urgent,blocked,legal" */
  labels?: string;
}

export const POLICY_FLAGS = "--succession-role, --quorum, --silent-after, --rotate-every, --file-limit, --labels";

/** The flags checked (no state needed but for the role name, resolved by setPolicy). */
export function parsePolicy(o: PolicyOptions): PolicyChange {
  const c: PolicyChange = {};
  if (o.successionRole !== undefined) c.role = o.successionRole;
  if (o.quorum !== undefined) c.quorum = parseIntFlag("--quorum", o.quorum, 1, 1000);
  if (o.silentAfter !== undefined) c.silentAfterMs = parseDurationAtLeast("--silent-after", o.silentAfter, 1000);
  if (o.rotateEvery !== undefined) c.rotateEveryMs = o.rotateEvery.trim().toLowerCase() === "off" ? null : parseDurationAtLeast("--rotate-every", o.rotateEvery, 60_000);
  if (o.fileLimit !== undefined) c.fileLimitBytes = parseSize("--file-limit", o.fileLimit);
  if (o.labels !== undefined) c.labels = parseLabelVocabulary(o.labels);
  if (Object.keys(c).length === 0) throw new UsageError(`rules policy needs at least one of ${POLICY_FLAGS}`);
  return c;
}

export async function setPolicy(env: Env, o: PolicyOptions): Promise<PursuanceState> {
  const c = parsePolicy(o);
  const s = env.client.state;
  if (c.role !== undefined) c.role = findRole(s, c.role);
  await publish(env, policyBody(s, c));
  return env.client.state;
}
