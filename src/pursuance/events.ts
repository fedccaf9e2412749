// Pursuance event bodies: the payload of a signed group event, as UTF-8 JSON
// with a `t` discriminator. The types live here; they are parsed and
// validated once, at the edge, in events-parse.ts; the state machine sees only
// well-formed bodies (malformed ones become rejected events, kept for audit).
import type { RoleDef, Rules } from "./rules.js";

/** A hex Ed25519 signature. */
export const SIG128 = /^[0-9a-f]{128}$/;
export type Hex = string;

/** A key sealed (libsodium sealed box) to one member: base64url. */
export type SealedTo = Record<Hex, string>;

export interface KeyRef {
  /** "group" or a role name. */
  scope: string;
  /** 32 hex: BLAKE2b-128 of the key, so a recipient can check what it opened. */
  keyId: string;
  sealed: string;
}

/** Task text, encrypted once under a content key that is wrapped per reader role (and per assignee). */
export interface SealedContent {
  nonce: string;
  ct: string;
  /** role → { keyId of the role key, content key encrypted under it (nonce ‖ ct) }. */
  wraps: Record<string, { keyId: string; w: string }>;
  /** member → content key sealed to them (assignees who read no reader role). */
  members: SealedTo;
}

export interface Ciphertext {
  nonce: string;
  ct: string;
}

/** The clear part of a task.attach (files.ts), as the fold keeps it on the task. */
export interface FileRef {
  size: number;
  chunks: number;
  /** Base64url of the 32-byte key the chunk tags derive from (members may copy chunks on a move, never read them). */
  tagKey: string;
  /** Base64url of `chunks` × 16-byte hashes of the sealed chunk blobs. */
  hashes: string;
  /** The name, file key and plaintext hash (FileMeta), under the task's content key. */
  meta: Ciphertext;
}

export type Assignee = { member: Hex } | { role: string };

