// The periodic rotation policy runs on claimed times, so no single claim may
// decide it (docs/protocol.md, "What is left to authors"). For a member
// without keys.rotate, its own claims never make a key due, in either
// direction; only other current members' claims count:
// - it may rotate a key that needs no rotation once the period has passed
//   since the key's age by the latest ts some OTHER current member has
//   claimed (its own ts counts only up to that);
// - a key whose age (`since`) lies more than one period ahead of the latest
//   ts claimed by a current member other than the rotator and the key's last
//   rotator is due: a far-future rotation makes the key due instead of
//   switching the policy off. (Before, the rotator's own ts was the claim, so
//   dating a rotation a period before the key's age made it due at will.)
// - the age a member without keys.rotate gives the key never moves back
//   (nextSince), so a backdated rotation it was allowed (a key that needed
//   rotation) cannot make the next one due for it.
// A member with keys.rotate may rotate at will anyway: for its own duty its
// clock is taken as is. Every client applies this in the fold (apply-keys.ts)
// and in its duties (client/duties.ts).
import type { Hex } from "./events.js";
import { hasCap, type PursuanceState, type ScopeKey } from "./state.js";

/** The latest ts claimed by a current member not in `skip`; -Infinity if none. */
function latestExcept(s: PursuanceState, skip: readonly (Hex | null)[]): number {
  let t = -Infinity;
  for (const m of s.members.keys()) if (!skip.includes(m)) t = Math.max(t, s.lastSeen.get(m) ?? -Infinity);
  return t;
}

/** The others' claim a key's age is judged against when it lies ahead: neither the rotator's nor the last rotator's (its age is that one's claim). */
const aheadRef = (s: PursuanceState, k: ScopeKey, author: Hex) => latestExcept(s, [author, k.rotatedBy]);

/** Whether the key's age lies more than a period ahead of what others have claimed. */
function ahead(s: PursuanceState, k: ScopeKey, every: number, author: Hex): boolean {
  const ref = aheadRef(s, k, author);
  return ref !== -Infinity && k.since - ref > every;
}

/** Whether the policy makes `k` due for `author` rotating at claimed time `ts`. */
export function rotationDue(s: PursuanceState, k: ScopeKey, ts: number, author: Hex): boolean {
  const every = s.rules.rotation.everyMs;
  if (every === null) return false;
  if (hasCap(s, author, "keys.rotate")) return k.since - ts > every || ts - k.since >= every;
  if (ahead(s, k, every, author)) return true;
  return Math.min(ts, latestExcept(s, [author])) - k.since >= every;
}

/**
 * The key's new age after `author` rotates it at `ts`. A member with
 * keys.rotate dates it as it claims. Anyone else's claim never moves the age
 * back, except that an age already a period ahead of others' claims is reset,
 * but no earlier than the latest of those claims.
 */
export function nextSince(s: PursuanceState, k: ScopeKey, ts: number, author: Hex): number {
  if (hasCap(s, author, "keys.rotate")) return ts;
  const every = s.rules.rotation.everyMs;
  if (every !== null && ahead(s, k, every, author)) return Math.max(ts, aheadRef(s, k, author));
  return Math.max(ts, k.since);
}
