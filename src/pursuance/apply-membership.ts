// Reducers for the organisation itself: genesis, rules, roles, invites,
// joining, leaving, removal and leadership.
import { concat, fromHex, utf8 } from "../cwtch/bytes.js";
import type { Body } from "./events.js";
import { silentAfterMs, topRole, roleDef } from "./rules.js";
import {
  type ApplyContext,
  type PEvent,
  reject,
  requireCap,
  requireActor,
  requireMember,
  requireNotLeader,
  requireOutranksMember,
  requireOutranksRole,
  requireRole,
  short,
  when,
} from "./apply-common.js";
import { NO_KEY, entitled, hasCap, rankOf, type Invite, type PursuanceState } from "./state.js";
import { checkEscrowHolders, reconcileKeys } from "./key-holders.js";

export const JOIN_DOMAIN = utf8.encode("pursuance/join/v1\0");

/** What an invite key signs to admit a joiner: bound to this pursuance and this joiner. */
export function joinProofMessage(pursuanceId: string, joiner: string): Uint8Array {
  return concat(JOIN_DOMAIN, fromHex(pursuanceId), fromHex(joiner));
}

const FUTURE_SKEW_MS = 86_400_000;

function duration(ms: number): string {
  for (const [unit, n] of [["d", 86_400_000], ["h", 3_600_000], ["min", 60_000]] as const) if (ms >= n) return `${Math.floor(ms / n)} ${unit}`;
  return `${Math.max(0, Math.floor(ms / 1000))} s`;
}

type B<T extends Body["t"]> = Extract<Body, { t: T }>;

export function applyGenesis(s: PursuanceState, e: PEvent, b: B<"genesis">, genesisId: string | null): void {
  if (s.id !== null) reject("a pursuance has exactly one genesis");
  if (genesisId !== null && e.id !== genesisId) reject(`foreign genesis (expected ${short(genesisId)})`);
  if (e.seq !== 1 || e.parents.length !== 0) reject("genesis must be its author's first event and cite nothing");
  if (!roleDef(b.rules, b.rules.succession.role)) reject(`succession role "${b.rules.succession.role}" is not defined`);
  const top = topRole(b.rules);
  const scopes = ["group", ...Object.entries(b.rules.roles).filter(([, d]) => d.reads === "role").map(([n]) => n)];
  for (const sc of scopes) if (!b.keys.some((k) => k.scope === sc)) reject(`genesis lacks a key for "${sc}"`);
  if (!b.keys.some((k) => k.scope === "group" && k.keyId === b.groupKeyId)) reject("genesis group key id does not match its key");
  s.id = e.id;
  s.name = b.name;
  s.mission = b.mission;
  // A copy: later rule changes must never write through to the genesis event itself.
  s.rules = {
    roles: Object.fromEntries(Object.entries(b.rules.roles).map(([n, d]) => [n, { ...d, caps: [...d.caps] }])),
    succession: { ...b.rules.succession },
    rotation: { ...b.rules.rotation },
  };
  s.founder = e.author;
  s.leader = e.author;
  s.lastSeen.set(e.author, e.ts);
  s.members.set(e.author, { name: b.founderName, roles: new Set([top]), joinedBy: e.id });
  for (const k of b.keys) {
    if (s.keys.has(k.scope)) continue;
    s.keys.set(k.scope, { keyId: k.keyId, holders: new Set([e.author]), needsRotation: false, since: e.ts, history: [k.keyId], rotatedBy: e.author, rotationSeals: new Set([e.author]) });
  }
}

export function applyRoleChange(s: PursuanceState, e: PEvent, b: B<"role.create"> | B<"role.amend"> | B<"role.delete">): void {
  requireActor(s, e);
  requireCap(s, e.author, "rules.change");
  const exists = roleDef(s.rules, b.role) !== undefined;
  if (b.t === "role.create" && exists) reject(`role "${b.role}" already exists`);
  if (b.t !== "role.create") {
    requireRole(s, b.role);
    requireOutranksRole(s, e.author, b.role);
  }
  if (b.t !== "role.delete") {
    const mine = rankOf(s, e.author);
    if (!(mine > b.def.rank)) reject(`cannot define a role at rank ${b.def.rank}, not below own rank ${mine}`);
    for (const c of b.def.caps) requireCap(s, e.author, c);
    s.rules.roles[b.role] = b.def;
  } else {
    if (s.rules.succession.role === b.role) reject(`role "${b.role}" is the succession role`);
    delete s.rules.roles[b.role];
    for (const m of s.members.values()) m.roles.delete(b.role);
  }
  reconcileKeys(s);
}

