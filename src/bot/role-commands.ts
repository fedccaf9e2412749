// `!role …` and `!rules`: who holds which role, what each role may do, and
// changes to both. Authority (rank, capabilities) is the rules' to judge.
import type { RolePatch } from "../pursuance/actions-rules.js";
import { successionText } from "./leader-commands.js";
import { CAPABILITIES } from "../pursuance/rules.js";
import type { PursuanceState } from "../pursuance/state.js";
import { memberName } from "../pursuance/views.js";
import type { BoundHandler } from "./command-spec.js";
import { done, html, type Html } from "./reply.js";
import { SpellingError, UsageError } from "../usecases/errors.js";
import { amendRole, createRole, deleteRole, grantRole, revokeRole } from "../usecases/members.js";
import { findRole, parseCaps, parseIntFlag, parseReads } from "../usecases/spellings.js";

function rolesByRank(s: PursuanceState) {
  return Object.entries(s.rules.roles).sort(([an, a], [bn, b]) => b.rank - a.rank || an.localeCompare(bn));
}

function holders(s: PursuanceState, role: string): string[] {
  return [...s.members.entries()].filter(([, m]) => m.roles.has(role)).map(([id]) => memberName(s, id));
}

function capsText(caps: readonly string[]): string {
  return caps.length === CAPABILITIES.length ? "all capabilities" : caps.length === 0 ? "no capabilities" : caps.join(", ");
}

function roleRows(s: PursuanceState): Array<{ plain: string; html: Html }> {
  return rolesByRank(s).map(([name, r]) => {
    const reads = r.reads === "role" ? "reads its tasks" : "reads only tasks assigned to them";
    const who = holders(s, name).join(", ") || "nobody";
    return {
      plain: `${name} (rank ${r.rank}, ${reads}): ${capsText(r.caps)}; held by ${who}`,
      html: html`<b>${name}</b> (rank ${r.rank}, ${reads}): ${capsText(r.caps)}; held by ${who}`,
    };
  });
}

export const roleList: BoundHandler = async (_inv, ctx) => {
  const rows = roleRows(ctx.client.state);
  return { kind: "ok", plain: rows.map((r) => r.plain).join("\n"), html: html`<ul>${rows.map((r) => html`<li>${r.html}</li>`)}</ul>`.value };
};

export const rules: BoundHandler = async (_inv, ctx) => {
  const s = ctx.client.state;
  const rows = roleRows(s);
  const rot = s.rules.rotation.everyMs === null ? "on membership change only" : `at least every ${Math.round(s.rules.rotation.everyMs / 3_600_000)} h`;
  const succ = successionText(s);
  const leader = s.leader ? memberName(s, s.leader) : "nobody";
  const plain = [`Rules of ${s.name} (leader: ${leader})`, ...rows.map((r) => `• ${r.plain}`), `succession: ${succ}`, `key rotation: ${rot}`].join("\n");
  const h = html`<b>Rules of ${s.name}</b> (leader: ${leader})<ul>${rows.map((r) => html`<li>${r.html}</li>`)}</ul>succession: ${succ}<br>key rotation: ${rot}`;
  return { kind: "ok", plain, html: h.value };
};

/** --rank, in the bot's words (the CLI says "bad value"). */
function rankOf(v: string): number {
  try {
    return parseIntFlag("--rank", v, 0, 1000);
  } catch {
    throw new SpellingError(`--rank: ${JSON.stringify(v)} is not a whole number 0..1000`, "integer", v, "--rank");
  }
}

export const roleCreate: BoundHandler = async (inv, ctx) => {
  const rank = rankOf(inv.flag("rank") ?? "");
  const caps = parseCaps(inv.flag("caps") ?? "");
  const reads = parseReads(inv.flag("reads") ?? "role");
  const { role, def } = await createRole(ctx, { name: inv.arg("name"), rank, caps, reads });
  return done(`created role ${role} (rank ${rank}): ${capsText(def.caps)}`, html`created role <b>${role}</b> (rank ${rank}): ${capsText(def.caps)}`);
};

export const roleAmend: BoundHandler = async (inv, ctx) => {
  const name = inv.arg("name");
  findRole(ctx.client.state, name);
  const patch: RolePatch = {};
  const [rank, caps, reads] = [inv.flag("rank"), inv.flag("caps"), inv.flag("reads")];
  if (rank !== undefined) patch.rank = rankOf(rank);
  if (caps !== undefined) patch.caps = parseCaps(caps);
  if (reads !== undefined) patch.reads = parseReads(reads);
  if (Object.keys(patch).length === 0) throw new UsageError("give at least one of --rank, --caps, --reads");
  const { role, def: d } = await amendRole(ctx, { role: name, patch });
  return done(`amended role ${role}: rank ${d.rank}, ${capsText(d.caps)}`, html`amended role <b>${role}</b>: rank ${d.rank}, ${capsText(d.caps)}`);
};

export const roleDelete: BoundHandler = async (inv, ctx) => {
  const { role, heldBy } = await deleteRole(ctx, { role: inv.arg("name") });
  const was = heldBy.length > 0 ? ` (was held by ${heldBy.join(", ")})` : "";
  return done(`deleted role ${role}${was}`, html`deleted role <b>${role}</b>${was}`);
};

export const roleGrant: BoundHandler = async (inv, ctx) => {
  const { name, role } = await grantRole(ctx, { member: inv.arg("who"), role: inv.arg("role") });
  return done(`granted ${role} to ${name}`, html`granted <b>${role}</b> to ${name}`);
};

export const roleRevoke: BoundHandler = async (inv, ctx) => {
  const { name, role } = await revokeRole(ctx, { member: inv.arg("who"), role: inv.arg("role") });
  return done(`revoked ${role} from ${name}`, html`revoked <b>${role}</b> from ${name}`);
};
