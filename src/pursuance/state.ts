// The state every client computes by folding the log. Mutable while folding
// (speed: 100k events), canonicalised for hashing: same events, same bytes.
import type { Assignee, Ciphertext, FileRef, Hex, SealedContent, SealedTo, TaskStatus } from "./events.js";
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

/** A document attached to a task (task.attach; files.ts): the clear part of its event. */
export interface TaskFile extends FileRef {
  id: Hex;
  author: Hex;
  ts: number;
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
  /** Documents, in fold order; absent until the first (states of older logs hash as before). */
  files?: TaskFile[];
  closeReason: Ciphertext | null;
  /** Labels and priority (task.meta), sealed like the text; absent until first set (older states hash as before). */
  meta?: Ciphertext;
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

/** Group key id → cwtch epoch number (its first 4 bytes). */
export function epochOfKeyId(keyId: string): number {
  return keyId === NO_KEY ? 0 : parseInt(keyId.slice(0, 8), 16);
}

