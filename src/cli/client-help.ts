// What `pursuance client <command> --help` teaches: the usage line, each
// subcommand on a line of its own, every option of the command with the
// value it takes, and an example to copy (test/cli-help.test.ts fails for a
// command added without one).
import { TASK_STATUSES } from "../pursuance/events.js";
import { COMMON_HELP, type SubCommand } from "./client-context.js";

/** The value an option takes, as help shows it; an option not named here shows its own name in capitals. */
const VALUES: Record<string, string> = {
  relay: "URL",
  mission: "TEXT",
  role: "ROLE",
  expires: "DUR (e.g. 2d, 12h)",
  assign: "WHO|role:ROLE|none",
  due: "DATE|SPAN (create: 2026-12-31, today, tomorrow, +3d, +2w; list/search: open and due within a span like 14d, or by a date)",
  assignee: "WHO|role:ROLE|none",
  parent: "#N",
  deliverables: "TEXT",
  status: `STATUS (${TASK_STATUSES.join(", ")})`,
  to: "KEY",
  rank: "N",
  caps: "CAP[,CAP…]",
  reads: "role|assigned",
  "succession-role": "ROLE",
  quorum: "N",
  "silent-after": "DUR",
  "rotate-every": "DUR|off",
  "file-limit": "SIZE (e.g. 20MiB; at most 128MiB)",
  join: "TEXT",
  room: "#name:server",
  limit: "N",
  work: "BITS",
  keep: "KEY|NAME",
  reason: "TEXT",
  message: "TEXT",
  as: "NAME",
  roles: "ROLE[,ROLE…]",
  body: "TEXT",
  note: "TEXT",
  name: "NAME",
  format: "json|csv|ics",
  out: "FILE",
  wait: "DUR (task fetch: how long to wait for a missing chunk, default 30s)",
};

/** One example per command, as a member would type it (the common options left out). */
export const EXAMPLES: Record<string, string> = {
  init: "init --name ada --home ~/ada",
  create: 'create "Open Records" --relay ws://127.0.0.1:7717 --mission "FOIA requests, filed and followed"',
  invite: "invite --role admin --expires 2d",
  join: "join 'pursuance:invite/…' --home ~/bob",
  status: "status --json",
  sync: "sync --timeout 30s",
  log: "log export log.json",
  verify: "verify log.json",
  task: 'task create "File FOIA request" --role "change agent" --due +3d',
  keys: 'keys delegate "change agent" --to 3f9a…',
  role: 'role grant bob admin',
  remove: 'remove bob "left the group"',
  leave: "leave",
  announce: 'announce "We filed 12 requests this week"',
  relay: "relay add ws://relay.example.org:7717",
  rules: "rules policy --succession-role admin --quorum 2 --silent-after 14d",
  leader: "leader vote bob",
  whois: "whois bob",
  profile: 'profile set --mission "Open records for all" --join "ask at the monthly meeting"',
  requests: "requests open --limit 20",
  admit: 'admit new --role "change agent"',
  refuse: 'refuse new --reason "we only take people we have met"',
  request: 'request pursuance:request/… --message "I can translate"',
  link: "link offer --roles admin",
  export: "export --format ics --out ~/pursuance-tasks.ics",
  digest: "digest",
};

function valueOf(name: string): string {
  return VALUES[name] ?? name.toUpperCase().replace(/-/g, "_");
}

/** "task create … | list …" → one line per subcommand, each naming the command. */
function subcommands(name: string, usage: string): string[] {
  const alts = usage.split(" | ");
  if (alts.length < 2) return [];
  return alts.map((a) => (a === name || a.startsWith(`${name} `) ? a : `${name} ${a}`));
}

export function commandHelp(name: string, cmd: SubCommand): string {
  const out = [`Usage: pursuance client ${cmd.usage}`, "", cmd.summary, ""];
  const subs = subcommands(name, cmd.usage);
  if (subs.length > 0) out.push("Subcommands:", ...subs.map((s) => `  ${s}`), "");
  const opts = Object.entries(cmd.options ?? {}).map(([n, o]) => `  --${n}${o.type === "string" ? ` ${valueOf(n)}` : ""}${o.multiple ? " (repeatable)" : ""}`);
  out.push("Options:", ...(opts.length > 0 ? opts : ["  (none of its own; see the common options)"]), "");
  const example = EXAMPLES[name];
  if (example !== undefined) out.push("Example:", `  pursuance client ${example}`, "");
  out.push(COMMON_HELP);
  return out.join("\n");
}
