// The state every client computes by folding the log. Mutable while folding
// (speed: 100k events), canonicalised for hashing: same events, same bytes.
import { toHex, utf8 } from "../cwtch/bytes.js";
import type { Crypto } from "../cwtch/crypto.js";
import type { Assignee, Ciphertext, Hex, SealedContent, SealedTo, TaskStatus } from "./events.js";
import { entitledScopes, type Rules, roleDef } from "./rules.js";

export const NO_KEY = "0".repeat(32);

export interface Member {
  name: string;
  roles: Set<string>;
  joinedBy: Hex;
}

export interface ScopeKey {
  keyId: string;
  /** Members a key of the current epoch was sealed to. */
  holders: Set<Hex>;
  /** Someone who held the key lost their entitlement: the next rotation is due. */
  needsRotation: boolean;
  /** Event time of the last rotation (periodic policy). */
  since: number;
  history: string[];
  /** Who made the current epoch (the founder for genesis keys), and the members its rotation sealed to. */
  rotatedBy: Hex | null;
  rotationSeals: Set<Hex>;
}

/**
 * A holder said a seal did not open (its word alone: no client can check it).
 * `rotator` is whose rotation sealed it, when it was one: never a flag, only
 * who is passed over when re-sharing to the reporter (seal-complaints.ts).
 */
export interface BadSeal {
  scope: string;
  keyId: string;
  reporter: Hex;
  rotator: Hex | null;
}

export interface Comment {
  id: Hex;
  author: Hex;
  ts: number;
  content: Ciphertext;
}

export interface Task {
  id: Hex;
  num: number;
  creator: Hex;
  readers: string[];
  assignee: Assignee | null;
  parent: Hex | null;
  due: string | null;
  status: TaskStatus;
  closed: boolean;
  archived: boolean;
  /** Content key wrapped per reader role, and sealed per member; the first text. */
  sealed: SealedContent;
  memberKeys: SealedTo;
  /** Latest text (an update re-encrypts under the same content key). */
  text: Ciphertext;
  comments: Comment[];
  closeReason: Ciphertext | null;
  createdTs: number;
  updatedTs: number;
}

export interface Invite {
  role: string;
  by: Hex;
  usedBy: Hex | null;
  /** A join whose ts is later is refused. Absent: never expires (older invites). */
  expires?: number;
  /** Who revoked it (invite.revoke); absent while it stands. */
  revokedBy?: Hex;
  /** Base64url rendezvous secret (keyless invites); members listen on its tag. */
  rendezvous?: string;
  /** Older invites whose token carried keys: the joiner holds these from the start. */
  groupKeyId?: string;
  roleKeyIds?: string[];
}

export type InviteStatus = "open" | "used" | "expired" | "revoked";

/** Where an invite stands at time `now` (a client's clock: expiry is judged by the join's ts in the fold). */
export function inviteStatus(i: Invite, now: number): InviteStatus {
  if (i.usedBy !== null) return "used";
  if (i.revokedBy !== undefined) return "revoked";
  if (i.expires !== undefined && now > i.expires) return "expired";
  return "open";
}

export interface Rejection {
  id: Hex;
  author: Hex;
  type: string;
  reason: string;
}

