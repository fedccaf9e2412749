// Group sessions for generating workloads: one per member, all on one shared
// causal log, as if every member had already received every event. Each
// member's compose() then chains to its own previous event and cites the
// current tips, exactly as a live client would, without 20 copies of the log.
import type { Crypto, SignKeyPair } from "../src/cwtch/crypto.js";
import { EventLog } from "../src/cwtch/event-log.js";
import { GroupSession } from "../src/cwtch/group-session.js";

export function sharedSessions(
  crypto: Crypto,
  identities: SignKeyPair[],
  groupId: Uint8Array,
  epochs: Array<{ epoch: number; key: Uint8Array }>,
  now: () => number,
): GroupSession[] {
  const log = new EventLog();
  return identities.map((identity) => {
    const s = new GroupSession({ crypto, identity, groupId, epochs, now });
    Object.defineProperty(s, "log", { value: log });
    return s;
  });
}