export function applyPolicy(s: PursuanceState, e: PEvent, b: B<"rules.policy">): void {
  requireActor(s, e);
  requireCap(s, e.author, "rules.change");
  if (s.leader !== e.author) reject("only the leader changes succession, rotation and file policy");
  if (b.succession) requireRole(s, b.succession.role);
  // Every check before any change: a refused event leaves no trace beyond its author's last-seen time (requireActor).
  const escrow = b.escrow ? checkEscrow(s, e, b.escrow, (b.succession ?? s.rules.succession).quorum) : null;
  if (b.succession) s.rules.succession = b.succession;
  if (b.rotation) s.rules.rotation = b.rotation;
  if (b.files) s.rules.files = b.files;
  if (escrow) s.escrow = escrow;
  if (b.labels) s.rules.labels = b.labels;
  // Moving the succession to another role leaves the old holders with their shares of the current key.
  checkEscrowHolders(s);
}

/** The leader splits the top role's keys among the succession role (escrow.ts): checked for shape, not content. */
function checkEscrow(s: PursuanceState, e: PEvent, x: NonNullable<B<"rules.policy">["escrow"]>, quorum: number): NonNullable<PursuanceState["escrow"]> {
  const top = topRole(s.rules);
  if (x.scope !== top) reject(`escrow is of the top role "${top}", not "${x.scope}"`);
  const k = s.keys.get(top);
  if (!k || k.keyId === NO_KEY) reject(`"${top}" has no key to escrow`);
  if (!entitled(s, e.author).includes(top)) reject(`${short(e.author)} does not hold the "${top}" key`);
  if (x.keyIds.join() !== k.history.join()) reject(`escrow must cover every "${top}" key id, ending with the current one`);
  // A key that needs rotation may be held by someone who should not (a former share holder among
  // them): escrowing it again, to whomever, would keep it in use; it is escrowed after it rotates.
  if (k.needsRotation) reject(`"${top}" key ${short(k.keyId)} needs rotation before it is escrowed`);
  if (x.threshold !== quorum) reject(`escrow threshold ${x.threshold} is not the succession quorum ${quorum}`);
  const want = successors(s);
  const got = Object.keys(x.shares).sort();
  if (got.join() !== want.join()) reject(`escrow shares must go to exactly the holders of "${s.rules.succession.role}"`);
  return { scope: top, keyIds: [...x.keyIds], threshold: x.threshold, holders: got };
}

/** Members holding the succession role: who may vote, and who hold escrow shares. */
export function successors(s: PursuanceState): string[] {
  return [...s.members.entries()].filter(([, m]) => m.roles.has(s.rules.succession.role)).map(([id]) => id).sort();
}

/** What granting and revoking both start with, in this order (the first failing check is the reason every client records). */
function requireRoleAct(s: PursuanceState, e: PEvent, b: { member: string; role: string }): void {
  requireActor(s, e);
  requireMember(s, b.member);
  requireRole(s, b.role);
  requireCap(s, e.author, "role.grant");
  requireOutranksRole(s, e.author, b.role);
}

export function applyGrant(s: PursuanceState, e: PEvent, b: B<"role.grant">): void {
  requireRoleAct(s, e, b);
  if (b.member !== e.author) requireOutranksMember(s, e.author, b.member);
  const m = s.members.get(b.member)!;
  if (m.roles.has(b.role)) reject(`${short(b.member)} already holds "${b.role}"`);
  const before = new Set(entitled(s, b.member));
  m.roles.add(b.role);
  const gained = entitled(s, b.member).filter((sc) => !before.has(sc));
  for (const sc of gained) {
    const k = s.keys.get(sc);
    if (!k || k.keyId === "0".repeat(32)) continue;
    if (!b.keys.some((r) => r.scope === sc && r.keyId === k.keyId)) {
      m.roles.delete(b.role);
      reject(`grant must seal the current "${sc}" key to the grantee`);
    }
  }
  for (const sc of gained) {
    const k = s.keys.get(sc);
    if (!k) continue;
    k.holders.add(b.member);
    s.sealedBy.set(`${sc} ${b.member}`, e.author);
  }
  reconcileKeys(s, [b.member]);
}

