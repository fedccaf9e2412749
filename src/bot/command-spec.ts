// The shape of one command in the table, and what the table alone decides:
// its usage line, how its words become arguments, and who may see it in help.
// Handlers receive an Invocation and never parse text themselves.
import type { Capability } from "../pursuance/rules.js";
import { hasCap, type PursuanceState } from "../pursuance/state.js";
import { permits, type BotContext, type BoundContext, type CommandLevel } from "./context.js";
import type { BotReply } from "./reply.js";
import { parseFlags, type FlagSpec, type Token } from "./tokenize.js";
import { UsageError } from "../usecases/errors.js";

export interface ArgSpec {
  name: string;
  /** Shown as "<name>" in usage: free text people should quote (it works unquoted too). */
  quoted?: boolean;
  /** Takes every remaining word, so `!task comment 3 on it` needs no quotes. Last arg only. */
  rest?: boolean;
}

export interface FlagDecl extends FlagSpec {
  /** A value the command cannot do without (shown without brackets). */
  required?: boolean;
}

interface BaseSpec {
  path: readonly string[];
  /** Other words for the last path element (`ls` for `list`). */
  aliases?: readonly string[];
  required?: readonly ArgSpec[];
  optional?: readonly ArgSpec[];
  flags?: readonly FlagDecl[];
  help: string;
  /** Bridge permission needed (first authorisation). */
  level: CommandLevel;
  /**
   * The pursuance capability it needs, used to hide it from `!help`. The
   * rules themselves (publish's dry run) still decide every action.
   */
  cap: Capability | null;
  /**
   * The argument that is task content (a comment, a close reason, a title):
   * with the `id` argument it names the task whose readers alone may see it,
   * so a host can take the command out of a room that may not (BotReply.contentOf).
   */
  content?: string;
  /** A further condition for `!help` to show it (e.g. holding the succession role): why not, or null. */
  shownTo?: (s: PursuanceState, me: string) => string | null;
}

/** Most commands act in the pursuance bound to the room. */
export interface BoundSpec extends BaseSpec {
  room?: "bound";
  run(inv: Invocation, ctx: BoundContext): Promise<BotReply>;
}

/** Commands for a room bound to nothing yet (create, join), or for any room (help). */
export interface UnboundSpec extends BaseSpec {
  /** "bound-any": a bound room, whether or not the sender is a member of its pursuance. */
  room: "unbound" | "any" | "bound-any";
  run(inv: Invocation, ctx: BotContext): Promise<BotReply>;
}

export type CommandSpec = BoundSpec | UnboundSpec;

export interface Invocation {
  spec: CommandSpec;
  /** Every command, for help. */
  table: readonly CommandSpec[];
  /** A required argument (the parser guarantees it). */
  arg(name: string): string;
  opt(name: string): string | undefined;
  /** A flag's value; undefined when absent. */
  flag(name: string): string | undefined;
  has(name: string): boolean;
}

/** `!task create "<title>" [--role R] …` */
export function usageLine(spec: CommandSpec): string {
  const parts = [`!${spec.path.join(" ")}`];
  for (const a of spec.required ?? []) parts.push(a.quoted ? `"<${a.name}>"` : `<${a.name}>`);
  for (const a of spec.optional ?? []) parts.push(a.quoted ? `["${a.name}"]` : `[${a.name}]`);
  for (const f of spec.flags ?? []) {
    const s = f.value ? `--${f.name} ${f.value}` : `--${f.name}`;
    parts.push(f.required ? s : `[${s}]`);
  }
  return parts.join(" ");
}

