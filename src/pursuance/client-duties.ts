// What an entitled client does on its own when the state calls for it:
// rotate a key someone lost (removal, revocation, leaving, a rules change, or
// the periodic policy) and share current keys with members who lack them.
// One designated member acts at once; the others act only if it has not
// after a fallback delay, and the fold settles any race deterministically.
import { ActionError, rotateBody, shareBody } from "./actions.js";
import type { PursuanceClient } from "./client.js";
import { runSuccessionDuties } from "./client-succession.js";
import { entitled, entitledMembers, epochOfKeyId, missingHolders, rankOf, suspectRotators, type PursuanceState } from "./state.js";

export interface DutyState {
  inflight: Set<string>;
  timers: Map<string, { cancel(): void }>;
}

const DEFAULT_FALLBACK_MS = 20_000;

/** The member expected to act first: highest rank, then smallest id. */
function designated(s: PursuanceState, candidates: string[]): string | undefined {
  return [...candidates].sort((a, b) => rankOf(s, b) - rankOf(s, a) || (a < b ? -1 : 1))[0];
}

export function schedule(c: PursuanceClient, key: string, first: boolean, stillNeeded: () => boolean, act: () => Promise<unknown>): void {
  if (c.duty.inflight.has(key) || c.duty.timers.has(key)) return;
  const run = () => {
    c.duty.timers.delete(key);
    if (!stillNeeded()) return;
    c.duty.inflight.add(key);
    act()
      .catch((e: Error) => {
        // Losing a race (a stale rotation) is normal; anything else is worth a line.
        if (!(e instanceof ActionError) || !/stale|needs no rotation|already/.test(e.message)) c.ports.log?.(`duty ${key}: ${e.message}`);
      })
      .finally(() => c.duty.inflight.delete(key));
  };
  if (first) return void queueMicrotask(run);
  const ms = c.opts.fallbackDutyMs ?? DEFAULT_FALLBACK_MS;
  const timer = c.ports.setTimer ? c.ports.setTimer(run, ms) : (() => {
    const t = setTimeout(run, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  })();
  c.duty.timers.set(key, timer);
}

export function runDuties(c: PursuanceClient): void {
  const s = c.state;
  if (!s.members.has(c.me) || s.id === null) return;
  const mine = entitled(s, c.me);
  const every = s.rules.rotation.everyMs;
  const lacking = new Set<string>();
  // The log says we hold a key our ring could not open: say so, so a holder re-shares (docs/protocol.md).
  for (const [scope, k] of s.keys) {
    if (!k.holders.has(c.me) || k.keyId === "0".repeat(32) || c.ring.get(k.keyId)) continue;
    schedule(c, `unreadable:${scope}:${k.keyId}`, true, () => c.state.keys.get(scope)?.keyId === k.keyId && c.state.keys.get(scope)!.holders.has(c.me) && !c.ring.get(k.keyId), async () => {
      await c.publish({ t: "keys.unreadable", scope, keyId: k.keyId });
    });
  }
  const suspects = suspectRotators(s);
  for (const [scope, k] of s.keys) {
    if (!mine.includes(scope)) continue;
    const due = every !== null && c.ports.now() - k.since >= every;
    if (k.needsRotation || due) {
      const key = `rotate:${scope}:${k.keyId}`;
      const first = designated(s, entitledMembers(s, scope)) === c.me;
      schedule(c, key, first, () => c.state.keys.get(scope)?.keyId === k.keyId, async () => {
        const { body } = rotateBody(c.actor, c.state, scope);
        await c.publish(body);
      });
      continue;
    }
    if (!c.ring.get(k.keyId)) continue;
    for (const m of missingHolders(s, scope)) lacking.add(m);
  }
  // One share per member carries every scope we can give them.
  for (const m of lacking) {
    const invite = [...s.invites.values()].find((i) => i.usedBy === m);
    const g = s.keys.get("group")!;
    const holders = [...g.holders].filter((h) => s.members.has(h) && h !== m && !suspects.has(h));
    // A newly crowned leader is served by every holder at once: the designated one may be the silent
    // old leader. Duplicate shares are harmless; a leader without its keys is not.
    const first = m === s.leader || (invite && s.members.has(invite.by) && !suspects.has(invite.by) ? invite.by === c.me : designated(s, holders) === c.me);
    const want = () => [...c.state.keys.keys()].some((sc) => missingHolders(c.state, sc).includes(m));
    schedule(c, `share:${m}:${[...s.keys.values()].map((k) => k.keyId).join(",")}`, first, want, async () => {
      const body = shareBody(c.actor, c.state, m);
      if (!body) return;
      // A joiner may not hold the current group key yet: write where the invite let them read.
      const gk = c.state.keys.get("group")!;
      // One who lost a seal (keys.unreadable) still reads the epoch before: write there.
      const prev = gk.history[gk.history.length - 2];
      const readable = gk.holders.has(m)
        ? undefined
        : invite && c.ring.get(invite.groupKeyId) && invite.usedBy === m && !c.state.badSeals.some((b) => b.reporter === m && b.keyId === gk.keyId)
          ? epochOfKeyId(invite.groupKeyId)
          : prev && c.ring.get(prev)
            ? epochOfKeyId(prev)
            : undefined;
      await c.publish(body, readable);
    });
  }
  runSuccessionDuties(c);
}
