// `!announce "text"`: a signed announcement in the log. Mirroring it to public
// rooms and the Atom feed is the host's job once the event is folded.
import type { BoundHandler } from "./command-spec.js";
import { done, html } from "./reply.js";
import { publish } from "./refs.js";

export const announce: BoundHandler = async (inv, ctx) => {
  const text = inv.arg("text").trim();
  const { id } = await publish(ctx, { t: "announce", text });
  return done(`announced (event ${id.slice(0, 12)})`, html`announced (event <code>${id.slice(0, 12)}</code>)`);
};
