// Asking to join from outside (`request ADDRESS`), and the members' side:
// opening requests (which prints the public request address), listing them,
// admitting with a role or refusing with a reason.
import { toHex } from "../cwtch/bytes.js";
import { decodeInvite } from "../pursuance/invite.js";
import { askToJoin, closeRequests, currentAddress, DEFAULT_REQUEST_LIMIT, DEFAULT_REQUEST_WORK, dropRequests, openRequests } from "../pursuance/client/requests.js";
import { MAX_REQUEST_LIMIT, MAX_REQUEST_WORK } from "../pursuance/events.js";
import { decodeRequestAddress, RequestAddressError } from "../pursuance/join-request.js";
import { findJoinRequest, memberName } from "../pursuance/views.js";
import type { SubCommand } from "./client-context.js";
import { arg, joinAndWait, session, timeoutOf, withClient } from "./client-context.js";
import { UsageError } from "./usage.js";
import { clientEnv, type Env } from "../usecases/env.js";
import { admitJoinRequest, refuseJoinRequest } from "../usecases/members.js";

/** `admit` and `refuse`: one pending request, found by key prefix or name, and one option. */
function answerCommand(usage: string, summary: string, option: string, act: (env: Env, request: string, value: string | undefined) => Promise<string>): SubCommand {
  return {
    usage,
    summary,
    options: { [option]: { type: "string" } },
    async run(p, io) {
      const ref = arg(p, 0, "the requester's key prefix or name (see 'requests')");
      await withClient(p, io, async (c) => io.out(await act(clientEnv(c), ref, p.values[option] as string | undefined)));
    },
  };
}

