// Moving leadership, once for both faces: the leader hands it over, or a
// holder of the succession role votes once the leader has been silent past
// the policy's limit. The rules judge both (the dry run in publish).
import { transferBody } from "../pursuance/actions-rules.js";
import { voteBody } from "../pursuance/escrow.js";
import { memberName } from "../pursuance/views.js";
import { publish, type Env } from "./env.js";
import { resolveMember } from "./spellings.js";

export interface LeadershipResult {
  member: string;
  name: string;
  /** The member now leads. */
  leads: boolean;
  /** Votes the member holds now, and how many make a leader. */
  votes: number;
  quorum: number;
}

function outcome(env: Env, member: string): LeadershipResult {
  const s = env.client.state;
  return { member, name: memberName(s, member), leads: s.leader === member, votes: s.votes.get(member)?.size ?? 0, quorum: s.rules.succession.quorum };
}

export async function voteForLeader(env: Env, o: { member: string }): Promise<LeadershipResult> {
  const c = env.client;
  const member = resolveMember(env, o.member);
  await publish(env, voteBody(c.actor, c.state, c.fold.applied, member));
  return outcome(env, member);
}

export async function transferLeadership(env: Env, o: { member: string }): Promise<LeadershipResult> {
  const member = resolveMember(env, o.member);
  await publish(env, transferBody(env.client.state, member));
  return outcome(env, member);
}
