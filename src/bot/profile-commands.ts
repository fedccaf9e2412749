// `!pursuance profile [set]`: what the pursuance says of itself in public. The
// bridge mirrors it, with its proof, to the public rooms and the feed, beside
// the announcements (a role allowed to announce sets it).
import { profileText } from "../pursuance/announcement-proof.js";
import { memberName } from "../pursuance/views.js";
import type { BoundHandler } from "./command-spec.js";
import { done, html, ok } from "./reply.js";
import { setProfile } from "../usecases/identity.js";

export const profileShow: BoundHandler = async (_inv, ctx) => {
  const s = ctx.client.state;
  if (!s.profile) return ok(`${s.name} has no public profile yet (!pursuance profile set "<mission>" --join TEXT)`, html`${s.name} has no public profile yet`);
  const text = `${profileText(s.profile)}\nset by ${memberName(s, s.profile.by)}`;
  return ok(text, html`${text.split("\n").map((l, i) => (i === 0 ? html`${l}` : html`<br>${l}`))}`);
};

export const profileSet: BoundHandler = async (inv, ctx) => {
  const room = inv.flag("room");
  await setProfile(ctx, { mission: inv.arg("mission"), join: inv.flag("join") ?? "", rooms: room ? [room] : [] });
  const line = "profile set: it goes to the public rooms and the feed with its proof";
  return done(line, html`${line}`);
};
