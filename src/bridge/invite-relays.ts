// Which relay addresses an invite printed for a member outside this host
// carries. The bridge reaches its relays by the names in `relays`, which may
// exist only where it runs (ws://relay:7717 on the compose network); members
// elsewhere reach the same relays at `inviteRelays` (the onion address, a
// public wss:// URL). A pursuance may also live on relays this host does not
// run: those addresses are already public and stay as they are.

/** `pursuanceRelays` with this host's own addresses (`own`) replaced by the published ones. */
export function relaysForInvite(pursuanceRelays: readonly string[], own: readonly string[], published: readonly string[] | undefined): string[] {
  if (!published || published.length === 0) return [...pursuanceRelays];
  const ownSet = new Set(own);
  const foreign = pursuanceRelays.filter((u) => !ownSet.has(u));
  // Only when the pursuance lives on one of ours: else the published addresses lead elsewhere.
  if (foreign.length === pursuanceRelays.length) return [...pursuanceRelays];
  return [...new Set([...published, ...foreign])];
}
