// What an entitled client does on its own when the state calls for it:
// rotate a key someone lost (removal, revocation, leaving, a rules change, or
// the periodic policy), share current keys with members who lack them, and
// revoke invites that expired unused (a join's ts is the joiner's claim, so
// expiry is made hard by a revoke that every later join must get past).
// One designated member acts at once; the others act only if it has not
// after a fallback delay (duty-schedule.ts), and the fold settles any race.
import { rotateBody, shareBody } from "../actions.js";
import type { ClientCore } from "./core.js";
import { runSuccessionDuties } from "./succession.js";
import { actsFirst, designated, schedule } from "./duty-schedule.js";
import { mayRevokeInvite } from "../apply-membership.js";
import { entitled, entitledMembers, epochOfKeyId, inviteStatus } from "../state.js";
import { missingHolders } from "../key-holders.js";
import { roleDef } from "../rules.js";
import { rotationDue } from "../rotation-clock.js";
import { sealersDoubtedBy } from "../seal-complaints.js";
import { welcomeDuties } from "./rendezvous.js";

export function runDuties(c: ClientCore): void {
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

/** Per client: "member:roles" the leader has already acknowledged in an applied event (no rescan). */
const acknowledged = new WeakMap<ClientCore, Set<string>>();

/**
 * The leader's word for public copies (leader-ack.ts): a member who may
 * announce, whose announce roles the leader has not named in a key share (or
 * granted), gets a share from the leader naming them. Duplicate shares are
 * harmless; the log is read only while someone is still unacknowledged.
 */
function acknowledgeAnnouncers(c: ClientCore): void {
  const s = c.state;
  if (s.leader !== c.me) return;
  let seen = acknowledged.get(c);
  if (!seen) acknowledged.set(c, (seen = new Set()));
  const want: Array<{ m: string; roles: string[]; key: string }> = [];
  for (const [m, member] of s.members) {
    if (m === c.me) continue;
    const roles = [...member.roles].filter((r) => (roleDef(s.rules, r)?.caps as readonly string[] | undefined)?.includes("announce")).sort();
    const key = `${m}:${roles.join(",")}`;
    if (roles.length > 0 && !seen.has(key)) want.push({ m, roles, key });
  }
  if (want.length === 0) return;
  const mine = new Map<string, Set<string>>();
  for (const a of c.fold.applied) {
    if (a.rejected !== null) continue;
    const b = a.event.body;
    // A role (re)defined since an acknowledgement needs a new one (leader-ack.ts).
    if (b?.t === "role.create" || b?.t === "role.amend" || b?.t === "role.delete") for (const set of mine.values()) set.delete(b.role);
    if (a.event.author !== c.me) continue;
    const [to, roles] = b?.t === "keys.share" ? [b.to, b.roles ?? []] : b?.t === "role.grant" ? [b.member, [b.role]] : [null, []];
    if (to === null) continue;
    let set = mine.get(to);
    if (!set) mine.set(to, (set = new Set()));
    for (const r of roles) set.add(r);
  }
  for (const { m, roles, key } of want) {
    if (roles.every((r) => mine.get(m)?.has(r))) {
      seen.add(key);
      continue;
    }
    // A share to m already on its way is the leader's, so it names m's roles: one event, not two.
    const pending = (k: string) => k.startsWith(`share:${m}:`);
    if ([...c.duty.timers.keys()].some(pending) || [...c.duty.inflight].some(pending)) continue;
    schedule(c, `ack:${key}`, true, () => c.state.leader === c.me && c.state.members.has(m), async () => {
      const body = shareBody(c.actor, c.state, m);
      if (body) await c.publish(body);
    });
  }
}

/** Any member who may revoke an unused invite past its expiry does so; the inviter (or the highest ranked) at once. */
function revokeExpired(c: ClientCore): void {
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
