// `!pursuance create|join|status`. Creating and joining make a client and bind
// the room, which only the host can do (and only in a room bound to nothing:
// the table says so); the bot validates, calls the host's port and reports.
// Status reads the bound client: relays, sync state, gaps, state hash.
import type { PursuanceClient } from "../pursuance/client/client.js";
import { inviteStatus } from "../pursuance/state.js";
import { decodeInvite, encodeInvite } from "../pursuance/invite.js";
import { memberName } from "../pursuance/views.js";
import { sealComplaints } from "../pursuance/seal-complaints.js";
import type { BoundHandler, UnboundHandler } from "./command-spec.js";
import { done, html, okLines } from "./reply.js";
import { UsageError } from "../usecases/errors.js";
import { createInvite, revokeInvite } from "../usecases/members.js";

function roleOf(c: PursuanceClient): string {
  return [...(c.state.members.get(c.me)?.roles ?? [])].join(", ") || "no role yet";
}

export const pursuanceCreate: UnboundHandler = async (inv, ctx) => {
  const name = inv.arg("name").trim();
  if (name.length > 200) throw new UsageError("a pursuance name is at most 200 characters");
  const c = await ctx.pursuance.create(name);
  return done(
    `created ${c.state.name}; you are its founder (${roleOf(c)}). Invite people, then !task create "<title>"`,
    html`created <b>${c.state.name}</b>; you are its founder (${roleOf(c)}). Invite people, then <code>!task create "&lt;title&gt;"</code>`,
  );
};

export const pursuanceJoin: UnboundHandler = async (inv, ctx) => {
  // Decoded here so a damaged paste gets its reason before the host does any work.
  const invite = decodeInvite(inv.arg("invite"));
  const c = await ctx.pursuance.join(invite);
  return done(`joined ${c.state.name} as ${roleOf(c)}`, html`joined <b>${c.state.name}</b> as ${roleOf(c)}`);
};

export const pursuanceStatus: BoundHandler = async (_inv, ctx) => {
  const c = ctx.client;
  const s = c.state;
  const st = c.group.status();
  const gaps = st.gaps.ids.length + st.gaps.ranges.length;
  const relays = st.relays.map((r) => `${r.url} (${r.connected ? "connected" : "down"}, cursor ${r.cursor})`);
  const lines = [
    `${s.name} · id ${c.id.slice(0, 12)} · leader ${s.leader ? memberName(s, s.leader) : "nobody"}`,
    `you: ${memberName(s, c.me)} (${roleOf(c)})`,
    `${s.members.size} members · ${s.taskIds.length} tasks · ${st.events} events (${st.pending} pending) · ${gaps} gaps · ${st.equivocations.length} equivocations · ${s.rejected.length} rejected`,
    `relays: ${relays.join("; ") || "none"}`,
    `invites: ${invitesSummary(c)}`,
    `state hash ${c.hash()}`,
    // The complainer's word alone (no client can check a seal addressed to another): it names no one else.
    ...sealComplaints(s).map((b) => `${memberName(s, b.reporter)} says it could not open the "${b.scope}" key ${b.keyId.slice(0, 12)} (its word; a holder re-shares it)`),
  ];
  return okLines(lines);
};

function invitesSummary(c: PursuanceClient): string {
  const n = { open: 0, used: 0, expired: 0, revoked: 0 };
  const now = c.ports.now();
  let next: number | null = null;
  for (const i of c.state.invites.values()) {
    const st = inviteStatus(i, now);
    n[st]++;
    if (st === "open" && i.expires !== undefined && (next === null || i.expires < next)) next = i.expires;
  }
  return `${n.open} open${next !== null ? ` (next expires ${new Date(next).toISOString()})` : ""}, ${n.used} used, ${n.expired} expired, ${n.revoked} revoked`;
}

/**
 * With a Matrix user: admit them (the bridge holds their identity). Without:
 * print an invite string for a member who keeps their own keys (the CLI);
 * whoever reads it can join once, so it is best asked for in a direct chat.
 */
export const pursuanceInvite: BoundHandler = async (inv, ctx) => {
  const c = ctx.client;
  const who = inv.opt("who");
  if (who !== undefined && !/^@[^:\s]+:\S+$/.test(who)) throw new UsageError(`${who} is not a Matrix user id like @name:server`);
  if (who !== undefined && ctx.resolveUser(who)) throw new UsageError(`${who} is already a member here`);
  const { invite, role } = await createInvite(ctx, { role: inv.flag("role"), expires: inv.flag("expires") });
  const until = new Date(invite.expires).toISOString();
  if (who === undefined) {
    // For a member outside this host: the addresses they can reach (the host's published ones).
    const code = encodeInvite(ctx.inviteRelays ? { ...invite, relays: ctx.inviteRelays(invite.relays) } : invite);
    return {
      kind: "ok",
      plain: `Single-use invite as ${role}, expires ${until} (anyone who reads it can use it once; share it privately; it carries no keys):\n${code}`,
      html: html`Single-use invite as <b>${role}</b>, expires ${until} (anyone who reads it can use it once; share it privately; it carries no keys):<br><code>${code}</code>`.value,
    };
  }
  const joined = await ctx.pursuance.admit(who, invite);
  return done(`${who} joined as ${roleOf(joined)}`, html`${who} joined as ${roleOf(joined)}`);
};

export const pursuanceInviteList: BoundHandler = async (_inv, ctx) => {
  const s = ctx.client.state;
  const now = ctx.client.ports.now();
  const rows = [...s.invites.entries()].map(([id, i]) => {
    const st = inviteStatus(i, now);
    const tail = st === "used" ? ` by ${memberName(s, i.usedBy!)}` : i.expires !== undefined ? `, expires ${new Date(i.expires).toISOString()}` : "";
    return `${id.slice(0, 12)} ${st}: ${i.role}, from ${memberName(s, i.by)}${tail}`;
  });
  const lines = rows.length > 0 ? rows : ["no invites"];
  return okLines(lines);
};

export const pursuanceInviteRevoke: BoundHandler = async (inv, ctx) => {
  const id = (await revokeInvite(ctx, { invite: inv.arg("id") })).invite.slice(0, 12);
  return done(`revoked invite ${id}`, html`revoked invite <code>${id}</code>`);
};
