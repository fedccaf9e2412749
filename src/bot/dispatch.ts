// The bot's one entry point: text in, reply out (or null when the text is
// not a command of ours). Authorised twice: the bridge permission from the
// context, then the pursuance's rules through the client's dry run. Bad input
// of any kind becomes an error reply with the usage line; nothing escapes.
import { ActionError } from "../pursuance/actions.js";
import { BodyError } from "../pursuance/events.js";
import { InviteError } from "../pursuance/invite.js";
import { findTask, LookupError } from "../pursuance/views.js";
import type { PursuanceState } from "../pursuance/state.js";
import { findSpec, mayRun, parseInvocation, usageLine, whyNot, type CommandSpec, type Invocation } from "./command-spec.js";
import { COMMAND_TABLE, ROOT_ALIASES, ROOTS } from "./command-table.js";
import { Refusal, type BotContext, type BoundContext } from "./context.js";
import { humanize } from "./refs.js";
import { errorReply, type BotReply } from "./reply.js";
import { TokenizeError, tokenize } from "./tokenize.js";
import { UsageError } from "../usecases/errors.js";
import { didYouMean } from "../usecases/spellings.js";

const COMMAND = /^\s*!(\S+)/u;
/** `!word` alone, or a word a typo away from one of ours: meant as a command, so answered. */
const LONE = /^\s*!\p{L}[\p{L}\p{N}_-]*\s*$/u;

/** The usage lines of a command family, those the asker may run first (all of them if none). */
function familyUsage(family: readonly CommandSpec[], ctx: BotContext): string[] {
  const mine = family.filter((s) => mayRun(s, ctx));
  return (mine.length > 0 ? mine : family).map(usageLine);
}

/** Errors that mean "this input cannot be done", with a reason fit to show. */
function isRefusal(e: unknown): e is Error {
  return [UsageError, TokenizeError, ActionError, LookupError, BodyError, InviteError, Refusal].some((T) => e instanceof T);
}

/** Within one edit (or a swap) of a root or alias: a typo, not chat. */
function nearRoot(word: string): boolean {
  if (word.length < 3) return false;
  return [...ROOTS, ...Object.keys(ROOT_ALIASES)].some((r) => editDistance(word, r) <= 1 || (word.length === r.length && [...word].sort().join("") === [...r].sort().join("") && editDistance(word, r) <= 2));
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

export async function handleCommand(text: string, ctx: BotContext, table: readonly CommandSpec[] = COMMAND_TABLE): Promise<BotReply | null> {
  const m = COMMAND.exec(text);
  if (!m) return null;
  const word = m[1]!.toLowerCase();
  const root = ROOT_ALIASES[word] ?? word;
  if (!ROOTS.has(root)) {
    // "!important meeting" is chat; "!foo" or "!taks list" is a command we do not have.
    if (!LONE.test(text) && !nearRoot(root)) return null;
    return errorReply(`no command !${m[1]}; try !help`, []);
  }
  const family = table.filter((s) => s.path[0] === root);

  let tokens;
  try {
    tokens = tokenize(text.trim());
  } catch (e) {
    return errorReply((e as Error).message, familyUsage(family, ctx));
  }
  // A quoted word never names a subcommand.
  const words = [root, ...tokens.slice(1).map((t) => (t.quoted ? "" : t.text.toLowerCase()))];
  const found = findSpec(family, words);
  if (!found) {
    const subs = family.map((s) => s.path[1]).filter(Boolean).join(", ");
    const sub = tokens[1]?.text;
    const names = family.map((s) => s.path[1]).filter((x): x is string => Boolean(x));
    const reason = sub === undefined ? `!${root} needs one of: ${subs}` : `unknown command !${root} ${sub}${didYouMean(sub, names)} (!${root} takes: ${subs})`;
    return errorReply(reason, familyUsage(family, ctx));
  }
  const { spec, used } = found;
  const usage = [usageLine(spec)];
  // Parsed once, here: what the handler runs on and what the host learns (contentOf) come from the same words.
  let inv: Invocation | undefined;
  let badUsage: unknown;
  try {
    inv = parseInvocation(spec, table, tokens.slice(used));
  } catch (e) {
    badUsage = e;
  }
  const contentOf = inv && ctx.client ? taskContentOf(spec, inv, ctx.client.state) : undefined;
  const about = (r: BotReply): BotReply => (contentOf ? { ...r, contentOf } : r);
  const refused = whyNot(spec, ctx, false);
  if (refused) return about(errorReply(`refused: ${refused}`, usage));

  try {
    if (!inv) throw badUsage;
    return about(spec.room === "unbound" || spec.room === "any" || spec.room === "bound-any" ? await spec.run(inv, ctx) : await spec.run(inv, ctx as BoundContext));
  } catch (e) {
    const message = (e as Error)?.message ?? String(e);
    // Reasons name members by id prefix; say their names instead.
    const reason = ctx.client ? humanize(ctx.client.state, message) : message;
    if (isRefusal(e)) return about(errorReply(reason, usage));
    return about(errorReply(`failed: ${reason}`, usage, true));
  }
}

/** The task whose content this command carries, when it carries any and names a task that exists. */
function taskContentOf(spec: CommandSpec, inv: Invocation, s: PursuanceState): string | undefined {
  if (!spec.content || (inv.opt(spec.content) ?? "").trim() === "") return undefined;
  const ref = inv.opt("id");
  if (ref === undefined) return undefined;
  try {
    return findTask(s, ref).id;
  } catch {
    return undefined;
  }
}
