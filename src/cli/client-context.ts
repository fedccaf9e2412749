// What every `pursuance client …` command shares: its common flags, opening
// the member's home and pursuance, and closing cleanly after the command's
// automatic duties (key rotations and shares) have gone out.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { JoinRefusedError, PursuanceClient } from "../pursuance/client/client.js";
import type { Invite } from "../pursuance/invite.js";
import { probeRelay, RelayProbeError } from "../cwtch/relay-probe.js";
import { humanize } from "../bot/refs.js";
import { defaultHome, openSession, type Session } from "./home.js";
import { parseDuration, UsageError } from "./usage.js";

export const COMMON_OPTIONS = {
  home: { type: "string" },
  db: { type: "string" },
  socks: { type: "string" },
  json: { type: "boolean" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

export const COMMON_HELP = `Common options:
  --home DIR       this member's folder: identity, pursuance, database (default $PURSUANCE_HOME or ~/.pursuance)
  --db URL         use PostgreSQL (postgres://…) instead of the embedded database in <home>/db
  --socks URL      reach relays through a SOCKS5 proxy, e.g. socks5h://127.0.0.1:9050 for Tor (.onion relays)
  --timeout DUR    how long to sync before acting (default 15s)
  --json           machine-readable output where offered
  -h, --help       show help`;

/**
 * The command first, then everything else: users type the common options anywhere, before the
 * command too (`client --home D status`, `pursuance --home D client status`). Leading common
 * options are moved after the first word that is not one; anything else is left where it was,
 * for the parser to name.
 */
export function commandFirst(argv: readonly string[]): string[] {
  const lead: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--([^=]+)(=.*)?$/.exec(a);
    const opt = m && m[1] !== "help" && Object.hasOwn(COMMON_OPTIONS, m[1]!) ? COMMON_OPTIONS[m[1]! as keyof typeof COMMON_OPTIONS] : undefined;
    if (!opt) break;
    lead.push(a);
    if (opt.type === "string" && m![2] === undefined && i + 1 < argv.length) lead.push(argv[++i]!);
  }
  return i < argv.length ? [argv[i]!, ...lead, ...argv.slice(i + 1)] : [...lead];
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export const stdio: Io = {
  out: (l) => void process.stdout.write(l + "\n"),
  err: (l) => void process.stderr.write(l + "\n"),
};

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/**
 * `-later` (a dash and a word) is never one of our flags: it is a word, as
 * the bot reads it (`task label 3 +urgent -later`), so it goes behind `--`,
 * unless it is the value of the string option before it.
 */
function wordsAsPositionals(argv: string[], options: NonNullable<ParseArgsConfig["options"]>): string[] {
  const end = argv.indexOf("--");
  const head = end === -1 ? argv : argv.slice(0, end);
  const tail = end === -1 ? [] : argv.slice(end + 1);
  const takesValue = (t: string | undefined) => t !== undefined && t.startsWith("--") && !t.includes("=") && options[t.slice(2)]?.type === "string";
  const words: string[] = [];
  const kept = head.filter((t, i) => {
    const word = /^-[a-z][a-z0-9_-]+$/i.test(t) && !takesValue(head[i - 1]);
    if (word) words.push(t);
    return !word;
  });
  return words.length === 0 ? argv : [...kept, "--", ...words, ...tail];
}

export function parse(argv: string[], extra: ParseArgsConfig["options"] = {}): Parsed {
  try {
    const options = { ...COMMON_OPTIONS, ...extra };
    const r = parseArgs({ args: wordsAsPositionals(argv, options), options, allowPositionals: true, strict: true });
    return { values: r.values as Parsed["values"], positionals: r.positionals };
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^Unknown option/, "unknown option"));
  }
}

/** The i-th positional argument, or a usage error naming what is missing. */
export function arg(p: Parsed, i: number, what: string): string {
  const v = p.positionals[i];
  if (v === undefined || v === "") throw new UsageError(`missing ${what}`);
  return v;
}

export function homeOf(p: Parsed): string {
  return (p.values.home as string | undefined) ?? defaultHome();
}