export const REQUEST_COMMANDS: Record<string, SubCommand> = {
  requests: {
    usage: "requests [--json] | requests open [--limit N] [--work BITS] | requests close | requests address | requests clear [--keep KEY|NAME]…",
    summary: `join requests: list them; open requests (prints the public address to hand out; at most --limit pending, default ${DEFAULT_REQUEST_LIMIT}; each request costs --work bits of proof-of-work, default ${DEFAULT_REQUEST_WORK}); close them; clear every pending one but those kept (a flood)`,
    options: { limit: { type: "string" }, work: { type: "string" }, keep: { type: "string", multiple: true } },
    async run(p, io) {
      const sub = p.positionals[0] ?? "list";
      if (!["list", "open", "close", "address", "clear"].includes(sub)) throw new UsageError(`unknown requests command ${JSON.stringify(sub)} (open, close, address, clear)`);
      let limit = DEFAULT_REQUEST_LIMIT;
      if (p.values.limit !== undefined) {
        limit = Number(p.values.limit);
        if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_REQUEST_LIMIT) throw new UsageError(`--limit must be a whole number from 1 to ${MAX_REQUEST_LIMIT}, not ${JSON.stringify(p.values.limit)}`);
      }
      let work = DEFAULT_REQUEST_WORK;
      if (p.values.work !== undefined) {
        work = Number(p.values.work);
        if (!Number.isSafeInteger(work) || work < 0 || work > MAX_REQUEST_WORK) throw new UsageError(`--work must be a whole number of bits from 0 to ${MAX_REQUEST_WORK}, not ${JSON.stringify(p.values.work)}`);
      }
      await withClient(p, io, async (c) => {
        if (sub === "open") {
          const addr = await openRequests(c, limit, work);
          io.err(`requests open (at most ${limit} pending, ${work} bits of work each); hand out this address, e.g. in the profile's --join:`);
          return io.out(addr);
        }
        if (sub === "clear") {
          const keep = new Set(((p.values.keep as string[] | undefined) ?? []).map((ref) => findJoinRequest(c.state, ref).requester));
          const drop = [...c.state.joinRequests.values()].filter((r) => r.status === "pending" && !keep.has(r.requester)).map((r) => r.requester);
          const n = await dropRequests(c, drop);
          return io.out(`cleared ${n} pending request${n === 1 ? "" : "s"}${keep.size > 0 ? ` (kept ${keep.size})` : ""}`);
        }
        if (sub === "close") {
          await closeRequests(c);
          return io.out("requests closed; the address no longer works");
        }
        if (sub === "address") {
          const a = currentAddress(c);
          if (!a) throw new UsageError(c.state.requestPolicy?.open ? "the request address is retired (a holder of its answer key lost member.invite): a new one is made by the next holder's client, or run 'requests open'" : "requests are closed: open them with 'requests open'");
          return io.out(a);
        }
        const rows = [...c.state.joinRequests.values()].map((r) => ({ ...r, answeredBy: r.answeredBy ? memberName(c.state, r.answeredBy) : undefined }));
        if (p.values.json) return io.out(JSON.stringify(rows, null, 2));
        const pol = c.state.requestPolicy;
        io.err(pol?.open ? `requests are open (at most ${pol.limit} pending)` : "requests are closed");
        if (rows.length === 0) return io.out("no requests");
        for (const r of rows) {
          const outcome = r.status === "admitted" ? `admitted as ${r.role} by ${r.answeredBy}` : r.status === "refused" ? `refused by ${r.answeredBy}: ${r.reason}` : r.status === "dropped" ? "dropped" : "pending";
          io.out(`${r.requester.slice(0, 16)}  ${r.name.padEnd(16)} ${outcome}${r.message ? `\n${"".padEnd(18)}"${r.message}"` : ""}`);
        }
      });
    },
  },
  admit: answerCommand("admit KEY|NAME [--role ROLE]", "admit a pending join request (default role: change agent); the requester's client joins with the invite sealed to it", "role", async (env, request, want) => {
    const { request: r, role } = await admitJoinRequest(env, { request, role: want });
    return `admitted ${r.name} (${r.requester.slice(0, 16)}) as ${role}`;
  }),
  refuse: answerCommand("refuse KEY|NAME [--reason TEXT]", "refuse a pending join request; the requester is told the reason", "reason", async (env, request, reason) => {
    const { request: r } = await refuseJoinRequest(env, { request, reason });
    return `refused ${r.name} (${r.requester.slice(0, 16)})`;
  }),
  request: {
    usage: "request ADDRESS [--message TEXT] [--as NAME]",
    summary: "ask to join a pursuance by its public request address, with a key made for this address only (kept in the home); waits --timeout for an answer, then joins with this home's identity if admitted",
    options: { message: { type: "string" }, as: { type: "string" } },
    async run(p, io) {
      let addr;
      try {
        addr = decodeRequestAddress(arg(p, 0, "the request address (pursuance:request/…)"));
      } catch (e) {
        if (e instanceof RequestAddressError) throw new UsageError(e.message);
        throw e;
      }
      let s = await session(p);
      try {
        if (s.home.hasPursuance()) throw new UsageError(`${s.home.dir} already belongs to a pursuance; use another --home`);
        const ports = s.ports(addr.pursuanceId, (m) => io.err(`warning: ${m}`));
        // Not the home identity: one person asking two pursuances must not be linked by the key.
        const key = s.home.requestKey(s.crypto, addr.rv);
        if (addr.work > 0) io.err(`stamping the request with ${addr.work} bits of proof-of-work (the cost ${addr.name} asks of each request)…`);
        const v = await askToJoin(ports, key, addr, (p.values.as as string | undefined) ?? s.me.name, (p.values.message as string | undefined) ?? "", {
          timeoutMs: timeoutOf(p),
          log: (m) => io.err(`warning: ${m}`),
          onPosted: () => io.err(`asked to join ${addr.name} as ${toHex(key.publicKey).slice(0, 16)}; waiting for a member to answer…`),
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
        // Join as the key that asked (the admission names it); this home takes it as its identity.
        s.home.adoptIdentity(key);
        await s.db.close();
        s = await session(p);
        await joinAndWait(p, io, s, invite);
      } finally {
        await s.db.close();
      }
    },
  },
};
