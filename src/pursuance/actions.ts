// Builders for event bodies: what a member's client writes to act. They read
// the state and the key ring and seal what must be sealed; they never decide
// legality (the fold does, identically on every client), but they refuse
// early with a clear error when the result would surely be rejected.
import { fromHex, toB64, toHex } from "../cwtch/bytes.js";
import type { Crypto, SignKeyPair } from "../cwtch/crypto.js";
import type { Assignee, Body, KeyRef } from "./events.js";
import type { KeyRing } from "./keyring.js";
import { joinProofMessage } from "./apply-membership.js";
import { nameProblem } from "./names.js";
import { rendezvousSecret } from "./rendezvous.js";
import { defaultRules, type Rules, roleDef } from "./rules.js";
import { NO_KEY, canReadTask, entitled, type PursuanceState, type Task } from "./state.js";
import { keyRecipients } from "./key-holders.js";
import { encryptComment, encryptMeta, encryptWith, openContentKey, sealContentKeyTo, sealTaskContent, type TaskMeta, type TaskText } from "./task-crypto.js";
import { utf8 } from "../cwtch/bytes.js";

export class ActionError extends Error {
  constructor(message: string, readonly value?: unknown) {
    super(message);
    this.name = "ActionError";
  }
}

export interface Actor {
  crypto: Crypto;
  identity: SignKeyPair;
  me: string;
  ring: KeyRing;
}

/** Our own name, refused before we sign it: the decoder would refuse the event (names.ts). */
function ownName(name: string): string {
  const why = nameProblem(name);
  if (why) throw new ActionError(why, name);
  return name;
}

export function genesisBody(a: Actor, o: { name: string; mission?: string; founderName: string; rules?: Rules }): Body {
  ownName(o.founderName);
  const rules = o.rules ?? defaultRules();
  const group = a.ring.add("group", a.crypto.randomBytes(32));
  const keys: KeyRef[] = [a.ring.seal("group", group.keyId, a.identity.publicKey)];
  for (const [name, def] of Object.entries(rules.roles)) {
    if (def.reads !== "role") continue;
    const k = a.ring.add(name, a.crypto.randomBytes(32));
    keys.push(a.ring.seal(name, k.keyId, a.identity.publicKey));
  }
  return { t: "genesis", name: o.name, mission: o.mission ?? "", rules, founderName: o.founderName, groupKeyId: group.keyId, keys };
}

/** Every key of these scopes that we hold (the history too), sealed to `to`. */
export function sealScopes(a: Actor, scopes: string[], to: string): KeyRef[] {
  const refs: KeyRef[] = [];
  for (const sc of scopes) for (const k of a.ring.scope(sc)) refs.push(a.ring.seal(sc, k.keyId, fromHex(to)));
  return refs;
}

export function grantBody(a: Actor, s: PursuanceState, member: string, role: string): Body {
  if (!s.members.has(member)) throw new ActionError(`not a member: ${member}`, member);
  if (!roleDef(s.rules, role)) throw new ActionError(`no role named "${role}"`, role);
  const before = new Set(entitled(s, member));
  const roles = new Set(s.members.get(member)!.roles).add(role);
  const after = ["group", ...Object.entries(s.rules.roles).filter(([, d]) => d.reads === "role" && d.rank <= Math.max(...[...roles].map((r) => roleDef(s.rules, r)?.rank ?? -Infinity))).map(([n]) => n)];
  return { t: "role.grant", member, role, keys: sealScopes(a, after.filter((sc) => !before.has(sc)), member) };
}

/** A rotation of `scope`: a fresh key sealed to exactly the members entitled to it now. */
export function rotateBody(a: Actor, s: PursuanceState, scope: string): { body: Body; key: Uint8Array } {
  const cur = s.keys.get(scope);
  if (!cur) throw new ActionError(`no key scope "${scope}"`, scope);
  const key = a.crypto.randomBytes(32);
  const held = a.ring.add(scope, key);
  const sealed: Record<string, string> = {};
  for (const m of keyRecipients(s, scope)) sealed[m] = a.ring.seal(scope, held.keyId, fromHex(m)).sealed;
  return { body: { t: "keys.rotate", scope, from: cur.keyId, keyId: held.keyId, sealed }, key };
}

export function shareBody(a: Actor, s: PursuanceState, to: string): Body | null {
  const scopes = entitled(s, to).filter((sc) => entitled(s, a.me).includes(sc));
  const keys = sealScopes(a, scopes, to).filter((r) => s.keys.get(r.scope)?.history.includes(r.keyId));
  if (keys.length === 0) return null;
  // The leader names the recipient's roles: its word for a public copy (leader-ack.ts).
  const roles = s.leader === a.me ? [...(s.members.get(to)?.roles ?? [])].sort() : [];
  return roles.length > 0 ? { t: "keys.share", to, keys, roles } : { t: "keys.share", to, keys };
}

export interface InviteSecret {
  seed: Uint8Array;
  publicKey: string;
}

/**
 * A keyless invite for `role`: a fresh invite key (its seed goes in the token,
 * its public half in the event) and the rendezvous secret derived from the
 * seed, which members read in the log to hear the joiner. No key ids: the
 * joiner holds nothing until a member shares keys after the join.
 */
