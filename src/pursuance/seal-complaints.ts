// `keys.unreadable` is a holder's word that a seal did not open. No other
// client can check it (a sealed box opens only with the recipient's secret),
// so it may cost only the one who says it: it is shown as that member's word,
// names no one else, and steers only who re-shares the key to that member.
// See docs/protocol.md, "Verifiable rotations".
import type { Hex } from "./events.js";
import type { PursuanceState } from "./state.js";

export interface SealComplaint {
  scope: string;
  keyId: string;
  reporter: Hex;
}

/** Every complaint in the log, as the complainer's word: what status shows (CLI `flags`, the bot's status). */
export function sealComplaints(s: PursuanceState): SealComplaint[] {
  return s.badSeals.map((b) => ({ scope: b.scope, keyId: b.keyId, reporter: b.reporter }));
}

/** Members whose seal (a rotation's or a share's) `member` said it could not open: passed over when choosing who re-shares to `member`, and to no one else. */
export function sealersDoubtedBy(s: PursuanceState, member: Hex): Set<Hex> {
  return new Set(s.doubted.get(member) ?? []);
}
