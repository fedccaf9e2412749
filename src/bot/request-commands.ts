// `!pursuance request <address>` (asking to join from Matrix) and the members'
// side: `!pursuance requests [open|close]`, `!pursuance admit`, `!pursuance
// refuse`. The request itself waits on the host (a member's answer may take
// days); the bot only validates and reports.
import { closeRequests, currentAddress, DEFAULT_REQUEST_LIMIT, DEFAULT_REQUEST_WORK, dropRequests, openRequests } from "../pursuance/client/requests.js";
import { MAX_REQUEST_LIMIT, MAX_REQUEST_WORK } from "../pursuance/events.js";
import { decodeRequestAddress, RequestAddressError } from "../pursuance/join-request.js";
import { memberName } from "../pursuance/views.js";
import type { BoundHandler, UnboundHandler } from "./command-spec.js";
import { done, html, okLines } from "./reply.js";
import { UsageError } from "../usecases/errors.js";
import { admitJoinRequest, refuseJoinRequest } from "../usecases/members.js";

export const pursuanceRequest: UnboundHandler = async (inv, ctx) => {
  let addr;
  try {
    addr = decodeRequestAddress(inv.arg("address"));
  } catch (e) {
    if (e instanceof RequestAddressError) throw new UsageError(e.message);
    throw e;
  }
  const line = await ctx.pursuance.request(addr, (inv.flag("message") ?? "").trim());
  return done(line, html`${line}`);
};

export const requestsList: BoundHandler = async (_inv, ctx) => {
  const s = ctx.client.state;
  const pol = s.requestPolicy;
  const addr = currentAddress(ctx.client);
  const lines = [pol?.open ? (addr ? `requests are open (at most ${pol.limit} pending): ${addr}` : "requests are open but the address is retired (a holder of its answer key lost member.invite); a holder's client makes a new one") : "requests are closed (!pursuance requests open)"];
  for (const r of s.joinRequests.values()) {
    const by = r.answeredBy ? memberName(s, r.answeredBy) : "";
    const outcome = r.status === "admitted" ? `admitted as ${r.role} by ${by}` : r.status === "refused" ? `refused by ${by}${r.reason ? `: ${r.reason}` : ""}` : r.status === "dropped" ? "dropped" : "pending";
    lines.push(`${r.name} (${r.requester.slice(0, 12)}): ${outcome}${r.message ? ` — "${r.message}"` : ""}`);
  }
  if (s.joinRequests.size === 0) lines.push("no requests");
  return okLines(lines);
};

export const requestsOpen: BoundHandler = async (inv, ctx) => {
  const raw = inv.flag("limit");
  const limit = raw === undefined ? DEFAULT_REQUEST_LIMIT : Number(raw);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_REQUEST_LIMIT) throw new UsageError(`--limit must be a whole number from 1 to ${MAX_REQUEST_LIMIT}, not ${JSON.stringify(raw)}`);
  const rawWork = inv.flag("work");
  const work = rawWork === undefined ? DEFAULT_REQUEST_WORK : Number(rawWork);
  if (!Number.isSafeInteger(work) || work < 0 || work > MAX_REQUEST_WORK) throw new UsageError(`--work must be a whole number of bits from 0 to ${MAX_REQUEST_WORK}, not ${JSON.stringify(rawWork)}`);
  const addr = await openRequests(ctx.client, limit, work);
  const line = `requests open (at most ${limit} pending). Anyone with this address may ask to join: ${addr}`;
  return done(line, html`requests open (at most ${String(limit)} pending). Anyone with this address may ask to join:<br><code>${addr}</code>`);
};

export const requestsClose: BoundHandler = async (_inv, ctx) => {
  await closeRequests(ctx.client);
  const line = "requests closed: the address no longer works";
  return done(line, html`${line}`);
};

export const requestsClear: BoundHandler = async (_inv, ctx) => {
  const pending = [...ctx.client.state.joinRequests.values()].filter((r) => r.status === "pending").map((r) => r.requester);
  const n = await dropRequests(ctx.client, pending);
  const line = `cleared ${n} pending request${n === 1 ? "" : "s"}`;
  return done(line, html`${line}`);
};

export const requestAdmit: BoundHandler = async (inv, ctx) => {
  const { request: r, role } = await admitJoinRequest(ctx, { request: inv.arg("who"), role: inv.flag("role") });
  const line = `admitted ${r.name} as ${role}; their client joins with the invite sealed to them`;
  return done(line, html`${line}`);
};

export const requestRefuse: BoundHandler = async (inv, ctx) => {
  const { request: r } = await refuseJoinRequest(ctx, { request: inv.arg("who"), reason: inv.opt("reason") });
  const line = `refused ${r.name}; they are told the reason`;
  return done(line, html`${line}`);
};