export interface PursuanceState {
  id: Hex | null;
  name: string;
  mission: string;
  founder: Hex | null;
  leader: Hex | null;
  rules: Rules;
  members: Map<Hex, Member>;
  former: Map<Hex, { reason: string; by: Hex }>;
  invites: Map<Hex, Invite>;
  keys: Map<string, ScopeKey>;
  tasks: Map<Hex, Task>;
  taskIds: Hex[];
  announcements: Array<{ id: Hex; author: Hex; ts: number; text: string }>;
  votes: Map<Hex, Set<Hex>>;
  /** role → delegate (a non-member reader, e.g. a bridge) → the member who delegated. */
  delegates: Map<string, Map<Hex, Hex>>;
  /** Complaints of seals that did not open (`keys.unreadable`), in fold order. */
  badSeals: BadSeal[];
  /**
   * Derived, not hashed (a function of the log, read only by duties): who
   * sealed each holder its current key (`${scope} ${member}` → sealer), and
   * member → every sealer whose seal it said did not open. Only the
   * complainer's own re-shares pass those sealers over (seal-complaints.ts).
   */
  sealedBy: Map<string, Hex>;
  doubted: Map<Hex, Set<Hex>>;
  rejected: Rejection[];
  applied: number;
  /** Latest event time seen (author claims; used only for the rotation policy). */
  clock: number;
  /**
   * Each member's latest event time, for the succession silence limit. The
   * times are what authors claim (event `ts`): a member can only move their
   * own entry, and a quorum of voters must each claim a time past the limit.
   */
  lastSeen: Map<Hex, number>;
  /** The current escrow of the top role's keys among the succession role (escrow.ts); null if none. */
  escrow: { scope: string; keyIds: string[]; threshold: number; holders: Hex[] } | null;
  /** The relays the pursuance lives on, as last set in the log; null until a relays.set (each client's own list). */
  relays: string[] | null;
  /** Member → the Matrix id it linked to itself (identity.link). */
  links: Map<Hex, string>;
  /** Member → the members who vouched for its key fingerprint (member.verify). */
  verifications: Map<Hex, Set<Hex>>;
  /** The public profile as last set (profile.set): by whom, in which event. */
  profile: { mission: string; join: string; rooms: string[]; by: Hex; event: Hex } | null;
  /** Whether outsiders may ask to join (requests.set), with the seed of the current address; null until set. */
  requestPolicy: RequestPolicy | null;
  /** Requester → its request and what became of it, in the order carried in. */
  joinRequests: Map<Hex, JoinRequest>;
  /** Links to other pursuances, by link id (link.offer, link.accept, link.peer). */
  peers: Map<Hex, PeerLink>;
  /** Tasks we sent over a link, by their task.send id, with the other side's answer. */
  sent: Map<Hex, CrossTask>;
  /** Tasks sent to us over a link, by the sender's task.send id, with our answer. */
  received: Map<Hex, CrossTask>;
  /** The other sides' events already taken in (link.receive), as crossKey(link, id): none is taken twice over one link; moves are not kept here. */
  crossSeen: Set<string>;
}

export interface PeerLink {
  link: Hex;
  /** Base64url channel seed: members only. */
  seed: string;
  /** "offered": we made the token; "accepted": we took theirs. */
  side: "offered" | "accepted";
  /** Our speaker: the member whose attestations the other side trusts (succeeded by the fold when it loses rules.change). */
  speaker: Hex;
  /** How many times our fold named a new speaker (0: the offerer or accepter). */
  speakerSeq: number;
  /** The speaker before the current one (it signs the handover, if its client still runs and is honest). */
  prevSpeaker: Hex | null;
  /** The public accept key from our offer (the token holds its seed): only its hello names our peer. */
  acceptKey: Hex | null;
  /** On the accepting side: the proof made with the token's key, for our speaker's hello (link.ts). */
  helloProof: string | null;
  /** Roles that may send over the link: ours when we offered it, theirs when we accepted. */
  roles: string[];
  /** The other side, once known (at accept, or from their hello). */
  peer: Hex | null;
  peerName: string;
  peerRelays: string[];
  /** Where the other side lived when the link began (token or hello): back to it when their speaker changes. */
  peerHome: string[];
  /** Their speaker's sequence number of the move that last set `peerRelays` (0: from the token or hello). */
  peerRelaysSeq: number;
  peerSpeaker: Hex | null;
  /** Which of their speakers `peerSpeaker` is (link.speaker): a handover must name the next one. */
  peerSpeakerSeq: number;
  /** Their speaker key → the highest move count taken on its word, kept across speaker changes (a returning speaker's old moves stay stale). */
  moveFloors: Record<Hex, number>;
}

