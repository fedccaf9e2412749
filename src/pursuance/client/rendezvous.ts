// The client's half of the invite rendezvous (the protocol is in
// rendezvous.ts): members listen on the rendezvous of invites that may still
// bring someone in, carry a joiner's signed join into the group log, and
// welcome an admitted joiner with the group keys sealed to it; a joiner
// listens on its own rendezvous for that welcome.
import { fromHex, toHex } from "../../cwtch/bytes.js";
import type { SignKeyPair } from "../../cwtch/crypto.js";
import { decodeAndVerify, signEvent, type SignedEvent } from "../../cwtch/message.js";
import type { RelayFrame } from "../../cwtch/relay-client.js";
import { ActionError, joinBody, sealScopes, type Actor } from "../actions.js";
import type { ClientCore, RvState } from "./core.js";

export type { RvState } from "./core.js";
import { actsFirst, schedule } from "./duty-schedule.js";
import { BodyError, encodeBody } from "../events.js";
import { parseBody } from "../events-parse.js";
import type { Invite } from "../invite.js";
import { toPEvent } from "../pevent.js";
import type { ClientPorts } from "../ports.js";
import { openRv, rendezvousKeys, sealRv } from "../rendezvous.js";
import { inviteStatus, type Invite as InviteRow } from "../state.js";
import { when } from "../apply-common.js";


/**
 * A relay takes at most 256 subscribed tags per connection (group epochs
 * included) and refuses a subscribe that would pass it, so rendezvous tags are
 * capped well below; invites beyond the cap wait until a client restarts with
 * fewer live ones (used, revoked and lapsed invites are not watched).
 */
export const MAX_RENDEZVOUS_TAGS = 64;

export function newRvState(): RvState {
  return { tags: new Map(), watched: new Set(), welcomed: new Set(), capWarned: false, refusedSent: new Set(), closedWatched: 0 };
}

/** A joiner's first event has been carried in but it has written nothing since: it may not read the group yet. */
function awaitingKeys(c: ClientCore, joiner: string): boolean {
  return (c.session.log.head(joiner)?.seq ?? 0) <= 1;
}

/** Closed invites listened on to answer late joiners (beside MAX_RENDEZVOUS_TAGS; a relay allows 256 tags in all). */
export const MAX_CLOSED_RENDEZVOUS_TAGS = 32;

/** How long after its expiry (or its use or revocation, if it has none) a closed invite's joiners are still told so. */
export const REFUSE_WINDOW_MS = 30 * 24 * 3600_000;

/**
 * Member: listen on the rendezvous of unused, unrevoked invites, and of used ones whose joiner may
 * still need a welcome; then, within the cap, of closed ones not long expired, to tell a joiner why not.
 */
export function watchRendezvous(c: ClientCore): void {
  const s = c.state;
  if (!s.members.has(c.me)) return;
  const fresh: string[] = [];
  const now = c.ports.now();
  const live = (inv: InviteRow) =>
    inv.usedBy === null ? inviteStatus(inv, now) === "open" : awaitingKeys(c, inv.usedBy);
  const open = [...s.invites].filter(([, inv]) => live(inv));
  const closed = [...s.invites].filter(([, inv]) => !live(inv) && (inv.expires ?? now) + REFUSE_WINDOW_MS > now);
  const watch = (id: string, secret: string) => {
    const keys = rendezvousKeys(c.crypto, secret);
    c.rv.watched.add(id);
    c.rv.tags.set(keys.tag, { invite: id, keys });
    fresh.push(keys.tag);
  };
  for (const [id, inv] of open) {
    if (!inv.rendezvous || c.rv.watched.has(id)) continue;
    if (c.rv.watched.size - c.rv.closedWatched >= MAX_RENDEZVOUS_TAGS) {
      if (!c.rv.capWarned) c.ports.log?.(`not listening for joins on invite ${id.slice(0, 12)} and later ones: already ${MAX_RENDEZVOUS_TAGS} rendezvous open (revoke unused invites)`);
      c.rv.capWarned = true;
      break;
    }
    watch(id, inv.rendezvous);
  }
  // Closed invites have their own, smaller budget: telling a late joiner why must never cost an open invite its listener.
  for (const [id, inv] of closed) {
    if (!inv.rendezvous || c.rv.watched.has(id)) continue;
    if (c.rv.closedWatched >= MAX_CLOSED_RENDEZVOUS_TAGS) break;
    c.rv.closedWatched++;
    watch(id, inv.rendezvous);
  }
  if (fresh.length > 0) c.group.watchSide(fresh).catch((e: Error) => c.ports.log?.(`rendezvous: ${e.message}`));
}

