// `!digest`: when the sender's daily digest comes to their direct chat with
// the bot (on, off, at HH:MM in a time zone). The host keeps the setting;
// the grammar and the schedule are the use case's (digest-schedule.ts).
import type { UnboundSpec } from "./command-spec.js";
import { done, html } from "./reply.js";
import { Refusal } from "./context.js";
import { applyDigestCommand, parseDigestCommand, scheduleText } from "../usecases/digest-schedule.js";

export const digestCommand: UnboundSpec["run"] = async (inv, ctx) => {
  const port = ctx.digest;
  if (!port) throw new Refusal("this host sends no digests");
  // Checked before anything is read or kept: a bad time or zone changes nothing.
  const cmd = parseDigestCommand(inv.opt("setting") ?? "");
  const cur = await port.get();
  const next = applyDigestCommand(cur, cmd);
  if ("show" in cmd) return done(`your daily digest: ${scheduleText(cur)}`, html`your daily digest: ${scheduleText(cur)}`);
  await port.set(next);
  const text = next.enabled ? `your daily digest comes ${scheduleText(next)}, in your direct chat with me` : "your daily digest is off (!digest on to have it again)";
  return done(text, html`${text}`);
};