export interface CrossTask {
  link: Hex;
  /** The member who sent it (on the sending side). */
  from: Hex;
  role: string;
  title: string;
  body: string;
  status: "sent" | "accepted" | "declined" | "done";
  note: string;
  /** On the receiving side: our latest link.status for it (what our speaker forwards). */
  statusEvent?: Hex;
}

/** The door as last set: closing keeps the last address's channel and answer key, so pending requests stay answerable. */
export interface RequestPolicy {
  open: boolean;
  seed: string | null;
  limit: number;
  /** Proof-of-work bits each request's stamp must carry. */
  work: number;
  /** The address's answer key (public); its secret is sealed to `holders` only. */
  answerKey: Hex | null;
  /** Member → the answer key's secret seed sealed to it: the holders of member.invite when it was opened. */
  holders: Record<Hex, string>;
  by: Hex;
  event: Hex;
}

export interface JoinRequest {
  requester: Hex;
  name: string;
  message: string;
  ts: number;
  /** The requester's signature: the same request reposted is recognised, not counted as a replay. */
  sig: string;
  carriedBy: Hex;
  event: Hex;
  /** `dropped`: cleared by a member (a flood, or stale); it no longer counts toward the limit and is never answered. */
  status: "pending" | "admitted" | "refused" | "dropped";
  droppedBy?: Hex;
  role?: string;
  invite?: Hex;
  reason?: string;
  answeredBy?: Hex;
}

export function emptyState(): PursuanceState {
  return {
    id: null,
    name: "",
    mission: "",
    founder: null,
    leader: null,
    rules: { roles: {}, succession: { role: "", quorum: 1 }, rotation: { everyMs: null } },
    members: new Map(),
    former: new Map(),
    invites: new Map(),
    keys: new Map(),
    tasks: new Map(),
    taskIds: [],
    announcements: [],
    votes: new Map(),
    delegates: new Map(),
    badSeals: [],
    sealedBy: new Map(),
    doubted: new Map(),
    rejected: [],
    applied: 0,
    clock: 0,
    lastSeen: new Map(),
    escrow: null,
    relays: null,
    links: new Map(),
    verifications: new Map(),
    profile: null,
    requestPolicy: null,
    joinRequests: new Map(),
    peers: new Map(),
    sent: new Map(),
    received: new Map(),
    crossSeen: new Set(),
  };
}

/** "Already received" is per link: the same event may rightly come over two links (a move forwarded over both). */
export const crossKey = (link: Hex, ev: Hex): string => `${link}:${ev}`;

export function rankOf(s: PursuanceState, member: Hex): number {
  const m = s.members.get(member);
  if (!m) return -Infinity;
  let r = -Infinity;
  for (const role of m.roles) r = Math.max(r, roleDef(s.rules, role)?.rank ?? -Infinity);
  return r;
}

export function hasCap(s: PursuanceState, member: Hex, cap: string): boolean {
  const m = s.members.get(member);
  if (!m) return false;
  for (const role of m.roles) if ((roleDef(s.rules, role)?.caps as string[] | undefined)?.includes(cap)) return true;
  return false;
}

/** Scopes ("group" and role names) whose current key this member is entitled to hold. */
export function entitled(s: PursuanceState, member: Hex): string[] {
  const m = s.members.get(member);
  if (!m) return [];
  return ["group", ...entitledScopes(s.rules, m.roles)];
}

export function entitledMembers(s: PursuanceState, scope: string): Hex[] {
  if (scope === "group") return [...s.members.keys()].sort();
  const out: Hex[] = [];
  for (const id of s.members.keys()) if (entitled(s, id).includes(scope)) out.push(id);
  return out.sort();
}

export function canReadTask(s: PursuanceState, member: Hex, t: Task): boolean {
  if (t.memberKeys[member] !== undefined) return true;
  const mine = entitled(s, member);
  return t.readers.some((r) => mine.includes(r));
}

