// What a command answers, in plain text and in Matrix HTML. User text reaches
// HTML only through `html` below, which escapes every interpolation that is
// not itself Html: a title like "<script>" can never become markup.
import type { TaskView } from "../pursuance/views.js";

export type BotReply = Answer & {
  /**
   * The id of the task whose content the command carried (a comment, a reason,
   * a title), whatever the answer: a host takes the command out of a room
   * that may not read that task. Set by the dispatcher from the command
   * table, so no host parses the command again.
   */
  contentOf?: string;
};

type Answer =
  /** A result to post (m.notice or m.text); `react` when a ✅ on the command says it all. */
  | {
      kind: "ok";
      plain: string;
      html: string;
      react?: "✅";
      /** The effect shows in the room on its own (the host mirrors the event): a ✅ reaction is answer enough. */
      mirrored?: true;
    }
  /** Refused or malformed: `reason` says why, `usage` is the command's usage line(s); post as m.notice and react ⛔. */
  | { kind: "error"; plain: string; html: string; reason: string; usage: string; react: "⛔"; internal?: true }
  /** A new task: the host posts it as its own message and threads the task's comments under it. */
  | { kind: "task-created"; task: TaskView; plain: string; html: string };

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Part = string | number | Html | null | undefined | readonly Part[];

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function render(v: Part): string {
  if (v === null || v === undefined) return "";
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join("");
  return esc(String(v));
}

/** Tagged template: literal parts are markup, interpolations are escaped unless they are Html. */
export function html(strings: TemplateStringsArray, ...vals: Part[]): Html {
  let out = strings[0] ?? "";
  vals.forEach((v, i) => (out += render(v) + (strings[i + 1] ?? "")));
  return new Html(out);
}

export function ok(plain: string, h: Html, react?: "✅"): BotReply {
  return react ? { kind: "ok", plain, html: h.value, react } : { kind: "ok", plain, html: h.value };
}

/** An answer of several lines: joined by newlines in plain text, by <br> in HTML (each line escaped). */
export function okLines(lines: readonly string[]): BotReply {
  return ok(lines.join("\n"), html`${lines.map((l, i) => html`${i > 0 ? html`<br>` : ""}${l}`)}`);
}

/** A successful action: a short confirmation the host may show or replace by the ✅ reaction. */
export function done(plain: string, h: Html): BotReply {
  return ok(plain, h, "✅");
}

/** A successful change to a task, which the host's mirror shows in the task's thread anyway. */
export function mirrored(plain: string, h: Html): BotReply {
  return { kind: "ok", plain, html: h.value, react: "✅", mirrored: true };
}

export function errorReply(reason: string, usage: string[], internal = false): BotReply {
  const u = usage.join("\n");
  return {
    kind: "error",
    reason,
    usage: u,
    plain: u ? `${reason}\nusage: ${usage.join("\n       ")}` : reason,
    html: html`${reason}${u ? html`<br>usage: ${usage.map((l, i) => html`${i > 0 ? html`<br>` : ""}<code>${l}</code>`)}` : ""}`.value,
    react: "⛔",
    ...(internal ? { internal: true as const } : {}),
  };
}
