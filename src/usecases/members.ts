// What a member does to membership, once for both faces: invite (and revoke
// an invite), answer a join request, grant and revoke roles, remove a member.
// Spellings as typed are resolved by the shared parser; every write goes
// through the rules' dry run, so a refusal throws before anything is posted.
import { grantBody, revokeInviteBody } from "../pursuance/actions.js";
import { roleAmendBody, roleDeleteBody, type RolePatch } from "../pursuance/actions-rules.js";
import { DEFAULT_INVITE_MS } from "../pursuance/client/client.js";
import { admitRequest, refuseRequest } from "../pursuance/client/requests.js";
import type { Body } from "../pursuance/events.js";
import type { Invite } from "../pursuance/invite.js";
import { roleDef, type Capability, type RoleDef } from "../pursuance/rules.js";
import type { PursuanceState, JoinRequest } from "../pursuance/state.js";
import { findJoinRequest, memberName } from "../pursuance/views.js";
import { publish, type Env } from "./env.js";
import { findRole, parseDuration, parseRoleName, resolveMember } from "./spellings.js";

/** The role a newcomer gets when an invite or an admission names none. */
export const DEFAULT_JOIN_ROLE = "change agent";

/** A single-use keyless invite: role as typed (default DEFAULT_JOIN_ROLE), expiry as a duration (default 7d). */
export async function createInvite(env: Env, o: { role?: string; expires?: string }): Promise<{ invite: Invite; role: string }> {
  const role = findRole(env.client.state, o.role ?? DEFAULT_JOIN_ROLE);
  const expiresInMs = o.expires === undefined ? DEFAULT_INVITE_MS : parseDuration("--expires", o.expires);
  return { invite: await env.client.createInvite(role, { expiresInMs }), role };
}

/** Revoke an open invite by id prefix. */
export async function revokeInvite(env: Env, o: { invite: string }): Promise<{ invite: string }> {
  const body = revokeInviteBody(env.client.state, o.invite);
  await publish(env, body);
  return { invite: (body as { invite: string }).invite };
}

/** Admit a pending join request (found by key prefix or name) with a role (default DEFAULT_JOIN_ROLE). */
export async function admitJoinRequest(env: Env, o: { request: string; role?: string }): Promise<{ request: JoinRequest; role: string }> {
  const request = findJoinRequest(env.client.state, o.request);
  const role = findRole(env.client.state, o.role ?? DEFAULT_JOIN_ROLE);
  await admitRequest(env.client, request, role);
  return { request, role };
}

export async function refuseJoinRequest(env: Env, o: { request: string; reason?: string }): Promise<{ request: JoinRequest }> {
  const request = findJoinRequest(env.client.state, o.request);
  await refuseRequest(env.client, request, (o.reason ?? "").trim());
  return { request };
}

/** The body that takes a role from a member. */
export function revokeBody(member: string, role: string): Body {
  return { t: "role.revoke", member, role };
}

export interface RoleChange {
  member: string;
  /** The member's name as the pursuance knows it. */
  name: string;
  role: string;
}

function roleChange(env: Env, o: { member: string; role: string }): RoleChange {
  const s: PursuanceState = env.client.state;
  const member = resolveMember(env, o.member);
  return { member, name: memberName(s, member), role: findRole(s, o.role) };
}

export async function grantRole(env: Env, o: { member: string; role: string }): Promise<RoleChange> {
  const r = roleChange(env, o);
  await publish(env, grantBody(env.client.actor, env.client.state, r.member, r.role));
  return r;
}

export async function revokeRole(env: Env, o: { member: string; role: string }): Promise<RoleChange> {
  const r = roleChange(env, o);
  await publish(env, revokeBody(r.member, r.role));
  return r;
}

/** Remove a member ranked below us: their keys rotate away. */
export async function removeMember(env: Env, o: { member: string; reason?: string }): Promise<{ member: string; name: string }> {
  const member = resolveMember(env, o.member);
  const name = memberName(env.client.state, member);
  await publish(env, { t: "remove", member, reason: o.reason ?? "" });
  return { member, name };
}

export interface RoleDefinition {
  /** As typed: normalised by parseRoleName. */
  name: string;
  rank: number;
  caps: Capability[];
  reads?: "role" | "assigned";
}

/** A new role (its rank below ours, its capabilities within ours: the rules judge). */
export async function createRole(env: Env, o: RoleDefinition): Promise<{ role: string; def: RoleDef }> {
  const role = parseRoleName(o.name);
  const def: RoleDef = { rank: o.rank, caps: [...new Set(o.caps)].sort(), reads: o.reads ?? "role" };
  await publish(env, { t: "role.create", role, def });
  return { role, def };
}

/** Change a role's rank, capabilities or reading; the result is the role as it now stands. */
export async function amendRole(env: Env, o: { role: string; patch: RolePatch }): Promise<{ role: string; def: RoleDef }> {
  const role = findRole(env.client.state, o.role);
  await publish(env, roleAmendBody(env.client.state, role, o.patch));
  return { role, def: roleDef(env.client.state.rules, role)! };
}

/** Delete a role; who held it is returned (they lose it). */
export async function deleteRole(env: Env, o: { role: string }): Promise<{ role: string; heldBy: string[] }> {
  const s = env.client.state;
  const role = findRole(s, o.role);
  const heldBy = [...s.members.entries()].filter(([, m]) => m.roles.has(role)).map(([id]) => memberName(s, id));
  await publish(env, roleDeleteBody(s, role));
  return { role, heldBy };
}