/** Bind the words after the command's path to its declared arguments and flags. */
export function parseInvocation(spec: CommandSpec, table: readonly CommandSpec[], tokens: Token[]): Invocation {
  const { positionals, flags } = parseFlags(tokens, [...(spec.flags ?? [])]);
  const args = new Map<string, string>();
  const decl = [...(spec.required ?? []), ...(spec.optional ?? [])];
  const nRequired = spec.required?.length ?? 0;
  let i = 0;
  for (const [k, a] of decl.entries()) {
    if (i >= positionals.length) {
      if (k < nRequired) throw new UsageError(`missing <${a.name}>`);
      break;
    }
    if (a.rest) {
      args.set(a.name, positionals.slice(i).join(" "));
      i = positionals.length;
    } else args.set(a.name, positionals[i++]!);
    if (k < nRequired && args.get(a.name)!.trim() === "") throw new UsageError(`<${a.name}> is empty`);
  }
  for (const f of spec.flags ?? []) if (f.required && !flags.has(f.name)) throw new UsageError(`--${f.name} ${f.value ?? ""} is required`.trim());
  if (i < positionals.length) throw new UsageError(`unexpected ${JSON.stringify(positionals[i])}: !${spec.path.join(" ")} takes ${decl.length === 0 ? "no arguments" : `at most ${decl.length}`}`);
  return {
    spec,
    table,
    arg(name) {
      const v = args.get(name);
      if (v === undefined) throw new UsageError(`missing <${name}>`);
      return v;
    },
    opt: (name) => args.get(name),
    flag(name) {
      const v = flags.get(name);
      return typeof v === "string" ? v : undefined;
    },
    has: (name) => flags.has(name),
  };
}

/**
 * Why this asker may not run it, or null. The bridge level and the bound room
 * first; then, with `caps`, the capability (for help: when running, the rules'
 * dry run is the judge, exactly as every other client would judge).
 */
export function whyNot(spec: CommandSpec, ctx: BotContext, caps = true): string | null {
  const name = `!${spec.path.join(" ")}`;
  if (!permits(ctx.permission, spec.level)) return `${name} needs bridge permission "${spec.level}"; you have "${ctx.permission}" (the bridge's operator grants it under permissions: in the bridge's config.yaml, e.g. "${ctx.sender}": ${spec.level}, then restarts the bridge; see docs/self-hosting.md)`;
  const room = spec.room ?? "bound";
  if (room === "bound" && !ctx.client && ctx.boundTo)
    return `you are not a member of ${JSON.stringify(ctx.boundTo)}, the pursuance of this room: a member can admit you with !pursuance invite <your Matrix id>`;
  if (room === "bound" && !ctx.client) return `this room is not bound to a pursuance: use !pursuance create "<name>" or !pursuance join <invite> first`;
  if (room === "bound-any" && !ctx.client && !ctx.boundTo) return `this room is not bound to a pursuance`;
  if (room === "unbound" && ctx.client) return `this room is already bound to ${ctx.client.state.name} (${ctx.client.id.slice(0, 12)})`;
  if (caps && spec.cap && ctx.client && !hasCap(ctx.client.state, ctx.client.me, spec.cap)) return `${name} needs capability ${spec.cap}, which none of your roles has`;
  const why = caps && spec.shownTo && ctx.client ? spec.shownTo(ctx.client.state, ctx.client.me) : null;
  if (why) return `${name}: ${why}`;
  return null;
}

export const mayRun = (spec: CommandSpec, ctx: BotContext): boolean => whyNot(spec, ctx) === null;

/** The command these words name: the longest declared path matching their start (aliases allowed). */
export function findSpec(table: readonly CommandSpec[], words: string[]): { spec: CommandSpec; used: number } | null {
  let best: { spec: CommandSpec; used: number } | null = null;
  for (const spec of table) {
    const n = spec.path.length;
    if (words.length < n) continue;
    const match = spec.path.every((p, k) => words[k] === p || (k === n - 1 && spec.aliases?.includes(words[k]!)));
    if (match && (!best || n > best.used)) best = { spec, used: n };
  }
  return best;
}

export type BoundHandler = BoundSpec["run"];
export type UnboundHandler = UnboundSpec["run"];
