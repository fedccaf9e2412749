// `!relay list|add|remove|move|recover`: where the pursuance lives. Adding re-posts the
// whole history to the new relay, so moving off a relay loses nothing. A
// change is a relays.set in the log: every member's client follows it.
import { moveRelays, recoverOnto } from "../pursuance/client/relocate.js";
import type { BoundHandler } from "./command-spec.js";
import { done, html } from "./reply.js";
import { UsageError } from "../usecases/errors.js";

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

/** How long `!relay add` waits for the new relay before answering anyway (the copy goes on). */
const ADD_WAIT_MS = 3_000;

// Both change the pursuance, not just the asker's copy: a signed relays.set
// that every member's client follows (refused, with the reason, to a role
// without relays.change).
export const relayAdd: BoundHandler = async (inv, ctx) => {
  const url = relayUrl(inv.arg("url"));
  const { copied } = await ctx.client.changeRelays({ add: url });
  // A relay that never answers must not hold the room: the copy goes on in the background.
  let timer: NodeJS.Timeout | undefined;
  const done_ = await Promise.race([copied.then(() => true, () => false), new Promise<false>((r) => (timer = setTimeout(() => r(false), ADD_WAIT_MS)))]).finally(() => clearTimeout(timer));
  const n = ctx.client.session.log.size;
  if (done_) return done(`added ${url} and re-posted ${n} events there`, html`added <code>${url}</code> and re-posted ${n} events there`);
  return done(
    `added ${url}; it does not answer yet, so its copy of the ${n} events will be made when it does`,
    html`added <code>${url}</code>; it does not answer yet, so its copy of the ${n} events will be made when it does`,
  );
};

export const relayRemove: BoundHandler = async (inv, ctx) => {
  const url = relayUrl(inv.arg("url"));
  await ctx.client.changeRelays({ remove: url });
  return done(`removed ${url}`, html`removed <code>${url}</code>`);
};

// `!relay move`: one relays.set (move) that every member follows, after the
// whole history is on the new relay; the notice also stays on the old ones
// for members who were offline. Refused before anything is copied when the
// asker's roles may not change relays.
export const relayMove: BoundHandler = async (inv, ctx) => {
  const url = relayUrl(inv.arg("url"));
  const r = await moveRelays(ctx.client, [url]);
  const n = r.copied[url] ?? 0;
  return done(
    `moved to ${url}: re-posted ${n} events there; the notice is on ${r.noticeOn.length} relays`,
    html`moved to <code>${url}</code>: re-posted ${n} events there; the notice is on ${r.noticeOn.length} relays`,
  );
};

// `!relay recover`: every relay lost its data; rebuild the pursuance on a new
// one from the bridge's own copy (frames are signed and sealed: the relay can
// add nothing), and name it for everyone when the rules allow.
export const relayRecover: BoundHandler = async (inv, ctx) => {
  const url = relayUrl(inv.arg("url"));
  const r = await recoverOnto(ctx.client, url);
  if (r.id) return done(`recovered ${r.copied} events onto ${url}; every member who reaches it follows`, html`recovered ${r.copied} events onto <code>${url}</code>; every member who reaches it follows`);
  return done(
    `copied ${r.copied} events onto ${url} but did not name it for everyone (${r.refused ?? ""}); members reach it with: pursuance client relay add ${url}`,
    html`copied ${r.copied} events onto <code>${url}</code> but did not name it for everyone (${r.refused ?? ""}); members reach it with <code>pursuance client relay add ${url}</code>`,
  );
};
