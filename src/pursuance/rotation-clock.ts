// The periodic rotation policy runs on claimed times, so no single claim may
// decide it (docs/protocol.md, "Verifiable rotations"):
// - a member without keys.rotate may rotate a key that needs no rotation only
//   once the policy is due by time OTHER members have claimed: its own ts
//   counts only up to the latest ts any other current member has claimed, so
//   one member cannot rotate at will by dating its rotation a period ahead;
// - a key whose age (`since`) lies more than one period ahead of a claim is
//   due at that claim: a far-future rotation makes the key due for everyone
//   at once instead of switching the policy off.
// Every client applies this in the fold (apply-keys.ts) and in its duties.
import type { Hex } from "./events.js";
import { hasCap, type PursuanceState, type ScopeKey } from "./state.js";

/** The latest ts claimed by a current member other than `author`; -Infinity if none. */
function othersLatest(s: PursuanceState, author: Hex): number {
  let t = -Infinity;
  for (const m of s.members.keys()) if (m !== author) t = Math.max(t, s.lastSeen.get(m) ?? -Infinity);
  return t;
}

/** Whether the policy makes `k` due for `author` rotating at claimed time `ts`. */
export function rotationDue(s: PursuanceState, k: ScopeKey, ts: number, author: Hex): boolean {
  const every = s.rules.rotation.everyMs;
  if (every === null) return false;
  if (k.since - ts > every) return true;
  const t = hasCap(s, author, "keys.rotate") ? ts : Math.min(ts, othersLatest(s, author));
  return t - k.since >= every;
}
