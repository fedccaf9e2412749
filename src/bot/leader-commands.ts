// `!rules policy` and `!leader …`: the succession and rotation policy, and
// moving leadership — handed over by the leader, or voted by a quorum of the
// succession role once the leader has been silent past the policy's limit.
// The rules decide every one of these (publish's dry run); help hides them
// from who could not.
import { policyBody, type PolicyChange } from "../pursuance/actions-rules.js";
import { silentAfterMs, taskLabels } from "../pursuance/rules.js";
import { parseLabelVocabulary } from "../usecases/labels.js";
import type { PursuanceState } from "../pursuance/state.js";
import { memberName } from "../pursuance/views.js";
import type { BoundHandler } from "./command-spec.js";
import { done, html, okLines } from "./reply.js";
import { publish } from "../usecases/env.js";
import { SpellingError, UsageError } from "../usecases/errors.js";
import { transferLeadership, voteForLeader } from "../usecases/leadership.js";
import { durationMs, durationText, findRole } from "../usecases/spellings.js";

/** "30s", "12h", "14d", "2w" → ms, at least minMs (the shared grammar; this wording is the bot's). */
export function parseDurationRef(flag: string, ref: string, minMs: number): number {
  const ms = durationMs(ref);
  if (ms === null) throw new SpellingError(`--${flag}: ${JSON.stringify(ref)} is not a duration (use e.g. 30s, 12h, 14d, 2w)`, "duration", ref, `--${flag}`);
  if (ms < minMs) throw new SpellingError(`--${flag}: ${JSON.stringify(ref)} is under the minimum of ${durationText(minMs)}`, "duration", ref, `--${flag}`);
  return ms;
}

export function successionText(s: PursuanceState): string {
  return `${s.rules.succession.quorum} holder(s) of ${s.rules.succession.role} may move leadership after ${durationText(silentAfterMs(s.rules))} of the leader's silence`;
}

/** Who may vote (help visibility): holders of the succession role. */
export const mayVote = (s: PursuanceState, me: string): string | null =>
  s.members.get(me)?.roles.has(s.rules.succession.role) ? null : `only holders of "${s.rules.succession.role}" vote on succession`;
export const mayTransfer = (s: PursuanceState, me: string): string | null => (s.leader === me ? null : "only the leader hands leadership over");

export const rulesPolicy: BoundHandler = async (inv, ctx) => {
  const s = ctx.client.state;
  const c: PolicyChange = {};
  const role = inv.flag("succession-role");
  if (role !== undefined) c.role = findRole(s, role);
  const q = inv.flag("quorum");
  if (q !== undefined) {
    if (!/^\d{1,4}$/.test(q.trim()) || Number(q) < 1 || Number(q) > 1000) throw new UsageError(`--quorum: ${JSON.stringify(q)} is not a whole number 1..1000`);
    c.quorum = Number(q);
  }
  const silent = inv.flag("silent-after");
  if (silent !== undefined) c.silentAfterMs = parseDurationRef("silent-after", silent, 1000);
  const rot = inv.flag("rotate-every");
  if (rot !== undefined) c.rotateEveryMs = rot.trim().toLowerCase() === "off" ? null : parseDurationRef("rotate-every", rot, 60_000);
  const labels = inv.flag("labels");
  if (labels !== undefined) c.labels = parseLabelVocabulary(labels);
  if (Object.keys(c).length === 0) throw new UsageError("give at least one of --succession-role, --quorum, --silent-after, --rotate-every, --labels");
  await publish(ctx, policyBody(s, c));
  const now = ctx.client.state;
  const rotation = now.rules.rotation.everyMs === null ? "on membership change only" : `at least every ${durationText(now.rules.rotation.everyMs)}`;
  const labelLine = labels !== undefined ? `; task labels: ${taskLabels(now.rules).join(", ") || "none"}` : "";
  return done(`policy set: ${successionText(now)}; key rotation ${rotation}${labelLine}`, html`policy set: ${successionText(now)}; key rotation ${rotation}${labelLine}`);
};

export const leaderStatus: BoundHandler = async (_inv, ctx) => {
  const s = ctx.client.state;
  const last = s.leader ? s.lastSeen.get(s.leader) : undefined;
  const lines = [
    `leader: ${s.leader ? memberName(s, s.leader) : "nobody"}${last !== undefined ? `, last heard from ${new Date(last).toISOString()}` : ""}`,
    `succession: ${successionText(s)}`,
    ...[...s.votes.entries()].map(([cand, v]) => `votes for ${memberName(s, cand)}: ${[...v].map((m) => memberName(s, m)).join(", ")}`),
  ];
  return okLines(lines);
};

export const leaderVote: BoundHandler = async (inv, ctx) => {
  const { name, leads, votes: n, quorum } = await voteForLeader(ctx, { member: inv.arg("who") });
  if (leads) return done(`${name} is now the leader`, html`<b>${name}</b> is now the leader`);
  return done(`voted for ${name} (${n} of ${quorum} votes)`, html`voted for <b>${name}</b> (${n} of ${quorum} votes)`);
};

export const leaderTransfer: BoundHandler = async (inv, ctx) => {
  const { name } = await transferLeadership(ctx, { member: inv.arg("who") });
  return done(`${name} is now the leader`, html`<b>${name}</b> is now the leader`);
};
