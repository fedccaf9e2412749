// `pursuance client <command>`: the client for members who hold their own
// keys. A table of subcommands, each with its usage line; help is generated.
import { readFileSync, writeFileSync } from "node:fs";
import { toHex } from "../cwtch/bytes.js";
import { loadCrypto } from "../cwtch/crypto.js";
import { PursuanceClient } from "../pursuance/client/client.js";
import { refusedRequestFrames } from "../pursuance/client/requests.js";
import { linkRefusals } from "../pursuance/client/link-frames.js";
import { inviteStatus } from "../pursuance/state.js";
import { memberName } from "../pursuance/views.js";
import { sealComplaints } from "../pursuance/seal-complaints.js";
import { decodeInvite, encodeInvite, type Invite } from "../pursuance/invite.js";
import { exportLog, parseLogFile, verifyLog } from "../pursuance/log-file.js";
import { Home } from "./home.js";
import { arg, commandFirst, COMMON_HELP, homeOf, joinAndWait, joinRefusal, parse, session, settle, stdio, unanswered, withClient, type Io, type Parsed, type SubCommand } from "./client-context.js";
import { MEMBER_COMMANDS } from "./client-member-commands.js";
import { RELAY_COMMANDS, RelayDownError } from "./client-relay-commands.js";
import { WHOIS_COMMANDS } from "./client-whois-commands.js";
import { PROFILE_COMMANDS } from "./client-profile-commands.js";
import { REQUEST_COMMANDS } from "./client-request-commands.js";
import { LINK_COMMANDS } from "./client-link-commands.js";
import { TASK_COMMANDS } from "./client-task-commands.js";
import { NOTICE_COMMANDS, tellAssignments } from "./client-notice-commands.js";
import { LEADER_COMMANDS } from "./client-leader-commands.js";
import { commandHelp } from "./client-help.js";
import { UsageError } from "./usage.js";
import { clientEnv } from "../usecases/env.js";
import { createInvite, revokeInvite } from "../usecases/members.js";
import { didYouMean } from "../usecases/spellings.js";

/**
 * The invite with `--relay` URLs in place of its own relays: an invite names
 * the relays as its maker saw them, which may be a name only their host
 * resolves (ws://relay:7717 in a compose stack) or an address since moved.
 */
export function withRelays(invite: Invite, relays: readonly string[]): Invite {
  if (relays.length === 0) return invite;
  for (const r of relays) if (!/^wss?:\/\/[^\s/]+\S*$/.test(r)) throw new UsageError(`--relay: ${JSON.stringify(r)} is not a ws:// or wss:// URL`);
  return { ...invite, relays: [...new Set(relays)] };
}

function inviteRows(c: PursuanceClient) {
  const now = Date.now();
  return [...c.state.invites.entries()].map(([id, i]) => ({
    id,
    role: i.role,
    by: memberName(c.state, i.by),
    status: inviteStatus(i, now),
    expires: i.expires === undefined ? null : new Date(i.expires).toISOString(),
    usedBy: i.usedBy === null ? null : memberName(c.state, i.usedBy),
  }));
}

