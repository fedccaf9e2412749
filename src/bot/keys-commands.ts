// `!keys status|delegate|revoke`: which role keys the host holds, and members
// handing theirs to it (revocably). Custody is the host's business; the bot
// checks the role exists and has a key, calls the port and reports.
import { findRole } from "../usecases/spellings.js";
import type { BoundHandler } from "./command-spec.js";
import type { BoundContext } from "./context.js";
import { done, html } from "./reply.js";
import { memberName } from "../pursuance/views.js";
import { UsageError } from "../usecases/errors.js";
import { roleDef } from "../pursuance/rules.js";

function keyedRole(ctx: BoundContext, ref: string): string {
  const s = ctx.client.state;
  const role = findRole(s, ref);
  if (roleDef(s.rules, role)!.reads !== "role") throw new UsageError(`role ${role} has no key (its holders read only tasks assigned to them)`);
  return role;
}

export const keysStatus: BoundHandler = async (_inv, ctx) => {
  const s = ctx.client.state;
  const rows = (await ctx.keys.status()).map((r) => {
    const via = r.delegatedBy.length > 0 ? ` (delegated by ${r.delegatedBy.map((m) => memberName(s, m)).join(", ")})` : "";
    return `${r.role}: ${r.readable ? `readable here${via}` : "not readable here: its tasks show as encrypted"}`;
  });
  if (rows.length === 0) return { kind: "ok", plain: "no role keys", html: "no role keys" };
  return { kind: "ok", plain: rows.join("\n"), html: html`<ul>${rows.map((r) => html`<li>${r}</li>`)}</ul>`.value };
};

export const keysDelegate: BoundHandler = async (inv, ctx) => {
  const role = keyedRole(ctx, inv.arg("role"));
  const said = await ctx.keys.delegate(role);
  return done(said, html`${said}`);
};

export const keysRevoke: BoundHandler = async (inv, ctx) => {
  const role = keyedRole(ctx, inv.arg("role"));
  const said = await ctx.keys.revoke(role);
  return done(said, html`${said}`);
};