export function timeoutOf(p: Parsed): number {
  return p.values.timeout ? parseDuration("--timeout", p.values.timeout as string) : 15_000;
}

/**
 * Ask each relay for its greeting within --timeout, all at once: a pursuance is pointed at an
 * address only once something there answers as a relay (a post would wait out its own deadline).
 * The failures, each a RelayProbeError naming its URL and what happened; none when all answer.
 */
export async function unanswered(p: Parsed, urls: readonly string[]): Promise<RelayProbeError[]> {
  const socksProxy = p.values.socks as string | undefined;
  const r = await Promise.allSettled(urls.map((u) => probeRelay(u, { timeoutMs: timeoutOf(p), ...(socksProxy ? { socksProxy } : {}) })));
  return r.flatMap((x, i) => (x.status === "fulfilled" ? [] : [x.reason instanceof RelayProbeError ? x.reason : new RelayProbeError(urls[i]!, "unreachable", String(x.reason))]));
}

export async function session(p: Parsed): Promise<Session> {
  return openSession(homeOf(p), p.values.db as string | undefined, p.values.socks as string | undefined);
}

/** Open the home's pursuance, connect, sync (with progress on stderr), run `fn`, let duties finish, close. */
export async function withClient<T>(p: Parsed, io: Io, fn: (c: PursuanceClient, s: Session) => Promise<T>): Promise<T> {
  const s = await session(p);
  const cfg = s.home.pursuance();
  // Every write goes through here: one no relay takes is kept and queued, and the member is told so.
  const c = await PursuanceClient.open(s.ports(cfg.groupId, (m) => io.err(`warning: ${m}`)), s.me.keys, cfg, { keepUnsent: true, onConfigChanged: (next) => s.home.savePursuance(next) });
  try {
    await c.start();
    await syncWithProgress(c, io, timeoutOf(p));
    // Told on every command (status still answers); `sync` and `join` exit 1 on it (joinRefusal).
    if (joinRefusal(c)) io.err(`warning: ${joinRefusal(c)!.message}`);
    const before = new Set(c.config.unsent);
    const r = await fn(c, s).catch((e: unknown) => {
      // The rules name members by id (every client words a rejection alike); the member reads names.
      if (e instanceof Error) e.message = humanize(c.state, e.message);
      throw e;
    });
    await settle(c, io);
    s.home.savePursuance(c.config);
    tellUnsent(c, io, (c.config.unsent ?? []).some((id) => !before.has(id)));
    return r;
  } finally {
    c.close();
    await s.db.close();
  }
}

/** What this home wrote that no relay holds yet: a write kept, not lost, and not to be made twice. */
function tellUnsent(c: PursuanceClient, io: Io, wroteNow: boolean): void {
  const n = c.config.unsent?.length ?? 0;
  if (n === 0) return;
  const what = `${n} event${n === 1 ? "" : "s"} saved here ${n === 1 ? "is" : "are"} not on any relay yet; any command that reaches a relay sends ${n === 1 ? "it" : "them"} (pursuance client sync)`;
  io.err(wroteNow ? `saved; will be sent when a relay answers (${what})` : `warning: ${what}`);
}

export async function syncWithProgress(c: PursuanceClient, io: Io, timeoutMs: number): Promise<void> {
  let lastPrinted = 0;
  const onProgress = (pr: { events: number; pending: number; gaps: number; relaysConnected: number }) => {
    if (Date.now() - lastPrinted < 1000) return;
    lastPrinted = Date.now();
    io.err(`syncing: ${pr.events} events, ${pr.pending} pending, ${pr.gaps} gaps, ${pr.relaysConnected}/${c.config.relays.length} relays`);
  };
  c.on("progress", onProgress);
  try {
    const pr = await c.sync({ timeoutMs });
    // Nothing is lost: the local copy is whole, and the relay connections keep retrying for as long as the command runs.
    if (pr.relaysConnected === 0)
      io.err(`warning: no relay reachable (${c.group.relayUrls.join(", ")}); working from the local copy (${pr.events} events), retrying. If the pursuance moved or its relays were lost, point this client at it: pursuance client relay add URL`);
  } finally {
    c.off("progress", onProgress);
  }
}

