// What an entitled client does on its own when the state calls for it:
// rotate a key someone lost (removal, revocation, leaving, a rules change, or
// the periodic policy), share current keys with members who lack them, and
// revoke invites that expired unused (a join's ts is the joiner's claim, so
// expiry is made hard by a revoke that every later join must get past).
// One designated member acts at once; the others act only if it has not
// after a fallback delay (duty-schedule.ts), and the fold settles any race.
import { rotateBody, shareBody } from "./actions.js";
import type { PursuanceClient } from "./client.js";
import { runSuccessionDuties } from "./client-succession.js";
import { actsFirst, designated, schedule } from "./duty-schedule.js";
import { mayRevokeInvite } from "./apply-membership.js";
import { entitled, entitledMembers, epochOfKeyId, hasCap, inviteStatus, missingHolders, type PursuanceState } from "./state.js";
import { roleDef } from "./rules.js";
import { rotationDue } from "./rotation-clock.js";
import { sealersDoubtedBy } from "./seal-complaints.js";
import { welcomeDuties } from "./client-rendezvous.js";

export function runDuties(c: PursuanceClient): void {
  const s = c.state;
  if (!s.members.has(c.me) || s.id === null) return;
  const mine = entitled(s, c.me);
  const lacking = new Set<string>();
  // The log says we hold a key our ring could not open: say so, so a holder re-shares (docs/protocol.md).
  for (const [scope, k] of s.keys) {
    if (!k.holders.has(c.me) || k.keyId === "0".repeat(32) || c.ring.get(k.keyId)) continue;
    schedule(c, `unreadable:${scope}:${k.keyId}`, true, () => c.state.keys.get(scope)?.keyId === k.keyId && c.state.keys.get(scope)!.holders.has(c.me) && !c.ring.get(k.keyId), async () => {
      await c.publish({ t: "keys.unreadable", scope, keyId: k.keyId });
    });
  }
  for (const [scope, k] of s.keys) {
    if (!mine.includes(scope)) continue;
    const due = rotationDue(s, k, c.ports.now(), c.me);
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
    // Whose seal m said did not open is passed over for m (m's word steers only who serves m), unless no one else holds the key.
    const doubted = sealersDoubtedBy(s, m);
    const all = [...g.holders].filter((h) => s.members.has(h) && h !== m);
    const trusted = all.filter((h) => !doubted.has(h));
    const holders = trusted.length > 0 ? trusted : all;
    const passedOver = doubted.has(c.me) && trusted.length > 0;
    // A newly crowned leader is served by every holder at once: the designated one may be the silent
    // old leader. Duplicate shares are harmless; a leader without its keys is not.
    const first = !passedOver && (m === s.leader || c.duty.carried.has(m) || (invite && s.members.has(invite.by) && !doubted.has(invite.by) ? invite.by === c.me : designated(s, holders) === c.me));
    const want = () => [...c.state.keys.keys()].some((sc) => missingHolders(c.state, sc).includes(m));
    schedule(c, `share:${m}:${[...s.keys.values()].map((k) => k.keyId).join(",")}`, first, want, async () => {
      const body = shareBody(c.actor, c.state, m);
      if (!body) return;
      // A joiner may not hold the current group key yet: write where the invite let them read.
      const gk = c.state.keys.get("group")!;
      // One who lost a seal (keys.unreadable) still reads the epoch before: write there. A keyless
      // joiner gets the group keys by the rendezvous welcome, so the current epoch.
      const prev = gk.history[gk.history.length - 2];
      const old = invite?.groupKeyId;
      const lostSeal = c.state.badSeals.some((b) => b.reporter === m && b.keyId === gk.keyId);
      const readable = gk.holders.has(m)
        ? undefined
        : lostSeal && prev && c.ring.get(prev)
          ? epochOfKeyId(prev)
          : old !== undefined && c.ring.get(old)
            ? epochOfKeyId(old)
            : undefined;
      await c.publish(body, readable);
    });
  }
  acknowledgeAnnouncers(c);
  runSuccessionDuties(c);
  revokeExpired(c);
  welcomeDuties(c);
}

/**
 * The leader's word for public copies (leader-ack.ts): a member who may
 * announce, whose highest role key the leader did not seal to it last, gets
 * that key again from the leader. Duplicate shares are harmless.
 */
function acknowledgeAnnouncers(c: PursuanceClient): void {
  const s = c.state;
  if (s.leader !== c.me) return;
  for (const m of s.members.keys()) {
    if (m === c.me || !hasCap(s, m, "announce")) continue;
    const top = topRoleKey(s, m);
    if (top === null || !(roleDef(s.rules, top)?.caps as readonly string[] | undefined)?.includes("announce")) continue;
    const keyId = s.keys.get(top)?.keyId;
    const acked = () => c.state.sealedBy.get(`${top} ${m}`) === c.me || c.state.leader !== c.me || !c.state.members.has(m);
    if (acked()) continue;
    schedule(c, `ack:${m}:${top}:${keyId}`, true, () => !acked(), async () => {
      const body = shareBody(c.actor, c.state, m);
      if (body) await c.publish(body);
    });
  }
}

/** The highest-ranked role whose key `m` is entitled to (the group key names no role). */
function topRoleKey(s: PursuanceState, m: string): string | null {
  let best: string | null = null;
  for (const sc of entitled(s, m)) {
    const r = roleDef(s.rules, sc);
    if (r && r.reads === "role" && (best === null || r.rank > roleDef(s.rules, best)!.rank)) best = sc;
  }
  return best;
}

/** Any member who may revoke an unused invite past its expiry does so; the inviter (or the highest ranked) at once. */
function revokeExpired(c: PursuanceClient): void {
  const s = c.state;
  const now = c.ports.now();
  for (const [id, inv] of s.invites) {
    if (inviteStatus(inv, now) !== "expired" || !mayRevokeInvite(s, c.me, inv)) continue;
    const may = [...s.members.keys()].filter((m) => mayRevokeInvite(s, m, inv));
    const first = actsFirst(c, inv.by, may);
    const still = () => {
      const i = c.state.invites.get(id);
      return i !== undefined && inviteStatus(i, c.ports.now()) === "expired";
    };
    schedule(c, `revoke:${id}`, first, still, () => c.publish({ t: "invite.revoke", invite: id }));
  }
}
