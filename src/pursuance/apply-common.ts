// Shared vocabulary of the reducers: the event as the fold sees it, the typed
// rejection, and the checks every reducer makes before it touches state.
import type { Crypto } from "../cwtch/crypto.js";
import type { Body, Hex } from "./events.js";
import { hasCap, rankOf, type PursuanceState } from "./state.js";
import { roleDef } from "./rules.js";

export interface PEvent {
  id: Hex;
  author: Hex;
  seq: number;
  ts: number;
  /** Ids this event cites: the author's previous event and its deps. */
  parents: Hex[];
  body: Body | null;
  /** Why the body did not parse, when it did not. */
  bodyError?: string;
}

export interface ApplyContext {
  crypto: Crypto;
  /** Joins admitted although another join used their invite first: each was vouched for by someone who could have made the invite (join-contest.ts). */
  vouchedJoins?: ReadonlySet<string>;
}

/**
 * An event that is well signed but not allowed: kept with its reason, never
 * applied. Not an Error on purpose: hostile logs are full of these, and
 * capturing a stack trace for each one dominated the fold's cost.
 */
export class Rejected {
  readonly name = "Rejected";
  constructor(readonly reason: string) {}
  get message(): string {
    return this.reason;
  }
}

export function reject(reason: string): never {
  throw new Rejected(reason);
}

export function short(id: string): string {
  return id.slice(0, 12);
}

/** A time for a rejection reason: ISO when a Date holds it, else the raw ms (formatting must never throw in a fold). */
export function when(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ms} ms` : d.toISOString();
}

export function requireMember(s: PursuanceState, who: Hex): void {
  if (!s.members.has(who)) reject(`${short(who)} is not a member`);
}

/**
 * The author must be a member; and a signed event by a member, even one the
 * rules go on to refuse, proves they were alive at the time they claim: it
 * moves their last-seen time. The leader speaking lets pending succession
 * votes lapse (they were cast on the belief that it had gone silent).
 */
export function requireActor(s: PursuanceState, e: PEvent): void {
  requireMember(s, e.author);
}

/**
 * After an event applies (never for a rejected one: a refused event changes
 * nothing): its author was alive at its claimed time, and a leader who acts
 * voids the pending succession votes.
 */
export function noteActivity(s: PursuanceState, e: PEvent): void {
  if (!s.members.has(e.author)) return;
  if (e.ts > (s.lastSeen.get(e.author) ?? -Infinity)) s.lastSeen.set(e.author, e.ts);
  if (s.leader === e.author && s.votes.size > 0) s.votes.clear();
}

export function requireCap(s: PursuanceState, who: Hex, cap: string): void {
  if (!hasCap(s, who, cap)) reject(`${short(who)} lacks capability ${cap}`);
}

export function requireRole(s: PursuanceState, role: string): void {
  if (!roleDef(s.rules, role)) reject(`no role named "${role}"`);
}

/** Strict authority, as with Matrix power levels: act only on what ranks strictly below you. */
export function requireOutranksRole(s: PursuanceState, who: Hex, role: string): void {
  const mine = rankOf(s, who);
  const theirs = roleDef(s.rules, role)!.rank;
  if (!(mine > theirs)) reject(`rank ${mine} does not outrank role "${role}" (rank ${theirs})`);
}

export function requireOutranksMember(s: PursuanceState, who: Hex, target: Hex): void {
  const mine = rankOf(s, who);
  const theirs = rankOf(s, target);
  if (!(mine > theirs)) reject(`rank ${mine} does not outrank member ${short(target)} (rank ${theirs})`);
}

export function requireNotLeader(s: PursuanceState, target: Hex): void {
  if (s.leader === target) reject(`${short(target)} is the leader: leadership changes only by transfer or succession`);
}

export function bodyOf<T extends Body["t"]>(e: PEvent, _t: T): Extract<Body, { t: T }> {
  return e.body as Extract<Body, { t: T }>;
}