/** Non-members who may read a scope: a role's delegates; for the group key, every delegate. */
export function delegatesOf(s: PursuanceState, scope: string): Hex[] {
  const out = new Set<Hex>();
  for (const [role, ds] of s.delegates) if (scope === "group" || scope === role) for (const d of ds.keys()) out.add(d);
  return [...out].sort();
}

/** Everyone a new key of `scope` is sealed to: entitled members and delegates. */
export function keyRecipients(s: PursuanceState, scope: string): Hex[] {
  return [...new Set([...entitledMembers(s, scope), ...delegatesOf(s, scope)])].sort();
}

/** Whether a new key of `scope` would be sealed to `who`: keyRecipients, asked of one id. */
export function isRecipient(s: PursuanceState, scope: string, who: Hex): boolean {
  if (s.members.has(who) && (scope === "group" || entitled(s, who).includes(scope))) return true;
  if (scope !== "group") return s.delegates.get(scope)?.has(who) ?? false;
  for (const ds of s.delegates.values()) if (ds.has(who)) return true;
  return false;
}

/**
 * Key-holding bookkeeping after membership or rules change: who lost a key forces a rotation.
 *
 * `touched` names the only ids whose entitlement the event changed (a joiner, a grantee, a
 * removed member, an undelegated reader); without it (a rules change) every holder is checked.
 * Checking only those is exact because of an invariant every reducer keeps: a key is only ever
 * sealed to a current recipient, and recipients are lost only by events that reconcile, so
 * before this event every holder was a recipient or the scope was already marked. The mark is
 * sticky until the next rotation, so a marked scope needs no look at all. This is what keeps a
 * fold linear in members: a join used to recompute every scope's recipients over everyone.
 */
export function reconcileKeys(s: PursuanceState, touched?: Iterable<Hex>): void {
  const suspects = touched === undefined ? null : new Set(touched);
  // A delegation lapses when its delegator can no longer read the role (removed, revoked, or
  // the role is gone); its delegate is then a suspect too.
  const lapsed: Hex[] = [];
  for (const [role, ds] of s.delegates) {
    for (const [d, by] of ds) {
      const gone = !roleDef(s.rules, role) || ((suspects === null || suspects.has(by)) && !entitled(s, by).includes(role));
      if (gone) {
        ds.delete(d);
        lapsed.push(d);
      }
    }
    if (ds.size === 0) s.delegates.delete(role);
  }
  for (const name of Object.keys(s.rules.roles)) {
    if (roleDef(s.rules, name)!.reads === "role" && !s.keys.has(name)) {
      s.keys.set(name, { keyId: NO_KEY, holders: new Set(), needsRotation: true, since: s.clock, history: [], rotatedBy: null, rotationSeals: new Set() });
    }
  }
  for (const [scope, k] of s.keys) {
    if (scope !== "group" && roleDef(s.rules, scope)?.reads !== "role") {
      s.keys.delete(scope);
      continue;
    }
    if (k.needsRotation) continue;
    const check: Iterable<Hex> = suspects === null ? k.holders : [...suspects, ...lapsed];
    for (const h of check) {
      if (k.holders.has(h) && !isRecipient(s, scope, h)) {
        k.needsRotation = true;
        break;
      }
    }
  }
  checkEscrowHolders(s);
}

/**
 * An escrow share holder out of the succession role (removed, left, demoted, or the succession
 * moved to another role) still holds its share: the escrowed key now current must rotate (the
 * leader then re-escrows), so nothing new is written under it. Called by reconcileKeys and by a
 * rules.policy (applyPolicy), the only events that change who the successors are.
 */
export function checkEscrowHolders(s: PursuanceState): void {
  const esc = s.escrow;
  const top = esc ? s.keys.get(esc.scope) : undefined;
  if (esc && top && !top.needsRotation && esc.keyIds.includes(top.keyId) && esc.holders.some((h) => !s.members.get(h)?.roles.has(s.rules.succession.role))) top.needsRotation = true;
}