export function applyRevoke(s: PursuanceState, e: PEvent, b: B<"role.revoke">): void {
  requireRoleAct(s, e, b);
  if (b.member !== e.author) {
    requireOutranksMember(s, e.author, b.member);
    requireNotLeader(s, b.member);
  }
  const m = s.members.get(b.member)!;
  if (!m.roles.has(b.role)) reject(`${short(b.member)} does not hold "${b.role}"`);
  m.roles.delete(b.role);
  reconcileKeys(s, [b.member]);
}

export function applyInvite(s: PursuanceState, e: PEvent, b: B<"invite">): void {
  requireActor(s, e);
  requireCap(s, e.author, "member.invite");
  requireRole(s, b.role);
  requireOutranksRole(s, e.author, b.role);
  if (s.invites.has(b.invite)) reject("invite key already used for another invite");
  if (b.expires !== undefined && b.expires <= e.ts) reject(`invite expires (${when(b.expires)}) before it is made`);
  s.invites.set(b.invite, {
    role: b.role,
    by: e.author,
    usedBy: null,
    ...(b.expires !== undefined ? { expires: b.expires } : {}),
    ...(b.rendezvous !== undefined ? { rendezvous: b.rendezvous } : {}),
    ...(b.groupKeyId !== undefined ? { groupKeyId: b.groupKeyId, roleKeyIds: b.roleKeyIds ?? [] } : {}),
  });
}

/**
 * Who may revoke an invite: its inviter while still a member (withdrawing
 * one's own offer takes no authority), or any member holding member.invite
 * who strictly outranks the invited role, i.e. anyone who could have made
 * that invite; so a recruiter cannot cancel an admin's invite to a role at
 * or above its own rank. Only an unused invite can be revoked: a member
 * admitted by it is removed with `remove`, not by revoking the invite.
 */
/** Whether `who` may revoke `inv` (the rule above, for the reducer and the expiry duty alike). */
export function mayRevokeInvite(s: PursuanceState, who: string, inv: Invite): boolean {
  if (!s.members.has(who)) return false;
  if (who === inv.by) return true;
  const role = roleDef(s.rules, inv.role);
  return hasCap(s, who, "member.invite") && role !== undefined && rankOf(s, who) > role.rank;
}

export function applyInviteRevoke(s: PursuanceState, e: PEvent, b: B<"invite.revoke">): void {
  requireMember(s, e.author);
  const inv = s.invites.get(b.invite);
  if (!inv) reject(`unknown invite ${short(b.invite)}`);
  // Authority before the invite's fate: whether the author may revoke it does not depend on which join came first.
  if (e.author !== inv.by) {
    requireCap(s, e.author, "member.invite");
    requireRole(s, inv.role);
    requireOutranksRole(s, e.author, inv.role);
  }
  if (inv.usedBy !== null) reject(`invite ${short(b.invite)} was already used by ${short(inv.usedBy)}`);
  if (inv.revokedBy !== undefined) reject(`invite ${short(b.invite)} already revoked`);
  inv.revokedBy = e.author;
}