const CORE: Record<string, SubCommand> = {
  init: {
    usage: "init --name NAME",
    summary: "create this member's identity (an Ed25519 key) in --home",
    options: { name: { type: "string" } },
    async run(p, io) {
      const name = p.values.name as string | undefined;
      if (!name) throw new UsageError("--name is required");
      const me = new Home(homeOf(p)).init(await loadCrypto(), name);
      io.out(p.values.json ? JSON.stringify({ id: me.id, name }) : `identity ${me.id} (${name}) in ${homeOf(p)}`);
    },
  },
  create: {
    usage: 'create "<name>" --relay URL [--relay URL…] [--mission TEXT]',
    summary: "found a pursuance on these relays; prints its id",
    options: { relay: { type: "string", multiple: true }, mission: { type: "string" } },
    async run(p, io) {
      const name = arg(p, 0, "the pursuance name");
      const relays = (p.values.relay as string[] | undefined) ?? [];
      if (relays.length === 0) throw new UsageError("at least one --relay URL is required");
      for (const r of relays) if (!/^wss?:\/\/\S+$/.test(r)) throw new UsageError(`--relay: ${JSON.stringify(r)} is not a ws:// or wss:// URL`);
      const s = await session(p);
      try {
        if (s.home.hasPursuance()) throw new UsageError(`${s.home.dir} already belongs to a pursuance; use another --home`);
        // Before a genesis is signed: its post would otherwise wait out a deadline of its own on a dead address.
        const down = await unanswered(p, relays);
        if (down.length > 0) throw new RelayDownError(down.map((d) => d.url), `${down.map((d) => `${d.url} does not answer: ${d.detail}`).join("; ")}; nothing was created`);
        const groupId = toHex(s.crypto.randomBytes(32));
        const c = await PursuanceClient.create(s.ports(groupId, (m) => io.err(`warning: ${m}`)), s.me.keys, {
          groupId,
          name,
          founderName: s.me.name,
          relays,
          ...(p.values.mission ? { mission: p.values.mission as string } : {}),
        });
        s.home.savePursuance(c.config);
        await settle(c, io);
        c.close();
        io.out(c.id);
      } finally {
        await s.db.close();
      }
    },
  },
  invite: {
    usage: "invite [--role ROLE] [--expires DUR] | invite list | invite revoke ID",
    summary: "print a single-use keyless invite (default role: change agent, expires in 7d); list invites; revoke one",
    options: { role: { type: "string" }, expires: { type: "string" } },
    async run(p, io) {
      const sub = p.positionals[0];
      if (sub !== undefined && sub !== "list" && sub !== "revoke") throw new UsageError(`unknown invite subcommand ${JSON.stringify(sub)} (list, revoke)`);
      await withClient(p, io, async (c) => {
        if (sub === "list") {
          const rows = inviteRows(c);
          if (p.values.json) return io.out(JSON.stringify(rows, null, 2));
          if (rows.length === 0) return io.out("no invites");
          for (const r of rows) io.out(`${r.id.slice(0, 16)}  ${r.status.padEnd(8)} ${r.role.padEnd(16)} by ${r.by.padEnd(12)} ${r.expires ? `expires ${r.expires}` : "no expiry"}${r.usedBy ? `  used by ${r.usedBy}` : ""}`);
          return;
        }
        if (sub === "revoke") {
          const { invite } = await revokeInvite(clientEnv(c), { invite: arg(p, 1, "the invite id (see 'invite list')") });
          io.out(`revoked invite ${invite.slice(0, 16)}`);
          return;
        }
        const { invite, role } = await createInvite(clientEnv(c), { role: p.values.role as string | undefined, expires: p.values.expires as string | undefined });
        io.err(`invite as ${role}, expires ${new Date(invite.expires).toISOString()}; it carries no keys: a member's client must be online when it is used`);
        io.out(encodeInvite(invite));
      });
    },
  },
  join: {
    usage: "join <invite> [--relay URL…]",
    summary: "join a pursuance with an invite (waits --timeout for an online member to let you in); --relay: reach it at URL instead of the invite's relays (an address that moved, or one only its host resolves)",
    options: { relay: { type: "string", multiple: true } },
    async run(p, io) {
      const invite = withRelays(decodeInvite(arg(p, 0, "the invite")), (p.values.relay as string[] | undefined) ?? []);
      let s = await session(p);
      try {
        if (s.home.hasPursuance()) {
          if (!s.home.pursuance().joining) throw new UsageError(`${s.home.dir} already belongs to a pursuance; use another --home`);
          // Never let in: start over with a new key (the old request is kept aside, not erased).
          const old = s.home.startOver(s.crypto);
          io.err(`this home's earlier request to join was never let in; starting over with a new key (the old one, ${old.slice(0, 16)}, is kept in ${s.home.dir})`);
          await s.db.close();
          s = await session(p);
        }
        await joinAndWait(p, io, s, invite);
      } finally {
        await s.db.close();
      }
    },
  },
  status: {
    usage: "status [--json]",
    summary: "members, roles, relays, gaps and the state hash",
    async run(p, io) {
      await withClient(p, io, async (c) => {
        const st = c.group.status();
        const s = c.state;
        const summary = {
          pursuance: c.id,
          name: s.name,
          me: c.me,
          leader: s.leader,
          stateHash: c.hash(),
          events: st.events,
          pending: st.pending,
          gaps: st.gaps,
          equivocations: st.equivocations,
          relays: st.relays,
          roles: Object.entries(s.rules.roles).map(([name, r]) => ({ name, ...r })).sort((a, b) => b.rank - a.rank),
          members: [...s.members.entries()].map(([id, m]) => ({ id, name: m.name, roles: [...m.roles].sort() })),
          tasks: s.taskIds.length,
          rejected: s.rejected.length,
          // Request frames refused on the request channel during this run, with why (they never reach the log).
          refusedRequests: refusedRequestFrames(c),
          // Link frames refused before they reached the log (forged, replayed, misaddressed, oversized), with why.
          linkRefused: linkRefusals(c),
          // Seals a holder said did not open: the reporter's word alone, naming no one else (docs/protocol.md).
          flags: sealComplaints(s).map((b) => ({ kind: "unreadable seal", ...b })),
          invites: inviteRows(c),
          ...(c.config.joining ? { joining: true } : {}),
        };
        if (p.values.json) return io.out(JSON.stringify(summary, null, 2));
        io.out(`${s.name}  (${c.id})`);
        io.out(`state hash ${summary.stateHash}  events ${st.events}  pending ${st.pending}  rejected ${s.rejected.length}`);
        io.out(`relays: ${st.relays.map((r) => `${r.url}${r.connected ? "" : " (down)"}`).join(", ")}`);
        for (const f of summary.flags) io.out(`${f.reporter.slice(0, 16)} says it could not open the "${f.scope}" key ${f.keyId.slice(0, 12)} (its word; a holder re-shares it)`);
        if (c.config.joining) io.out("waiting to be let in: run 'sync' again while a member's client is online");
        const open = summary.invites.filter((i) => i.status === "open");
        if (open.length > 0) io.out(`open invites: ${open.map((i) => `${i.id.slice(0, 12)} (${i.role}, expires ${i.expires})`).join("; ")}`);
        for (const m of summary.members) io.out(`  ${m.name.padEnd(16)} ${m.roles.join(", ").padEnd(24)} ${m.id.slice(0, 16)}${m.id === s.leader ? "  (leader)" : ""}`);
      });
    },
  },
  sync: {
    usage: "sync [--timeout DUR]",
    summary: "fetch from every relay, repair gaps, do pending key duties",
    async run(p, io) {
      await withClient(p, io, async (c, s) => {
        const st = c.group.status();
        io.out(p.values.json ? JSON.stringify({ events: st.events, pending: st.pending, stateHash: c.hash() }) : `synced: ${st.events} events, ${st.pending} pending, state ${c.hash()}`);
        if (!p.values.json) tellAssignments(c, s.home, io);
        const refused = joinRefusal(c);
        if (refused) throw refused;
      });
    },
  },
  log: {
    usage: "log export FILE",
    summary: "write every event's signed bytes to FILE (for verify, audit, backup)",
    async run(p, io) {
      if (p.positionals[0] !== "export") throw new UsageError("usage: log export FILE");
      const file = arg(p, 1, "the output FILE");
      await withClient(p, io, async (c) => {
        writeFileSync(file, JSON.stringify(exportLog(c.id, c.config.groupId, c.session.log.events())) + "\n", { mode: 0o600 });
        io.out(`wrote ${c.session.log.size} events to ${file}`);
      });
    },
  },
  verify: {
    usage: "verify FILE",
    summary: "recompute the state and its hash from an exported log; list rejected events",
    async run(p, io) {
      const r = verifyLog(await loadCrypto(), parseLogFile(readFileSync(arg(p, 0, "the log FILE"), "utf8")));
      if (p.values.json) return io.out(JSON.stringify(r, null, 2));
      io.out(`stateHash ${r.stateHash}`);
      io.out(`${r.events} events, ${r.applied} applied, ${r.rejected.length} rejected, ${r.invalid.length} invalid`);
      for (const x of r.rejected) io.out(`rejected ${x.id.slice(0, 16)} ${x.type} by ${x.author.slice(0, 12)}: ${x.reason}`);
      for (const x of r.invalid) io.out(`invalid entry ${x.index}: ${x.reason}`);
    },
  },
};

