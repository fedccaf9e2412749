// `!link offer|accept|list|inbox|sent|answer` and `!task send`: links to other
// pursuances from Matrix. A link token lets whoever reads it take the link, so
// the bridge answers `!link offer` in a direct chat and removes a pasted one,
// as it does invites.
import { acceptLink, answerTask, offerLink, sendTask } from "../pursuance/client/links.js";
import { LINK_STATUSES, type LinkStatus } from "../pursuance/events.js";
import { LinkTokenError } from "../pursuance/link.js";
import type { CrossTask } from "../pursuance/state.js";
import { findLink, findReceived, memberName } from "../pursuance/views.js";
import type { BoundHandler } from "./command-spec.js";
import { done, html, okLines } from "./reply.js";
import { UsageError } from "../usecases/errors.js";

export const linkOffer: BoundHandler = async (inv, ctx) => {
  const roles = (inv.flag("roles") ?? "").split(",").map((r) => r.trim()).filter((r) => r !== "");
  if (roles.length === 0) throw new UsageError("--roles is required: our roles that may send tasks over the link, e.g. --roles admin");
  const token = await offerLink(ctx.client, roles);
  return {
    kind: "ok",
    plain: `Link token (the first pursuance to accept it is linked; hand it over privately):\n${token}`,
    html: html`Link token (the first pursuance to accept it is linked; hand it over privately):<br><code>${token}</code>`.value,
  };
};

export const linkAccept: BoundHandler = async (inv, ctx) => {
  let l;
  try {
    l = await acceptLink(ctx.client, inv.arg("token"));
  } catch (e) {
    if (e instanceof LinkTokenError) throw new UsageError(e.message);
    throw e;
  }
  const line = `linked with ${l.peerName}; they may send tasks from: ${l.roles.join(", ")}`;
  return done(line, html`${line}`);
};

export const linkList: BoundHandler = async (_inv, ctx) => {
  const s = ctx.client.state;
  const ls = [...s.peers.values()].map((l) => `${l.link.slice(0, 12)} ${l.peer ? l.peerName : "(waiting for the other side)"} — ${l.side}, roles ${l.roles.join(", ")}, speaker ${memberName(s, l.speaker)}`);
  return okLines(ls.length > 0 ? ls : ["no links"]);
};

function rows(ctx: Parameters<BoundHandler>[1], map: Map<string, CrossTask>, dir: string): string[] {
  const s = ctx.client.state;
  return [...map.entries()].map(([id, t]) => `${id.slice(0, 12)} ${t.status} ${dir} ${s.peers.get(t.link)?.peerName ?? "?"}: ${t.title}${t.note ? ` — ${t.note}` : ""}`);
}

export const linkInbox: BoundHandler = async (_inv, ctx) => {
  const r = rows(ctx, ctx.client.state.received, "from");
  return okLines(r.length > 0 ? r : ["no tasks received"]);
};

export const linkSent: BoundHandler = async (_inv, ctx) => {
  const r = rows(ctx, ctx.client.state.sent, "to");
  return okLines(r.length > 0 ? r : ["no tasks sent"]);
};

export const linkAnswer: BoundHandler = async (inv, ctx) => {
  const status = inv.arg("status");
  if (!(LINK_STATUSES as readonly string[]).includes(status)) throw new UsageError(`<status> must be one of ${LINK_STATUSES.join(", ")}`);
  const [id, t] = findReceived(ctx.client.state, inv.arg("id"));
  await answerTask(ctx.client, id, t, status as LinkStatus, (inv.opt("note") ?? "").trim());
  const line = `${status}: ${t.title} (the other side is told)`;
  return done(line, html`${line}`);
};

export const taskSend: BoundHandler = async (inv, ctx) => {
  const l = findLink(ctx.client.state, inv.arg("link"));
  const id = await sendTask(ctx.client, l, inv.arg("title").trim(), (inv.flag("body") ?? "").trim());
  const line = `sent to ${l.peerName} (${id.slice(0, 12)}); its answer shows in !link sent`;
  return done(line, html`${line}`);
};
