// `pursuance client role …`, `remove`, `leave`, `announce`:
// membership and rules (`relay …` lives in client-relay-commands.ts).
import { delegateBody, rotateBody } from "../pursuance/actions.js";
import type { RolePatch } from "../pursuance/actions-rules.js";
import { entitled } from "../pursuance/state.js";
import { memberName } from "../pursuance/views.js";
import { clientEnv } from "../usecases/env.js";
import { amendRole, createRole, deleteRole, grantRole, removeMember, revokeRole } from "../usecases/members.js";
import { parseCaps, parseReads } from "../usecases/spellings.js";
import { announce } from "../usecases/identity.js";
import type { SubCommand } from "./client-context.js";
import { arg, runStaged, withClient, type Parsed, type Stage } from "./client-context.js";
import { parseIntFlag, UsageError } from "./usage.js";


/** --rank/--caps/--reads of `role amend`, checked before any network work. */
function rolePatch(p: Parsed): RolePatch {
  const patch: RolePatch = {};
  if (p.values.rank !== undefined) patch.rank = parseIntFlag("--rank", p.values.rank as string, 0, 1000);
  if (p.values.caps !== undefined) patch.caps = parseCaps(p.values.caps as string);
  if (p.values.reads !== undefined) patch.reads = parseReads(p.values.reads as string);
  if (Object.keys(patch).length === 0) throw new UsageError("role amend needs at least one of --rank, --caps, --reads");
  return patch;
}

/** `role …` checked (no network), ready to act on a synced client. */
export function roleStage(p: Parsed): Stage {
  const sub = arg(p, 0, "list, grant, revoke, create, amend or delete");
  if (!["list", "grant", "revoke", "create", "amend", "delete"].includes(sub)) throw new UsageError(`unknown role command ${JSON.stringify(sub)}`);
  const patch = sub === "amend" ? rolePatch(p) : null;
  return async (c, io) => {
    const s = c.state;
    if (sub === "list") {
      const roles = Object.entries(s.rules.roles).sort(([, a], [, b]) => b.rank - a.rank);
      if (p.values.json) return io.out(JSON.stringify(Object.fromEntries(roles), null, 2));
      for (const [name, r] of roles) {
        const holders = [...s.members.entries()].filter(([, m]) => m.roles.has(name)).map(([id]) => memberName(s, id));
        io.out(`${name.padEnd(14)} rank ${String(r.rank).padEnd(4)} reads ${r.reads.padEnd(9)} ${r.caps.join(",")}\n${"".padEnd(14)} held by: ${holders.join(", ") || "nobody"}`);
      }
      return;
    }
    if (sub === "grant" || sub === "revoke") {
      const o = { member: arg(p, 1, "a member"), role: arg(p, 2, "a role") };
      const { name, role } = await (sub === "grant" ? grantRole : revokeRole)(clientEnv(c), o);
      return io.out(`${sub === "grant" ? "granted" : "revoked"} ${role} ${sub === "grant" ? "to" : "from"} ${name}`);
    }
    if (sub === "create") {
      const name = arg(p, 1, "the role name");
      if (!p.values.rank) throw new UsageError("--rank is required");
      const rank = parseIntFlag("--rank", p.values.rank as string, 0, 1000);
      const caps = parseCaps((p.values.caps as string | undefined) ?? "");
      const reads = parseReads((p.values.reads as string | undefined) ?? "role");
      const { role } = await createRole(clientEnv(c), { name, rank, caps, reads });
      return io.out(`created role ${role}`);
    }
    if (sub === "amend" || sub === "delete") {
      const name = arg(p, 1, "the role name");
      if (!patch) return io.out(`deleted role ${(await deleteRole(clientEnv(c), { role: name })).role}`);
      const { role, def: d } = await amendRole(clientEnv(c), { role: name, patch });
      return io.out(`amended role ${role}: rank ${d.rank}, reads ${d.reads}, ${d.caps.join(",") || "no capabilities"}`);
    }
    throw new UsageError(`unknown role command ${JSON.stringify(sub)}`);
  };
}