export function inviteBody(a: Actor, s: PursuanceState, role: string, o: { expires?: number } = {}): { body: Body; secret: InviteSecret } {
  if (!roleDef(s.rules, role)) throw new ActionError(`no role named "${role}"`, role);
  const seed = a.crypto.randomBytes(32);
  const kp = a.crypto.signKeyPair(seed);
  const body: Body = { t: "invite", invite: toHex(kp.publicKey), role, rendezvous: toB64(rendezvousSecret(a.crypto, seed)) };
  if (o.expires !== undefined) body.expires = o.expires;
  return { body, secret: { seed, publicKey: toHex(kp.publicKey) } };
}

/** Find an invite by its id or an unambiguous prefix of it (as `invite list` prints). */
export function findInvite(s: PursuanceState, ref: string): string {
  const r = ref.trim().toLowerCase();
  if (!/^[0-9a-f]{4,64}$/.test(r)) throw new ActionError(`an invite id is hex (4 to 64 digits), not ${JSON.stringify(ref)}`, ref);
  const hits = [...s.invites.keys()].filter((id) => id.startsWith(r));
  if (hits.length === 0) throw new ActionError(`no invite ${r}`, ref);
  if (hits.length > 1) throw new ActionError(`invite ${r} is ambiguous (${hits.length} match): give more digits`, ref);
  return hits[0]!;
}

export function revokeInviteBody(s: PursuanceState, ref: string): Body {
  return { t: "invite.revoke", invite: findInvite(s, ref) };
}

export function joinBody(a: Actor, pursuanceId: string, inviteSeed: Uint8Array, name: string): Body {
  ownName(name);
  const kp = a.crypto.signKeyPair(inviteSeed);
  const proof = a.crypto.sign(joinProofMessage(pursuanceId, a.me), kp.secretKey);
  return { t: "join", invite: toHex(kp.publicKey), proof: toHex(proof), name };
}

export function taskCreateBody(
  a: Actor,
  s: PursuanceState,
  o: { text: TaskText; readers: string[]; assignee?: Assignee | null; parent?: string | null; due?: string | null },
): Body {
  const readers = [...new Set(o.readers)].sort();
  const keys = readers.map((role) => {
    const cur = s.keys.get(role);
    if (!cur || cur.keyId === NO_KEY) throw new ActionError(`role "${role}" has no key yet`, role);
    const held = a.ring.get(cur.keyId);
    if (!held) throw new ActionError(`we do not hold the current "${role}" key`, role);
    return { role, keyId: cur.keyId, key: held.key };
  });
  const members: Array<{ member: string; publicKey: Uint8Array }> = [];
  const assignee = o.assignee ?? null;
  if (assignee && "member" in assignee) {
    const reads = entitled(s, assignee.member).some((sc) => readers.includes(sc));
    if (!reads) members.push({ member: assignee.member, publicKey: fromHex(assignee.member) });
  }
  const { content } = sealTaskContent(a.crypto, o.text, keys, members);
  return { t: "task.create", readers, assignee, parent: o.parent ?? null, due: o.due ?? null, content };
}

function contentKey(a: Actor, t: Task): Uint8Array {
  const k = openContentKey(a.crypto, a.ring, a.identity, a.me, t);
  if (!k) throw new ActionError(`cannot open task #${t.num}: no key for its readers (${t.readers.join(", ")})`, t.id);
  return k;
}

export function commentBody(a: Actor, t: Task, text: string): Body {
  return { t: "task.comment", task: t.id, content: encryptComment(a.crypto, contentKey(a, t), text) };
}

export function closeBody(a: Actor, t: Task, reason: string | null): Body {
  return { t: "task.close", task: t.id, reason: reason ? encryptComment(a.crypto, contentKey(a, t), reason) : null };
}

export function metaBody(a: Actor, t: Task, meta: TaskMeta): Body {
  return { t: "task.meta", task: t.id, meta: encryptMeta(a.crypto, contentKey(a, t), meta) };
}

export function retitleBody(a: Actor, t: Task, text: TaskText): Body {
  return { t: "task.update", task: t.id, content: encryptWith(a.crypto, contentKey(a, t), utf8.encode(JSON.stringify(text))) };
}

export function assignBody(a: Actor, s: PursuanceState, t: Task, assignee: Assignee | null): Body {
  const b: Body = { t: "task.assign", task: t.id, assignee };
  if (assignee && "member" in assignee && !canReadTask(s, assignee.member, t)) {
    b.memberKey = sealContentKeyTo(a.crypto, contentKey(a, t), fromHex(assignee.member));
  }
  return b;
}

/** Delegate a role's key (and the group key) to a non-member reader such as a bridge. */
export function delegateBody(a: Actor, s: PursuanceState, role: string, to: string): Body {
  if (!roleDef(s.rules, role)) throw new ActionError(`no role named "${role}"`, role);
  if (!/^[0-9a-f]{64}$/.test(to)) throw new ActionError(`a delegate is a 64-hex public key, not ${JSON.stringify(to)}`, to);
  const keys = sealScopes(a, ["group", role], to).filter((r) => s.keys.get(r.scope)?.history.includes(r.keyId));
  return { t: "keys.delegate", role, to, keys };
}
