// `!announce "text"`: a signed announcement in the log. Mirroring it to public
// rooms and the Atom feed is the host's job once the event is folded;
// `!announce room add|remove|list` chooses those rooms (the host's port).
import { hasCap } from "../pursuance/state.js";
import type { BoundHandler } from "./command-spec.js";
import { Refusal } from "./context.js";
import { done, html } from "./reply.js";
import { announce as publishAnnouncement } from "../usecases/identity.js";

export const announce: BoundHandler = async (inv, ctx) => {
  const { id } = await publishAnnouncement(ctx, { text: inv.arg("text") });
  return done(`announced (event ${id.slice(0, 12)})`, html`announced (event <code>${id.slice(0, 12)}</code>)`);
};

function rooms(ctx: Parameters<BoundHandler>[1]): NonNullable<typeof ctx.announceRooms> {
  if (!ctx.announceRooms) throw new Refusal("this host mirrors announcements to no public rooms");
  return ctx.announceRooms;
}

// Choosing where the pursuance speaks in public is for those who may speak for it.
function mayAnnounce(ctx: Parameters<BoundHandler>[1]): void {
  if (!hasCap(ctx.client.state, ctx.client.me, "announce")) throw new Refusal("only a role allowed to announce chooses where announcements go");
}

export const announceRoomAdd: BoundHandler = async (inv, ctx) => {
  mayAnnounce(ctx);
  const line = await rooms(ctx).add(inv.arg("alias").trim());
  return done(line, html`${line}`);
};

export const announceRoomRemove: BoundHandler = async (inv, ctx) => {
  mayAnnounce(ctx);
  const line = await rooms(ctx).remove(inv.arg("alias").trim());
  return done(line, html`${line}`);
};

export const announceRoomList: BoundHandler = async (_inv, ctx) => {
  const rows = await rooms(ctx).list();
  if (rows.length === 0) return { kind: "ok", plain: "no public announcement rooms (add one: !announce room add #name:server)", html: "no public announcement rooms" };
  return { kind: "ok", plain: rows.join("\n"), html: html`<ul>${rows.map((r) => html`<li>${r}</li>`)}</ul>`.value };
};