export function applyJoin(s: PursuanceState, e: PEvent, b: B<"join">, ctx: ApplyContext): void {
  if (s.members.has(e.author)) reject("already a member");
  const inv = s.invites.get(b.invite);
  if (!inv) reject(`unknown invite ${short(b.invite)}`);
  const vouched = ctx.vouchedJoins?.has(e.id) === true;
  if (inv.usedBy !== null && !vouched) reject(`invite ${short(b.invite)} was already used by ${short(inv.usedBy)}`);
  if (inv.revokedBy !== undefined) reject("invite revoked");
  // The join's ts is the joiner's claim; the expiry duty (client/duties.ts) revokes what lapses unused, which makes it hard.
  if (inv.expires !== undefined && e.ts > inv.expires) reject(`invite expired at ${when(inv.expires)}`);
  if (!s.members.has(inv.by) || rankOf(s, inv.by) <= (roleDef(s.rules, inv.role)?.rank ?? Infinity)) {
    reject("the inviter can no longer admit to that role");
  }
  if (!ctx.crypto.verify(fromHex(b.proof), joinProofMessage(s.id!, e.author), fromHex(b.invite))) reject("invite proof does not verify");
  if (inv.usedBy === null) inv.usedBy = e.author;
  s.former.delete(e.author);
  s.members.set(e.author, { name: b.name, roles: new Set([inv.role]), joinedBy: e.id });
  // Older invites carried the keys current when they were made; keyless ones carry none, so a
  // member shares every key the joiner is entitled to (the share duty sees them missing).
  if (inv.groupKeyId !== undefined) {
    for (const sc of entitled(s, e.author)) {
      const k = s.keys.get(sc);
      if (!k) continue;
      if ((sc === "group" && k.keyId === inv.groupKeyId) || inv.roleKeyIds?.includes(k.keyId)) k.holders.add(e.author);
    }
  }
  reconcileKeys(s, [e.author]);
}

function dropMember(s: PursuanceState, who: string, reason: string, by: string): void {
  s.members.delete(who);
  s.former.set(who, { reason, by });
  for (const v of s.votes.values()) v.delete(who);
  s.votes.delete(who);
  if (s.leader === who) s.leader = null;
  reconcileKeys(s, [who]);
}

export function applyLeave(s: PursuanceState, e: PEvent): void {
  requireActor(s, e);
  dropMember(s, e.author, "left", e.author);
}

export function applyRemove(s: PursuanceState, e: PEvent, b: B<"remove">): void {
  requireActor(s, e);
  requireMember(s, b.member);
  requireCap(s, e.author, "member.remove");
  requireNotLeader(s, b.member);
  requireOutranksMember(s, e.author, b.member);
  dropMember(s, b.member, b.reason || "removed", e.author);
}

function crown(s: PursuanceState, who: string, ts: number): void {
  s.leader = who;
  // Silence is counted from the crowning: a new leader is not silent before it could speak.
  s.lastSeen.set(who, Math.max(s.lastSeen.get(who) ?? ts, ts));
  s.members.get(who)!.roles.add(topRole(s.rules));
  s.votes.clear();
  reconcileKeys(s, [who]);
}

export function applyTransfer(s: PursuanceState, e: PEvent, b: B<"leader.transfer">): void {
  if (s.leader !== e.author) reject("only the leader transfers leadership");
  requireMember(s, b.to);
  if (b.to === e.author) reject("already the leader");
  crown(s, b.to, e.ts);
}

export function applyVote(s: PursuanceState, e: PEvent, b: B<"leader.vote">): void {
  requireActor(s, e);
  const role = s.rules.succession.role;
  if (!s.members.get(e.author)!.roles.has(role)) reject(`only holders of "${role}" vote on succession`);
  requireMember(s, b.candidate);
  if (b.candidate === s.leader) reject("candidate is already the leader");
  if (s.leader !== null) {
    // As of the vote's own (claimed) time: one voter lying about it is not enough, a quorum must.
    const quiet = e.ts - (s.lastSeen.get(s.leader) ?? 0);
    const limit = silentAfterMs(s.rules);
    // A leader claiming a time far ahead of the voters' is not present but gaming the clock: one
    // future-dated event must not block succession for ever. Honest clock skew is far below a day.
    if (quiet < limit && quiet > -FUTURE_SKEW_MS) reject(`leader ${short(s.leader)} was heard from ${duration(quiet)} before this vote; succession needs ${duration(limit)} of silence`);
  }
  let votes = s.votes.get(b.candidate);
  if (!votes) s.votes.set(b.candidate, (votes = new Set()));
  votes.add(e.author);
  const valid = [...votes].filter((v) => s.members.get(v)?.roles.has(role)).length;
  if (valid >= s.rules.succession.quorum) crown(s, b.candidate, e.ts);
}
