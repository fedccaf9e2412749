// `!pursuance request <address>` (asking to join from Matrix) and the members'
// side: `!pursuance requests [open|close]`, `!pursuance admit`, `!pursuance
// refuse`. The request itself waits on the host (a member's answer may take
// days); the bot only validates and reports.
import { admitRequest, closeRequests, currentAddress, DEFAULT_REQUEST_LIMIT, openRequests, refuseRequest } from "../pursuance/client-requests.js";
import { MAX_REQUEST_LIMIT } from "../pursuance/events.js";
import { decodeRequestAddress, RequestAddressError } from "../pursuance/join-request.js";
import { findJoinRequest, memberName } from "../pursuance/views.js";
import type { BoundHandler, UnboundHandler } from "./command-spec.js";
import { done, html, okLines } from "./reply.js";
import { UsageError } from "./tokenize.js";

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
  const lines = [pol?.open ? `requests are open (at most ${pol.limit} pending): ${currentAddress(ctx.client)}` : "requests are closed (!pursuance requests open)"];
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
  const addr = await openRequests(ctx.client, limit);
  const line = `requests open (at most ${limit} pending). Anyone with this address may ask to join: ${addr}`;
  return done(line, html`requests open (at most ${String(limit)} pending). Anyone with this address may ask to join:<br><code>${addr}</code>`);
};

export const requestsClose: BoundHandler = async (_inv, ctx) => {
  await closeRequests(ctx.client);
  const line = "requests closed: the address no longer works";
  return done(line, html`${line}`);
};

export const requestAdmit: BoundHandler = async (inv, ctx) => {
  const r = findJoinRequest(ctx.client.state, inv.arg("who"));
  const role = inv.flag("role") ?? "change agent";
  await admitRequest(ctx.client, r, role);
  const line = `admitted ${r.name} as ${role}; their client joins with the invite sealed to them`;
  return done(line, html`${line}`);
};

export const requestRefuse: BoundHandler = async (inv, ctx) => {
  const r = findJoinRequest(ctx.client.state, inv.arg("who"));
  await refuseRequest(ctx.client, r, (inv.opt("reason") ?? "").trim());
  const line = `refused ${r.name}; they are told the reason`;
  return done(line, html`${line}`);
};
