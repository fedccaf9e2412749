// `!relay list|add|remove`: where the pursuance lives. Adding re-posts the
// whole history to the new relay, so moving off a relay loses nothing. The
// host persists `client.config.relays` after the command.
import type { BoundHandler } from "./command-spec.js";
import { done, html } from "./reply.js";
import { UsageError } from "./tokenize.js";

function relayUrl(v: string): string {
  const u = v.trim();
  if (!/^wss?:\/\/\S+$/.test(u)) throw new UsageError(`${JSON.stringify(v)} is not a ws:// or wss:// URL`);
  return u;
}

export const relayList: BoundHandler = async (_inv, ctx) => {
  const rows = ctx.client.group.status().relays.map((r) => `${r.url} ${r.connected ? "connected" : "down"}, cursor ${r.cursor}`);
  if (rows.length === 0) return { kind: "ok", plain: "no relays", html: "no relays" };
  return { kind: "ok", plain: rows.join("\n"), html: html`<ul>${rows.map((r) => html`<li>${r}</li>`)}</ul>`.value };
};

export const relayAdd: BoundHandler = async (inv, ctx) => {
  const url = relayUrl(inv.arg("url"));
  await ctx.client.addRelay(url, true);
  const n = ctx.client.session.log.size;
  return done(`added ${url} and re-posted ${n} events there`, html`added <code>${url}</code> and re-posted ${n} events there`);
};

export const relayRemove: BoundHandler = async (inv, ctx) => {
  const url = relayUrl(inv.arg("url"));
  ctx.client.removeRelay(url);
  return done(`removed ${url}`, html`removed <code>${url}</code>`);
};
