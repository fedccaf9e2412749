// `!rules policy` and `!leader …`: the succession and rotation policy, and
// moving leadership — handed over by the leader, or voted by a quorum of the
// succession role once the leader has been silent past the policy's limit.
// The rules decide every one of these (publish's dry run); help hides them
// from who could not.
import { silentAfterMs, taskLabels } from "../pursuance/rules.js";
import type { PursuanceState } from "../pursuance/state.js";
import { memberName } from "../pursuance/views.js";
import type { BoundHandler } from "./command-spec.js";
import { done, html, okLines } from "./reply.js";
import { transferLeadership, voteForLeader } from "../usecases/leadership.js";
import { setPolicy } from "../usecases/policy.js";
import { durationText } from "../usecases/spellings.js";

export function successionText(s: PursuanceState): string {
  return `${s.rules.succession.quorum} holder(s) of ${s.rules.succession.role} may move leadership after ${durationText(silentAfterMs(s.rules))} of the leader's silence`;
}

/** Who may vote (help visibility): holders of the succession role. */
export const mayVote = (s: PursuanceState, me: string): string | null =>
  s.members.get(me)?.roles.has(s.rules.succession.role) ? null : `only holders of "${s.rules.succession.role}" vote on succession`;
export const mayTransfer = (s: PursuanceState, me: string): string | null => (s.leader === me ? null : "only the leader hands leadership over");

export const rulesPolicy: BoundHandler = async (inv, ctx) => {
  const labels = inv.flag("labels");
  const now = await setPolicy(ctx, {
    successionRole: inv.flag("succession-role"),
    quorum: inv.flag("quorum"),
    silentAfter: inv.flag("silent-after"),
    rotateEvery: inv.flag("rotate-every"),
    fileLimit: inv.flag("file-limit"),
    labels,
  });
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