/** Joiner: our join, our first event: seq 1, citing only the invite event, in the epoch the token names. */
export function signJoin(a: Actor, now: number, invite: Invite, name: string): SignedEvent {
  const f = {
    group: fromHex(invite.groupId),
    epoch: invite.epoch,
    author: a.identity.publicKey,
    seq: 1,
    prev: new Uint8Array(32),
    ts: now,
    deps: [fromHex(invite.inviteEvent)],
    body: encodeBody(joinBody(a, invite.pursuanceId, invite.inviteSeed, name)),
  };
  return signEvent(a.crypto, f, a.identity.secretKey);
}

/** Joiner: the join this identity already signed with this invite, if any; refuses an identity that wrote anything else. */
export async function priorJoin(ports: ClientPorts, identity: SignKeyPair, invite: Invite): Promise<SignedEvent | null> {
  const me = toHex(identity.publicKey);
  const inviteKey = toHex(ports.crypto.signKeyPair(invite.inviteSeed).publicKey);
  for (const bytes of await ports.store.loadEvents()) {
    const m = decodeAndVerify(ports.crypto, bytes, false);
    if (m?.kind !== "event" || toHex(m.author) !== me) continue;
    const b = toPEvent(m).body;
    if (m.seq !== 1 || b?.t !== "join" || b.invite !== inviteKey) throw new ActionError("this identity has already written in this pursuance: join with a new one", me);
    return m;
  }
  return null;
}

/** Joiner: listen on our own rendezvous and (re)post our signed join there. */
export async function requestAdmission(c: ClientCore): Promise<void> {
  const j = c.config.joining;
  if (!j) return;
  const keys = rendezvousKeys(c.crypto, j.rendezvous);
  c.rv.tags.set(keys.tag, { invite: "", keys });
  await c.group.watchSide([keys.tag]);
  const ev = c.session.log.get(j.join);
  if (!ev) throw new Error(`our join ${j.join.slice(0, 12)} is not in the local log`);
  const f = sealRv(c.crypto, keys, { k: "join", ev: ev.bytes });
  await c.group.postSide(f.tag, f.blob);
}

export function onSideFrame(c: ClientCore, f: RelayFrame): void {
  const w = c.rv.tags.get(f.tag);
  if (!w) return;
  const m = openRv(c.crypto, w.keys, f.blob);
  if (!m) return;
  if (m.k === "welcome") {
    c.rv.welcomed.add(m.to);
    if (m.to === c.me && w.invite === "") c.takeWelcome(m.keys).catch((e: Error) => c.ports.log?.(`welcome: ${e.message}`));
    return;
  }
  if (m.k === "refused") {
    // Unsigned, from anyone holding the rendezvous secret: words to show, never a reason to drop anything.
    if (m.to === c.me && w.invite === "" && !c.state.members.has(c.me)) c.rv.refused = printable(m.reason);
    return;
  }
  if (w.invite !== "" && c.state.members.has(c.me)) carryJoin(c, w.invite, m.ev);
}