export const TASK_STATUSES = ["new", "started", "help wanted", "ready for review", "reviewing", "done"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const PRIORITIES = ["low", "normal", "high", "urgent"] as const;
export type Priority = (typeof PRIORITIES)[number];

export type Body =
  | { t: "genesis"; name: string; mission: string; rules: Rules; founderName: string; groupKeyId: string; keys: KeyRef[] }
  | { t: "role.create"; role: string; def: RoleDef }
  | { t: "role.amend"; role: string; def: RoleDef }
  | { t: "role.delete"; role: string }
  | { t: "rules.policy"; succession?: Rules["succession"]; rotation?: Rules["rotation"]; escrow?: Escrow; files?: Rules["files"]; labels?: string[] }
  | { t: "role.grant"; member: Hex; role: string; keys: KeyRef[] }
  | { t: "role.revoke"; member: Hex; role: string }
  /**
   * `expires` (ms since 1970, optional so older logs decode) bounds the join's `ts`.
   * `rendezvous` (base64url, 32 bytes) is the invite's rendezvous secret, readable by
   * members only, so any member's client can hear the joiner (see rendezvous.ts).
   * `groupKeyId`/`roleKeyIds` only in older invites that carried keys in the token.
   */
  | { t: "invite"; invite: Hex; role: string; expires?: number; rendezvous?: string; groupKeyId?: string; roleKeyIds?: string[] }
  | { t: "invite.revoke"; invite: Hex }
  | { t: "join"; invite: Hex; proof: string; name: string }
  | { t: "leave" }
  | { t: "remove"; member: Hex; reason: string }
  | { t: "keys.rotate"; scope: string; from: string; keyId: string; sealed: SealedTo }
  /** `roles`: the recipient's roles as the sharer's fold holds them; the fold refuses a share that names others (the leader's word for a public copy: leader-ack.ts). */
  | { t: "keys.share"; to: Hex; keys: KeyRef[]; roles?: string[] }
  /** A holder says the current key of `scope` sealed to it does not open (or does not match its id). */
  | { t: "keys.unreadable"; scope: string; keyId: string }
  /** Let a non-member (e.g. a bridge) read a role: its keys, and the group key, sealed to `to`. Revocable. */
  | { t: "keys.delegate"; role: string; to: Hex; keys: KeyRef[] }
  | { t: "keys.undelegate"; role: string; to: Hex }
  | { t: "task.create"; readers: string[]; assignee: Assignee | null; parent: Hex | null; due: string | null; content: SealedContent }
  | { t: "task.update"; task: Hex; status?: TaskStatus; due?: string | null; content?: Ciphertext }
  | { t: "task.assign"; task: Hex; assignee: Assignee | null; memberKey?: string }
  | { t: "task.comment"; task: Hex; content: Ciphertext }
  | { t: "task.close"; task: Hex; reason: Ciphertext | null }
  | { t: "task.reopen"; task: Hex }
  | { t: "task.archive"; task: Hex }
  /** Labels and priority (TaskMeta), sealed under the task's content key: the whole set, replacing the last. */
  | { t: "task.meta"; task: Hex; meta: Ciphertext }
  /** A document for the task (files.ts): chunks on the relays, their hashes here, the name and file key sealed under the task's content key. */
  | ({ t: "task.attach"; task: Hex } & FileRef)
  | { t: "announce"; text: string }
  | { t: "leader.transfer"; to: Hex }
  /** `share`: the voter's escrow share of the top role's keys, sealed to the candidate (see escrow.ts). */
  | { t: "leader.vote"; candidate: Hex; share?: string }
  /**
   * Where the pursuance lives: every member's client follows this list.
   * `move`: the pursuance left its previous relays (a move or a recovery), not
   * just a mirror added or dropped; the notice is posted to the old relays too.
   */
  | { t: "relays.set"; relays: string[]; move?: true }
  /** The author's own Matrix id, published so others can tie the two (see identity.ts); "" unlinks. */
  | { t: "identity.link"; matrix: string }
  /** The author compared `member`'s key fingerprint out of band and vouches for it (Keybase-style, signed). */
  | { t: "member.verify"; member: Hex; fingerprint: string }
  /** What the pursuance says of itself in public (its profile): mission, how to ask to join, public rooms. */
  | { t: "profile.set"; mission: string; join: string; rooms: string[] }
  /**
   * Asking to join (join-request.ts): open with a fresh `seed` (base64url, 32
   * bytes: the address's channel derives from it), at most `limit` pending at
   * once, each stamped with `work` bits of proof-of-work; a fresh answer key
   * (`answerKey`, public) whose secret is sealed to each holder of
   * member.invite only (`holders`: member → box); `open: false` turns requests off.
   */
  | { t: "requests.set"; open: boolean; seed?: string; limit: number; work?: number; answerKey?: Hex; holders?: Record<Hex, string> }
  /** A member carries an outsider's signed, stamped request into the log. */
  | { t: "request.pending"; requester: Hex; name: string; message: string; ts: number; sig: string; stamp: string }
  /** Pending requests dropped at once (a flood cleared, or stale ones expired): they no longer count toward the limit. */
  | { t: "request.drop"; requesters: Hex[] }
  /** An entitled member's answer: admitted with the invite it made for them, or refused with a reason. */
  | { t: "request.answer"; requester: Hex; admit: boolean; role?: string; invite?: Hex; reason: string }
  /** Offer a link (link.ts): its id and seed (members only: the token is made from them), our roles that may send over it. */
  | { t: "link.offer"; link: Hex; seed: string; roles: string[]; acceptKey?: Hex }
  /** Accept another pursuance's link token: who they are, where they live, their speaker, and their roles that may send to us. */
  | { t: "link.accept"; link: Hex; seed: string; peer: Hex; name: string; relays: string[]; speaker: Hex; roles: string[]; proof?: string }
  /** The offering side learns the accepting side from its hello, proven with the token's key (link.ts helloRefusal). */
  | { t: "link.peer"; link: Hex; peer: Hex; name: string; relays: string[]; speaker: Hex; proof: string; sig: string }
  /** The other side's speaker is now `speaker` (its `seq`th): by the previous one's handover, or an entitled member's word. */
  | { t: "link.speaker"; link: Hex; speaker: Hex; seq: number; handover?: string }
  /** Send a task over a link (our side's record; the speaker forwards it with an attestation). */
  | { t: "task.send"; link: Hex; title: string; body: string }
  /** A signed event of the other side (a task sent, an answer), with their speaker's attestation. */
  | { t: "link.receive"; link: Hex; ev: string; role: string; attest: string; seq?: number }
  /** The receiving side's answer to a task sent to it, which flows back the same way. */
  | { t: "link.status"; link: Hex; send: Hex; status: LinkStatus; note: string };

/** Between pursuances (link.ts): what a task sent over a link may become on the receiving side. */
export const LINK_STATUSES = ["accepted", "declined", "done"] as const;
export type LinkStatus = (typeof LINK_STATUSES)[number];

/**
 * The latest time (ms since 1970) any event, expiry or carried request may
 * claim: 2^47 ms, about the year 6429. Far beyond honest use, and well inside
 * what a Date holds (8.64e15), so a time that passed the decoder can always be
 * formatted and compared without overflow.
 */
export const MAX_TS = 2 ** 47;

/** A time field: a whole number of ms in 0..MAX_TS. */
export function timeMs(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > MAX_TS) throw new BodyError(`${what} must be a whole number of ms from 0 to ${MAX_TS}`, v);
  return v;
}

/** At most this many requests pending at once, whatever a requests.set says. */
export const MAX_REQUEST_LIMIT = 1000;
/** The most proof-of-work bits a request may be asked for (2^28 hashes is minutes of a laptop's time). */
export const MAX_REQUEST_WORK = 28;

/**
 * The leader's top-role keys split (Shamir, threshold = the succession quorum)
 * among the succession role, so that a quorum that crowns a successor can
 * hand it those keys while no smaller group can read them.
 */
export interface Escrow {
  /** The top role whose keys are split. */
  scope: string;
  /** Every key id of the scope, oldest first: a share covers them all. */
  keyIds: string[];
  threshold: number;
  /** member → their share, sealed to them. */
  shares: SealedTo;
}

export type BodyType = Body["t"];

export class BodyError extends Error {
  constructor(message: string, readonly value: unknown) {
    super(message);
    this.name = "BodyError";
  }
}

export function encodeBody(b: Body): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(b));
}