export const CLIENT_COMMANDS: Record<string, SubCommand> = { ...CORE, ...TASK_COMMANDS, ...MEMBER_COMMANDS, ...RELAY_COMMANDS, ...LEADER_COMMANDS, ...WHOIS_COMMANDS, ...PROFILE_COMMANDS, ...REQUEST_COMMANDS, ...LINK_COMMANDS, ...NOTICE_COMMANDS };

export function clientHelp(): string {
  const lines = Object.values(CLIENT_COMMANDS).map((c) => `  ${c.usage.padEnd(58)} ${c.summary}`);
  return `Usage: pursuance client <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nOptions: each command's own ('pursuance client <command> --help'), and the common options below\n\nExample:\n  pursuance client status --home ~/ada\n\n${COMMON_HELP}\n`;
}

export async function runClientCommand(argv: string[], io: Io = stdio): Promise<number> {
  const [name, ...rest] = commandFirst(argv);
  if (!name || name === "--help" || name === "-h" || name === "help") {
    io.out(clientHelp());
    return name ? 0 : 2;
  }
  const cmd = Object.hasOwn(CLIENT_COMMANDS, name) ? CLIENT_COMMANDS[name]! : undefined;
  if (!cmd) {
    io.err(`pursuance client: unknown command ${JSON.stringify(name)}${didYouMean(name, Object.keys(CLIENT_COMMANDS))}\n\n${clientHelp()}`);
    return 2;
  }
  try {
    const p = parse(rest, cmd.options);
    if (p.values.help) {
      io.out(commandHelp(name, cmd));
      return 0;
    }
    return (await cmd.run(p, io)) ?? 0;
  } catch (e) {
    const err = e as Error;
    // A name that matches no member, task or role is a bad argument too: show the usage with it.
    if (err instanceof UsageError || err.name === "LookupError") {
      io.err(`pursuance client ${name}: ${err.message}\nUsage: pursuance client ${cmd.usage}`);
      return 2;
    }
    // The message says what happened; the class it came in is ours, not the member's.
    io.err(`pursuance client ${name}: ${err.message}`);
    return 1;
  }
}