/** Carry a joiner's join into the group log if it is one, for this invite, and new to us. The fold judges it. */
function carryJoin(c: ClientCore, invite: string, bytes: Uint8Array): void {
  let ev;
  try {
    ev = decodeAndVerify(c.crypto, bytes);
  } catch {
    return;
  }
  if (!ev || ev.kind !== "event" || c.session.log.has(toHex(ev.id))) return;
  try {
    const b = parseBody(ev.body);
    if (b.t !== "join" || b.invite !== invite) return;
  } catch (e) {
    if (e instanceof BodyError) return;
    throw e;
  }
  const joiner = toHex(ev.author);
  if (c.state.members.has(joiner)) return;
  // Never carry what we see used, revoked or expired (by the join's ts or by our clock: past
  // expiry our expiry duty is revoking it). Whether a concurrent join beats a revoke is the
  // fold order's call, but an honest client does not start that race.
  const inv = c.state.invites.get(invite);
  if (!inv || inv.usedBy === joiner) return;
  const why = closedBecause(inv, c.ports.now(), ev.ts);
  if (why) return refuseJoin(c, invite, joiner, why);
  c.duty.carried.add(joiner);
  c.group
    .carry(bytes)
    .then((out) => {
      if (out.type === "dropped") c.ports.log?.(`could not carry a join from ${joiner.slice(0, 12)}: ${out.reason}${out.detail ? ` (${out.detail})` : ""}`);
    })
    .catch((e: Error) => c.ports.log?.(`carrying a join: ${e.message}`));
}

/** Why this invite cannot let this join in, in the joiner's words; null while it can. */
function closedBecause(inv: InviteRow, now: number, joinTs: number): string | null {
  const st = inviteStatus(inv, now);
  if (st === "used") return "this invite was already used (each invite lets one person in)";
  // Before "revoked": the expiry duty revokes what lapsed, and the lapse is what the joiner can act on.
  if (inv.expires !== undefined && (now > inv.expires || joinTs > inv.expires)) return `this invite expired at ${when(inv.expires)}`;
  if (st === "revoked") return "this invite was revoked";
  return null;
}

/** Tell a joiner, on its rendezvous, that its invite cannot let it in (once per joiner and run). */
function refuseJoin(c: ClientCore, invite: string, joiner: string, reason: string): void {
  if (c.rv.refusedSent.has(joiner)) return;
  const w = [...c.rv.tags.values()].find((t) => t.invite === invite);
  if (!w) return;
  c.rv.refusedSent.add(joiner);
  const f = sealRv(c.crypto, w.keys, { k: "refused", to: joiner, reason: `${reason}: ask a member for another invite` });
  c.group.postSide(f.tag, f.blob).catch((e: Error) => c.ports.log?.(`answering a join on a closed invite: ${e.message}`));
}

/** A member said the invite cannot let us in: its reason, for the joiner to stop waiting on. */
/** Text from the network as a terminal may show it: no control characters (no escape sequences), at most 300 characters. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, " ").slice(0, 300);
}

export class JoinRefusedError extends Error {
  constructor(readonly reason: string) {
    super(`refused: ${reason}`);
    this.name = "JoinRefusedError";
  }
}

/** Member: seal the group keys we hold to each admitted joiner who cannot read the group yet. */
export function welcomeDuties(c: ClientCore): void {
  const s = c.state;
  for (const inv of s.invites.values()) {
    const j = inv.usedBy;
    if (!inv.rendezvous || j === null || !s.members.has(j) || c.rv.welcomed.has(j) || !awaitingKeys(c, j)) continue;
    const holders = [...s.keys.get("group")!.holders].filter((h) => s.members.has(h) && h !== j);
    const first = c.duty.carried.has(j) || actsFirst(c, inv.by, holders);
    const keys = rendezvousKeys(c.crypto, inv.rendezvous);
    schedule(c, `welcome:${j}`, first, () => !c.rv.welcomed.has(j) && awaitingKeys(c, j) && c.state.members.has(j), async () => {
      const refs = sealScopes(c.actor, ["group"], j);
      if (refs.length === 0) return;
      const f = sealRv(c.crypto, keys, { k: "welcome", to: j, keys: refs });
      await c.group.postSide(f.tag, f.blob);
      c.rv.welcomed.add(j);
    });
  }
}
