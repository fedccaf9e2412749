// `!help [command]`: generated from the table, listing only what the asker may
// run here (bridge permission, bound room, capability in the pursuance).
import { mayRun, usageLine, whyNot, type CommandSpec, type UnboundHandler } from "./command-spec.js";
import { Refusal } from "./context.js";
import { html, type BotReply } from "./reply.js";

function listing(title: string, specs: readonly CommandSpec[]): BotReply {
  const rows = specs.map((s) => ({ usage: usageLine(s), help: s.help }));
  return {
    kind: "ok",
    plain: [title, ...rows.map((r) => `${r.usage} — ${r.help}`)].join("\n"),
    html: html`${title}<ul>${rows.map((r) => html`<li><code>${r.usage}</code> — ${r.help}</li>`)}</ul>`.value,
  };
}

export const help: UnboundHandler = async (inv, ctx) => {
  const words = (inv.opt("command") ?? "").trim().toLowerCase().replace(/^!/, "").split(/\s+/).filter(Boolean);
  const visible = inv.table.filter((s) => mayRun(s, ctx));
  if (words.length === 0) {
    if (visible.length === 0) throw new Refusal(`no commands are open to you here (bridge permission "${ctx.permission}")`);
    return listing(ctx.client ? `Commands you may run in ${ctx.client.state.name}:` : "This room is not bound to a pursuance. Commands you may run:", visible);
  }
  const named = inv.table.filter((s) => words.every((w, k) => s.path[k] === w || (k === s.path.length - 1 && s.aliases?.includes(w))));
  if (named.length === 0) throw new Refusal(`no command !${words.join(" ")}; try !help`);
  const mine = named.filter((s) => mayRun(s, ctx));
  if (mine.length === 0) throw new Refusal(`you may not run !${words.join(" ")} here: ${whyNot(named[0]!, ctx)}`);
  return listing(`!${words.join(" ")}:`, mine);
};
