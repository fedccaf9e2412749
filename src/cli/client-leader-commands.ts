// `pursuance client rules …` and `leader …`: the succession and rotation
// policy, and moving leadership (by handing it over, or by the succession
// role's votes once the leader has been silent past the policy's limit).
import { maxFileBytes, silentAfterMs, taskLabels } from "../pursuance/rules.js";
import { parsePolicy, setPolicy, type PolicyOptions } from "../usecases/policy.js";
import type { PursuanceState } from "../pursuance/state.js";
import { memberName } from "../pursuance/views.js";
import type { SubCommand } from "./client-context.js";
import { arg, withClient, type Parsed } from "./client-context.js";
import { UsageError } from "./usage.js";
import { sizeText } from "../usecases/files.js";
import { durationText } from "../usecases/spellings.js";
import { clientEnv } from "../usecases/env.js";
import { transferLeadership, voteForLeader } from "../usecases/leadership.js";

function policyOf(s: PursuanceState) {
  return {
    leader: s.leader,
    succession: { role: s.rules.succession.role, quorum: s.rules.succession.quorum, silentAfterMs: silentAfterMs(s.rules) },
    rotation: s.rules.rotation,
    labels: [...taskLabels(s.rules)],
    fileLimitBytes: maxFileBytes(s.rules),
    escrow: s.escrow ? { scope: s.escrow.scope, threshold: s.escrow.threshold, holders: s.escrow.holders.length, keys: s.escrow.keyIds.length } : null,
  };
}

/** Flags as typed: the use case checks them (before any network work, see run). */
function policyOptions(p: Parsed): PolicyOptions {
  const v = p.values;
  const str = (k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);
  return {
    successionRole: str("succession-role"),
    quorum: str("quorum"),
    silentAfter: str("silent-after"),
    rotateEvery: str("rotate-every"),
    fileLimit: str("file-limit"),
    labels: str("labels"),
  };
}

export const LEADER_COMMANDS: Record<string, SubCommand> = {
  rules: {
    usage: "rules [show] | rules policy [--succession-role ROLE] [--quorum N] [--silent-after DUR] [--rotate-every DUR|off] [--file-limit SIZE] [--labels a,b,c]",
    summary: "the succession, key-rotation and document-size policy; the leader changes it",
    options: { "succession-role": { type: "string" }, quorum: { type: "string" }, "silent-after": { type: "string" }, "rotate-every": { type: "string" }, "file-limit": { type: "string" }, labels: { type: "string" } },
    async run(p, io) {
      const sub = p.positionals[0] ?? "show";
      if (sub !== "show" && sub !== "policy") throw new UsageError(`unknown rules command ${JSON.stringify(sub)}: use show or policy`);
      const change = sub === "policy" ? policyOptions(p) : null;
      if (change) parsePolicy(change);
      await withClient(p, io, async (c) => {
        if (change) await setPolicy(clientEnv(c), change);
        const pol = policyOf(c.state);
        if (p.values.json) return io.out(JSON.stringify(pol, null, 2));
        const s = c.state;
        io.out(`leader: ${s.leader ? memberName(s, s.leader) : "nobody"}`);
        io.out(`succession: ${pol.succession.quorum} holder(s) of "${pol.succession.role}" may vote a new leader once the leader is silent for ${durationText(pol.succession.silentAfterMs)}`);
        io.out(`key rotation: ${pol.rotation.everyMs === null ? "on membership change only" : `at least every ${durationText(pol.rotation.everyMs)}`}`);
        io.out(`documents: at most ${sizeText(pol.fileLimitBytes)} (${pol.fileLimitBytes} bytes) per file`);
        io.out(`task labels: ${pol.labels.join(", ") || "none"}`);
        io.out(`escrow of the top role's keys: ${pol.escrow ? `${pol.escrow.threshold} of ${pol.escrow.holders} shares, ${pol.escrow.keys} key(s)` : "none yet"}`);
      });
    },
  },
  leader: {
    usage: "leader [status] | leader vote WHO | leader transfer WHO",
    summary: "who leads and since when it was last heard from; vote (succession role) or hand over leadership",
    async run(p, io) {
      const sub = p.positionals[0] ?? "status";
      if (!["status", "vote", "transfer"].includes(sub)) throw new UsageError(`unknown leader command ${JSON.stringify(sub)}: use status, vote or transfer`);
      const ref = sub === "status" ? null : arg(p, 1, "a member (name or id prefix)");
      await withClient(p, io, async (c) => {
        const s = c.state;
        if (ref === null) {
          const last = s.leader ? (s.lastSeen.get(s.leader) ?? null) : null;
          const votes = [...s.votes.entries()].map(([cand, v]) => ({ candidate: memberName(s, cand), voters: [...v].map((m) => memberName(s, m)) }));
          if (p.values.json) return io.out(JSON.stringify({ leader: s.leader, lastSeen: last, silentAfterMs: silentAfterMs(s.rules), votes }, null, 2));
          io.out(`leader: ${s.leader ? memberName(s, s.leader) : "nobody"}${last !== null ? `, last heard from ${new Date(last).toISOString()}` : ""}`);
          io.out(`succession: ${s.rules.succession.quorum} vote(s) of "${s.rules.succession.role}" after ${durationText(silentAfterMs(s.rules))} of silence`);
          for (const v of votes) io.out(`  votes for ${v.candidate}: ${v.voters.join(", ")}`);
          return;
        }
        const r = await (sub === "transfer" ? transferLeadership : voteForLeader)(clientEnv(c), { member: ref });
        io.out(r.leads ? `${r.name} is now the leader` : `voted for ${r.name} (${r.votes} of ${r.quorum} votes)`);
      });
    },
  },
};