/** Let automatic duties (rotations, shares) that this command triggered go out before exiting. */
export async function settle(c: PursuanceClient, io: Io, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    await c.flushed();
    await new Promise((r) => setTimeout(r, 50));
    if (c.duty.inflight.size === 0 || Date.now() > end) break;
  }
  if (c.duty.inflight.size > 0) io.err(`warning: ${c.duty.inflight.size} key duties still in flight; run 'sync' again`);
}

/** A member said our invite cannot let us in: keep nothing of this pursuance, so the home can join with another invite. */
/**
 * A member's client said the invite cannot let us in. That answer is not
 * signed (anyone holding the rendezvous secret can send one, a seedling
 * included), so nothing is dropped on its word: the member is told, and
 * chooses — wait on (`sync`), or start over with another invite (`join`,
 * which gives this home a new key so the two joins never collide).
 */
async function refusedJoin(c: PursuanceClient, _s: Session, e: JoinRefusedError): Promise<never> {
  c.close();
  throw refusalFor(e.reason);
}

function refusalFor(reason: string): JoinRefusedError {
  return new JoinRefusedError(`${reason} (said by a member's client; the answer is not signed). This home keeps its request: 'pursuance client sync' goes on waiting, or 'pursuance client join <another invite>' starts over with a new key for this home`);
}

/** A member's client said this home's pending join cannot be let in (see refusedJoin), or null. */
export function joinRefusal(c: PursuanceClient): JoinRefusedError | null {
  return c.config.joining && c.rv.refused !== undefined ? refusalFor(c.rv.refused) : null;
}

/**
 * Join with an invite and wait `--timeout` to be let in; the home keeps the pursuance unless a
 * member says the invite cannot let us in (a later 'sync' asks again, and hears such an answer too).
 */
export async function joinAndWait(p: Parsed, io: Io, s: Session, invite: Invite): Promise<void> {
  const c = await PursuanceClient.requestJoin(s.ports(invite.groupId, (m) => io.err(`warning: ${m}`)), s.me.keys, invite, s.me.name);
  // Saved first: if no member is online now, a later 'sync' asks again and picks up the keys.
  s.home.savePursuance(c.config);
  io.err(`asked to join ${invite.name} as ${invite.role}; waiting for a member's client to let us in…`);
  const ok = await c.waitAdmitted(timeoutOf(p)).catch((e: unknown) => (e instanceof JoinRefusedError ? refusedJoin(c, s, e) : Promise.reject(e)));
  if (ok) {
    await syncWithProgress(c, io, 3_000);
    s.home.savePursuance(c.config);
  }
  c.close();
  if (!ok) {
    io.err(`not let in yet: no member's client answered within the timeout. The request stays on the relays; run 'pursuance client sync' after a member has synced.`);
    io.out(p.values.json ? JSON.stringify({ pursuance: invite.pursuanceId, name: invite.name, role: invite.role, admitted: false }) : `waiting to join ${invite.name} (${invite.pursuanceId})`);
    return;
  }
  io.out(p.values.json ? JSON.stringify({ pursuance: c.id, name: c.state.name, role: invite.role, admitted: true }) : `joined ${c.state.name} (${c.id}) as ${invite.role}`);
}

/** A command checked without network or disk, ready to act on a synced client (tests drive it on their own clients). */
export type Stage = (c: PursuanceClient, io: Io) => Promise<void>;

/** `run` for a staged command: check first (exit 2 before any network work), then open the home's client and act. */
export function runStaged(stage: (p: Parsed) => Stage): SubCommand["run"] {
  return async (p, io) => {
    const act = stage(p);
    await withClient(p, io, (c) => act(c, io));
  };
}

/** One `pursuance client` subcommand: the command files fill tables of these, client-command.ts dispatches. */
export interface SubCommand {
  usage: string;
  summary: string;
  options?: ParseArgsConfig["options"];
  run(p: Parsed, io: Io): Promise<number | void>;
}
