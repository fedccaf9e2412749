// The state in canonical form: what the state hash covers. Same events, same
// bytes, whatever the order they were folded in.
import { toHex, utf8 } from "../cwtch/bytes.js";
import type { Crypto } from "../cwtch/crypto.js";
import type { PursuanceState } from "./state.js";

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