/** Who still needs a key share for a scope (entitled, but no key of the current epoch sealed to them). */
export function missingHolders(s: PursuanceState, scope: string): Hex[] {
  const k = s.keys.get(scope);
  if (!k || k.keyId === NO_KEY) return [];
  return entitledMembers(s, scope).filter((m) => !k.holders.has(m));
}

/** Group key id → cwtch epoch number (its first 4 bytes). */
export function epochOfKeyId(keyId: string): number {
  return keyId === NO_KEY ? 0 : parseInt(keyId.slice(0, 8), 16);
}

const sortedEntries = <V>(m: Map<string, V>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** A plain, ordered projection of the state: what is hashed and what `status --json` prints. */
export function canonicalState(s: PursuanceState): unknown {
  return {
    id: s.id,
    name: s.name,
    mission: s.mission,
    founder: s.founder,
    leader: s.leader,
    rules: canonicalJson(s.rules),
    members: sortedEntries(s.members).map(([id, m]) => ({ id, name: m.name, roles: [...m.roles].sort(), joinedBy: m.joinedBy })),
    former: sortedEntries(s.former).map(([id, f]) => ({ id, ...f })),
    invites: sortedEntries(s.invites).map(([id, i]) => ({ id, ...i })),
    keys: sortedEntries(s.keys).map(([scope, k]) => ({
      scope,
      keyId: k.keyId,
      holders: [...k.holders].sort(),
      needsRotation: k.needsRotation,
      since: k.since,
      history: k.history,
      rotatedBy: k.rotatedBy,
      rotationSeals: [...k.rotationSeals].sort(),
    })),
    tasks: s.taskIds.map((id) => s.tasks.get(id)!),
    announcements: s.announcements,
    votes: sortedEntries(s.votes).map(([c, v]) => ({ candidate: c, voters: [...v].sort() })),
    delegates: sortedEntries(s.delegates).map(([role, ds]) => ({ role, delegates: sortedEntries(ds).map(([to, by]) => ({ to, by })) })),
    badSeals: s.badSeals,
    rejected: s.rejected,
    applied: s.applied,
    lastSeen: sortedEntries(s.lastSeen).map(([id, ts]) => ({ id, ts })),
    escrow: s.escrow,
    // Only once set: states of logs without relays.set hash as they always did.
    ...(s.relays !== null ? { relays: s.relays } : {}),
    // Likewise only once used: older logs keep their hashes.
    ...(s.links.size > 0 ? { links: sortedEntries(s.links).map(([id, matrix]) => ({ id, matrix })) } : {}),
    ...(s.profile !== null ? { profile: s.profile } : {}),
    ...(s.requestPolicy !== null ? { requestPolicy: s.requestPolicy } : {}),
    ...(s.joinRequests.size > 0 ? { joinRequests: sortedEntries(s.joinRequests).map(([, r]) => r) } : {}),
    ...(s.peers.size > 0 ? { peers: sortedEntries(s.peers).map(([, p]) => p) } : {}),
    ...(s.sent.size > 0 ? { sent: sortedEntries(s.sent).map(([id, t]) => ({ id, ...t })) } : {}),
    ...(s.received.size > 0 ? { received: sortedEntries(s.received).map(([id, t]) => ({ id, ...t })) } : {}),
    ...(s.verifications.size > 0 ? { verifications: sortedEntries(s.verifications).map(([id, by]) => ({ id, by: [...by].sort() })) } : {}),
  };
}

/** JSON with object keys sorted at every level: one byte string per value. */
export function canonicalJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonicalJson);
  if (v instanceof Set) return [...v].sort().map(canonicalJson);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) if (o[k] !== undefined) out[k] = canonicalJson(o[k]);
    return out;
  }
  return v;
}

export function stateHash(crypto: Crypto, s: PursuanceState): string {
  return toHex(crypto.hash(utf8.encode(JSON.stringify(canonicalJson(canonicalState(s)))), 32));
}