export const MEMBER_COMMANDS: Record<string, SubCommand> = {
  keys: {
    usage: 'keys status | rotate SCOPE|all | delegate "ROLE" --to KEY | undelegate "ROLE" --to KEY',
    summary: "which keys you hold; rotate a key (SCOPE: group or a role); let a reader such as a bridge hold a role key (revocably)",
    options: { to: { type: "string" } },
    async run(p, io) {
      const sub = arg(p, 0, "status, rotate, delegate or undelegate");
      if (!["status", "rotate", "delegate", "undelegate"].includes(sub)) throw new UsageError(`unknown keys command ${JSON.stringify(sub)}`);
      const want = sub === "rotate" ? arg(p, 1, 'a key scope ("group", a role, or "all")') : "";
      await withClient(p, io, async (c) => {
        const s = c.state;
        if (sub === "status") {
          const rows = [...s.keys.entries()].map(([scope, k]) => ({
            scope,
            held: !!c.ring.get(k.keyId),
            needsRotation: k.needsRotation,
            delegates: [...(s.delegates.get(scope)?.entries() ?? [])].map(([to, by]) => ({ to, by: memberName(s, by) })),
          }));
          if (p.values.json) return io.out(JSON.stringify(rows, null, 2));
          for (const r of rows) io.out(`${r.scope.padEnd(14)} ${r.held ? "held" : "not held"}${r.needsRotation ? "  (rotation due)" : ""}${r.delegates.map((d) => `  delegated to ${d.to.slice(0, 16)}… by ${d.by}`).join("")}`);
          return;
        }
        if (sub === "rotate") {
          const mine = entitled(s, c.me).filter((sc) => s.keys.has(sc));
          if (want !== "all" && !s.keys.has(want)) throw new UsageError(`no key scope ${JSON.stringify(want)} (scopes: ${[...s.keys.keys()].join(", ")})`);
          if (want !== "all" && !mine.includes(want)) throw new UsageError(`you do not hold the ${JSON.stringify(want)} key (yours: ${mine.join(", ")})`);
          for (const scope of want === "all" ? mine : [want]) {
            await c.publish(rotateBody(c.actor, c.state, scope).body);
            io.out(`rotated "${scope}": new key ${c.state.keys.get(scope)!.keyId.slice(0, 16)}… sealed to ${c.state.keys.get(scope)!.holders.size} reader(s)`);
          }
          return;
        }
        const role = arg(p, 1, "a role");
        const to = p.values.to as string | undefined;
        if (!to || !/^[0-9a-f]{64}$/.test(to)) throw new UsageError("--to needs the reader's 64-hex key (a bridge shows it with !keys delegate ROLE)");
        if (sub === "delegate") {
          await c.publish(delegateBody(c.actor, s, role, to));
          return io.out(`delegated the "${role}" key to ${to.slice(0, 16)}…; take it back with: keys undelegate "${role}" --to ${to}`);
        }
        if (sub === "undelegate") {
          await c.publish({ t: "keys.undelegate", role, to });
          return io.out(`took the "${role}" key back from ${to.slice(0, 16)}…; it rotates away on the next sync of an entitled member`);
        }
        throw new UsageError(`unknown keys command ${JSON.stringify(sub)}`);
      });
    },
  },
  role: {
    usage: "role list | grant WHO ROLE | revoke WHO ROLE | create NAME --rank N --caps a,b [--reads role|assigned] | amend NAME [--rank N] [--caps a,b] [--reads role|assigned] | delete NAME",
    summary: "roles, their ranks and capabilities, and who holds them",
    options: { rank: { type: "string" }, caps: { type: "string" }, reads: { type: "string" } },
    run: runStaged(roleStage),
  },
  remove: {
    usage: "remove WHO [reason]",
    summary: "remove a member ranked below you (their keys rotate away)",
    async run(p, io) {
      const ref = arg(p, 0, "a member");
      await withClient(p, io, async (c) => {
        const { name } = await removeMember(clientEnv(c), { member: ref, reason: p.positionals.slice(1).join(" ") });
        io.out(`removed ${name}`);
      });
    },
  },
  leave: {
    usage: "leave",
    summary: "leave the pursuance",
    async run(p, io) {
      await withClient(p, io, async (c) => {
        await c.publish({ t: "leave" });
        io.out(`left ${c.state.name}`);
      });
    },
  },
  announce: {
    usage: 'announce "text"',
    summary: "post a signed public announcement",
    async run(p, io) {
      const text = arg(p, 0, "the announcement text");
      await withClient(p, io, async (c) => {
        const { id } = await announce(clientEnv(c), { text });
        io.out(id);
      });
    },
  },
};
