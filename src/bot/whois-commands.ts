// `!whois`, `!verify`: who is who. A member's fingerprint to compare aloud or on
// paper, the Matrix id its key linked to itself (and whether that Matrix
// account confirmed it), who vouched for the key, and a changed key called out.
import { checkLinks, claimHistory, membersLinkedTo, NO_CHECKED_LINKS, whois, type CheckedLinks, type WhoisRow } from "../pursuance/identity.js";
import type { PursuanceState } from "../pursuance/state.js";
import { findMember, memberName } from "../pursuance/views.js";
import type { BoundHandler, UnboundHandler } from "./command-spec.js";
import { Refusal, type BoundContext } from "./context.js";
import { done, html, ok } from "./reply.js";
import { linkMatrix, parseFingerprint, verifyMemberKey } from "../usecases/identity.js";
import { resolveMember } from "../usecases/spellings.js";

const MATRIX_ID = /^@[^:\s]+:\S+$/;

/**
 * A member by the usual references, or by a Matrix id some member's key linked
 * to itself: the one that account confirmed, when several keys claim it.
 */
async function target(ctx: BoundContext, ref: string): Promise<string> {
  const r = ref.trim();
  if (MATRIX_ID.test(r) && ctx.resolveUser(r) === null) {
    const s = ctx.client.state;
    // A key this bridge holds for that user is the user's, whether or not it linked itself in the log.
    const held = [...s.members.keys()].find((m) => ctx.identity?.hosts(m) === r);
    if (held) return held;
    const linked = membersLinkedTo(s, r);
    for (const m of linked) if (ctx.identity?.hosts(m) === r || (await ctx.identity?.confirmed(m, r))) return m;
    // Several claims and no confirmation: picking the first would hand the id to whoever claimed it first.
    if (linked.length > 1) throw new Refusal(`${linked.length} keys claim ${r} (${linked.map((m) => memberName(s, m)).join(", ")}) and none is confirmed by that account: name the member, or ${r} says !whois confirm NAME`);
    if (linked[0]) return linked[0];
  }
  return resolveMember(ctx, r);
}

async function matrixLine(ctx: BoundContext, row: WhoisRow): Promise<string> {
  const hostedFor = ctx.identity?.hosts(row.member) ?? null;
  if (hostedFor) return `Matrix: ${hostedFor} (this bridge holds that user's key${row.matrix === hostedFor ? ", and the key linked it in the log" : ""})`;
  if (!row.matrix) return "Matrix: none linked";
  const confirmed = (await ctx.identity?.confirmed(row.member, row.matrix)) ?? false;
  return confirmed ? `Matrix: ${row.matrix} ✓ (linked by the key, confirmed by that Matrix account)` : `Matrix: ${row.matrix} (claimed by the key; not confirmed by that Matrix account: it can say !whois confirm ${row.name})`;
}

async function describe(ctx: BoundContext, row: WhoisRow): Promise<string[]> {
  const s = ctx.client.state;
  const lines = [`${row.name} — ${row.roles.join(", ") || "no role"}`, `fingerprint: ${row.fingerprint}`, await matrixLine(ctx, row)];
  lines.push(row.verifiedBy.length > 0 ? `verified by: ${row.verifiedBy.map((v) => memberName(s, v)).join(", ")}` : "verified by: no member yet");
  for (const c of row.changed) lines.push(changedLine(c));
  return lines;
}

/** What a changed-key flag rests on, said so that anyone can check it. */
export function changedLine(c: WhoisRow["changed"][number]): string {
  const keys = c.earlier.map((k) => k.slice(0, 12)).join(", ");
  return c.what === "name"
    ? `⚠ the name ${c.value} was held before by another key that members vouched for (${keys}): this is a different key`
    : `⚠ the Matrix id ${c.value} is confirmed for another key (${keys}), and this key's claim to it is not: this is a different key`;
}

/** The Matrix links this host can check for these members (none where the host knows no Matrix accounts). */
async function checked(ctx: BoundContext, members: string[]): Promise<CheckedLinks> {
  const id = ctx.identity;
  return id ? checkLinks(ctx.client.state, members, { hosts: (m) => id.hosts(m), confirmed: (m, x) => id.confirmed(m, x) }) : NO_CHECKED_LINKS;
}

export const whoisCommand: BoundHandler = async (inv, ctx) => {
  const s = ctx.client.state;
  const history = claimHistory(ctx.client.fold.applied);
  const ref = inv.opt("who");
  const members = ref ? [await target(ctx, ref)] : [...s.members.keys()].sort((a, b) => memberName(s, a).localeCompare(memberName(s, b)));
  const links = await checked(ctx, members);
  const blocks: string[][] = [];
  for (const m of members) blocks.push(await describe(ctx, whois(ctx.client.crypto, s, history, m, links)));
  const plain = blocks.map((b) => b.join("\n")).join("\n\n");
  return ok(plain, html`${blocks.map((b) => html`<p>${b.map((l, i) => (i === 0 ? html`<b>${l}</b>` : html`<br>${l}`))}</p>`)}`);
};

export const whoisLink: BoundHandler = async (_inv, ctx) => {
  await linkMatrix(ctx, { matrix: ctx.sender });
  const line = `linked your key in ${ctx.client.state.name} to ${ctx.sender} (signed in the log; this bridge holds that key for you)`;
  return done(line, html`${line}`);
};

/** Any Matrix account in a bound room, member or not: the account a CLI member's key linked itself to. */
export const whoisConfirm: UnboundHandler = async (inv, ctx) => {
  const v = ctx.identity?.view();
  if (!ctx.identity || !v) throw new Refusal("this room is bound to no pursuance");
  const s: PursuanceState = v.state;
  const member = findMember(s, inv.arg("member"));
  if (s.links.get(member) !== ctx.sender) {
    throw new Refusal(`${memberName(s, member)}'s key has not linked itself to ${ctx.sender}; they run: pursuance client whois link ${ctx.sender}`);
  }
  await ctx.identity.confirm(member, ctx.sender);
  const line = `confirmed: ${ctx.sender} is ${memberName(s, member)} (key ${whois(v.crypto, s, new Map(), member).fingerprint})`;
  return done(line, html`${line}`);
};

export const verifyCommand: BoundHandler = async (inv, ctx) => {
  const member = await target(ctx, inv.arg("member"));
  const { name } = await verifyMemberKey(ctx, { member, fingerprint: parseFingerprint(inv.arg("fingerprint"), "!whois") });
  const line = `verified ${name}'s key (signed in the log: every member sees who vouched for it)`;
  return done(line, html`${line}`);
};
