// `!role …` and `!rules`: who holds which role, what each role may do, and
// changes to both. Authority (rank, capabilities) is the rules' to judge.
import { roleAmendBody, roleDeleteBody, type RolePatch } from "../pursuance/actions-rules.js";
import { successionText } from "./leader-commands.js";
import { CAPABILITIES, ROLE_NAME, type Capability, roleDef } from "../pursuance/rules.js";
import type { PursuanceState } from "../pursuance/state.js";
import { memberName } from "../pursuance/views.js";
import type { BoundHandler } from "./command-spec.js";
import { done, html, type Html } from "./reply.js";
import { publish } from "../usecases/env.js";
import { findRole } from "../usecases/spellings.js";
import { grantRole, revokeRole } from "../usecases/members.js";
import { UsageError } from "../usecases/errors.js";

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

export const roleCreate: BoundHandler = async (inv, ctx) => {
  const name = inv.arg("name").trim().toLowerCase().replace(/\s+/g, " ");
  if (!ROLE_NAME.test(name) || name === "group") {
    throw new UsageError(`${JSON.stringify(name)} is not a role name: up to 32 lowercase letters, digits, spaces, - or _, starting with a letter ("group" is reserved)`);
  }
  const rank = Number(inv.flag("rank"));
  if (!Number.isInteger(rank) || rank < 0 || rank > 1000) throw new UsageError(`--rank: ${JSON.stringify(inv.flag("rank"))} is not a whole number 0..1000`);
  const caps = (inv.flag("caps") ?? "").split(",").map((x) => x.trim()).filter(Boolean);
  for (const cap of caps) if (!(CAPABILITIES as readonly string[]).includes(cap)) throw new UsageError(`--caps: unknown capability ${JSON.stringify(cap)} (known: ${CAPABILITIES.join(", ")})`);
  const reads = inv.flag("reads") ?? "role";
  if (reads !== "role" && reads !== "assigned") throw new UsageError(`--reads must be role or assigned, not ${JSON.stringify(reads)}`);
  await publish(ctx, { t: "role.create", role: name, def: { rank, caps: [...new Set(caps as Capability[])].sort(), reads } });
  return done(`created role ${name} (rank ${rank}): ${capsText(caps)}`, html`created role <b>${name}</b> (rank ${rank}): ${capsText(caps)}`);
};

export const roleAmend: BoundHandler = async (inv, ctx) => {
  const s = ctx.client.state;
  const role = findRole(s, inv.arg("name"));
  const patch: RolePatch = {};
  const rank = inv.flag("rank");
  if (rank !== undefined) {
    patch.rank = Number(rank);
    if (!/^\d{1,4}$/.test(rank.trim()) || patch.rank > 1000) throw new UsageError(`--rank: ${JSON.stringify(rank)} is not a whole number 0..1000`);
  }
  const caps = inv.flag("caps");
  if (caps !== undefined) {
    patch.caps = caps.split(",").map((x) => x.trim()).filter(Boolean);
    for (const cap of patch.caps) if (!(CAPABILITIES as readonly string[]).includes(cap)) throw new UsageError(`--caps: unknown capability ${JSON.stringify(cap)} (known: ${CAPABILITIES.join(", ")})`);
  }
  const reads = inv.flag("reads");
  if (reads !== undefined) {
    if (reads !== "role" && reads !== "assigned") throw new UsageError(`--reads must be role or assigned, not ${JSON.stringify(reads)}`);
    patch.reads = reads;
  }
  if (Object.keys(patch).length === 0) throw new UsageError("give at least one of --rank, --caps, --reads");
  await publish(ctx, roleAmendBody(s, role, patch));
  const d = roleDef(ctx.client.state.rules, role)!;
  return done(`amended role ${role}: rank ${d.rank}, ${capsText(d.caps)}`, html`amended role <b>${role}</b>: rank ${d.rank}, ${capsText(d.caps)}`);
};

export const roleDelete: BoundHandler = async (inv, ctx) => {
  const s = ctx.client.state;
  const role = findRole(s, inv.arg("name"));
  const held = holders(s, role);
  await publish(ctx, roleDeleteBody(s, role));
  const was = held.length > 0 ? ` (was held by ${held.join(", ")})` : "";
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
