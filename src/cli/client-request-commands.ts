// Asking to join from outside (`request ADDRESS`), and the members' side:
// opening requests (which prints the public request address), listing them,
// admitting with a role or refusing with a reason.
import { decodeInvite } from "../pursuance/invite.js";
import { admitRequest, askToJoin, closeRequests, currentAddress, DEFAULT_REQUEST_LIMIT, openRequests, refuseRequest } from "../pursuance/client-requests.js";
import { MAX_REQUEST_LIMIT } from "../pursuance/events.js";
import { decodeRequestAddress, RequestAddressError } from "../pursuance/join-request.js";
import type { PursuanceClient } from "../pursuance/client.js";
import type { JoinRequest } from "../pursuance/state.js";
import { findJoinRequest, memberName } from "../pursuance/views.js";
import type { SubCommand } from "./client-command.js";
import { arg, joinAndWait, session, timeoutOf, withClient } from "./client-context.js";
import { UsageError } from "./relay-command.js";

/** `admit` and `refuse`: one pending request, found by key prefix or name, and one option. */
function answerCommand(usage: string, summary: string, option: string, act: (c: PursuanceClient, r: JoinRequest, value: string | undefined) => Promise<string>): SubCommand {
  return {
    usage,
    summary,
    options: { [option]: { type: "string" } },
    async run(p, io) {
      const ref = arg(p, 0, "the requester's key prefix or name (see 'requests')");
      await withClient(p, io, async (c) => io.out(await act(c, findJoinRequest(c.state, ref), p.values[option] as string | undefined)));
    },
  };
}

export const REQUEST_COMMANDS: Record<string, SubCommand> = {
  requests: {
    usage: "requests [--json] | requests open [--limit N] | requests close | requests address",
    summary: `join requests: list them; open requests (prints the public address to hand out; at most --limit pending, default ${DEFAULT_REQUEST_LIMIT}); close them`,
    options: { limit: { type: "string" } },
    async run(p, io) {
      const sub = p.positionals[0] ?? "list";
      if (!["list", "open", "close", "address"].includes(sub)) throw new UsageError(`unknown requests command ${JSON.stringify(sub)} (open, close, address)`);
      let limit = DEFAULT_REQUEST_LIMIT;
      if (p.values.limit !== undefined) {
        limit = Number(p.values.limit);
        if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_REQUEST_LIMIT) throw new UsageError(`--limit must be a whole number from 1 to ${MAX_REQUEST_LIMIT}, not ${JSON.stringify(p.values.limit)}`);
      }
      await withClient(p, io, async (c) => {
        if (sub === "open") {
          const addr = await openRequests(c, limit);
          io.err(`requests open (at most ${limit} pending); hand out this address, e.g. in the profile's --join:`);
          return io.out(addr);
        }
        if (sub === "close") {
          await closeRequests(c);
          return io.out("requests closed; the address no longer works");
        }
        if (sub === "address") {
          const a = currentAddress(c);
          if (!a) throw new UsageError("requests are closed: open them with 'requests open'");
          return io.out(a);
        }
        const rows = [...c.state.joinRequests.values()].map((r) => ({ ...r, answeredBy: r.answeredBy ? memberName(c.state, r.answeredBy) : undefined }));
        if (p.values.json) return io.out(JSON.stringify(rows, null, 2));
        const pol = c.state.requestPolicy;
        io.err(pol?.open ? `requests are open (at most ${pol.limit} pending)` : "requests are closed");
        if (rows.length === 0) return io.out("no requests");
        for (const r of rows) {
          const outcome = r.status === "admitted" ? `admitted as ${r.role} by ${r.answeredBy}` : r.status === "refused" ? `refused by ${r.answeredBy}: ${r.reason}` : "pending";
          io.out(`${r.requester.slice(0, 16)}  ${r.name.padEnd(16)} ${outcome}${r.message ? `\n${"".padEnd(18)}"${r.message}"` : ""}`);
        }
      });
    },
  },
  admit: answerCommand("admit KEY|NAME [--role ROLE]", "admit a pending join request (default role: change agent); the requester's client joins with the invite sealed to it", "role", async (c, r, role) => {
    await admitRequest(c, r, role ?? "change agent");
    return `admitted ${r.name} (${r.requester.slice(0, 16)}) as ${role ?? "change agent"}`;
  }),
  refuse: answerCommand("refuse KEY|NAME [--reason TEXT]", "refuse a pending join request; the requester is told the reason", "reason", async (c, r, reason) => {
    await refuseRequest(c, r, reason ?? "");
    return `refused ${r.name} (${r.requester.slice(0, 16)})`;
  }),
  request: {
    usage: "request ADDRESS [--message TEXT]",
    summary: "ask to join a pursuance by its public request address; waits --timeout for an answer, then joins if admitted",
    options: { message: { type: "string" } },
    async run(p, io) {
      let addr;
      try {
        addr = decodeRequestAddress(arg(p, 0, "the request address (pursuance:request/…)"));
      } catch (e) {
        if (e instanceof RequestAddressError) throw new UsageError(e.message);
        throw e;
      }
      const s = await session(p);
      try {
        if (s.home.hasPursuance()) throw new UsageError(`${s.home.dir} already belongs to a pursuance; use another --home`);
        const ports = s.ports(addr.pursuanceId, (m) => io.err(`warning: ${m}`));
        const v = await askToJoin(ports, s.me.keys, addr, s.me.name, (p.values.message as string | undefined) ?? "", {
          timeoutMs: timeoutOf(p),
          log: (m) => io.err(`warning: ${m}`),
          onPosted: () => io.err(`asked to join ${addr.name}; waiting for a member to answer…`),
        });
        if (!v) {
          io.err("no answer yet within the timeout; run this again later (the request stays on the relays, and so will the answer)");
          io.out(p.values.json ? JSON.stringify({ pursuance: addr.pursuanceId, answered: false }) : `waiting for an answer from ${addr.name}`);
          return 3;
        }
        if (!v.admit) {
          io.out(p.values.json ? JSON.stringify({ pursuance: addr.pursuanceId, answered: true, admitted: false, reason: v.reason, by: v.by }) : `refused by ${v.by}${v.reason ? `: ${v.reason}` : ""}`);
          return 4;
        }
        const invite = decodeInvite(v.invite);
        if (invite.pursuanceId !== addr.pursuanceId || invite.groupId !== addr.groupId) throw new UsageError(`the answer's invite is for another pursuance (${invite.pursuanceId}); not joining`);
        io.err(`admitted by ${v.by} as ${v.role}; joining…`);
        await joinAndWait(p, io, s, invite);
      } finally {
        await s.db.close();
      }
    },
  },
};
