// How a client comes to hold a pursuance: founding one, reopening one from
// its store, or asking to join one with a keyless invite. PursuanceClient's
// static constructors build the client and hand it here, through the narrow
// `Opening` view, so this file and client.ts do not import each other.
import { toB64, toHex } from "../../cwtch/bytes.js";
import type { SignKeyPair } from "../../cwtch/crypto.js";
import { decodeAndVerify, type SignedEvent } from "../../cwtch/message.js";
import { when } from "../apply-common.js";
import { ActionError, genesisBody } from "../actions.js";
import { encodeBody } from "../events.js";
import type { Invite } from "../invite.js";
import { toPEvents } from "../pevent.js";
import type { ClientPorts } from "../ports.js";
import { rendezvousSecret } from "../rendezvous.js";
import type { Rules } from "../rules.js";
import type { ClientCore } from "./core.js";
import type { KeyCustody } from "./key-custody.js";
import { priorJoin, signJoin } from "./rendezvous.js";

/** Where a joiner keeps its rendezvous secret in its key store (never a scope of the pursuance: "group" and role names only). */
const RENDEZVOUS_SCOPE = "rendezvous:";

export interface Opening extends ClientCore {
  readonly keys: KeyCustody;
  start(): Promise<void>;
  flushed(): Promise<void>;
}

export interface FoundOptions {
  name: string;
  founderName: string;
  relays: string[];
  mission?: string;
  rules?: Rules;
  groupId?: string;
}

/** The group id a new pursuance's client is built with: the caller's pick (its store is keyed by it), else a fresh one. */
export function newGroupId(ports: ClientPorts, o: FoundOptions): string {
  if (o.relays.length === 0) throw new ActionError("a pursuance needs at least one relay");
  return o.groupId ?? toHex(ports.crypto.randomBytes(32));
}

/** Genesis, keys, and the first post to every relay. */
export async function found(c: Opening, o: FoundOptions): Promise<void> {
  const body = genesisBody(c.actor, o);
  for (const k of c.ring.all()) await c.keys.learn(k.scope, k.key);
  c.keys.applyWriteEpoch(c.state);
  await c.start();
  // The pursuance id is the genesis hash, known once it is signed.
  const ev = await c.group.publish(encodeBody(body));
  c.config.pursuanceId = toHex(ev.id);
  c.fold.setGenesisId(c.config.pursuanceId);
  await c.flushed();
  const verdict = c.fold.verdict(c.config.pursuanceId);
  if (verdict !== null) throw new ActionError(`genesis rejected: ${verdict ?? "not folded"}`, c.config.pursuanceId);
}

/** Keys, events and cursors back from the store, folded as before. */
export async function reopen(c: Opening): Promise<void> {
  const { ports } = c;
  for (const k of await ports.store.loadKeys()) await c.keys.learn(k.scope, k.key, false, k.outOfBand === true);
  const events: SignedEvent[] = [];
  for (const bytes of await ports.store.loadEvents()) {
    const m = decodeAndVerify(ports.crypto, bytes, false);
    if (m?.kind === "event") events.push(m);
  }
  c.session.restore(events);
  c.fold.add(toPEvents(events));
  c.keys.take(c.fold.applied, c.state);
  await c.keys.sync();
  c.keys.applyWriteEpoch(c.state);
  // A joiner not let in yet asks again on start, even if its host did not keep `joining` (the bridge).
  const rv = c.ring.scope(RENDEZVOUS_SCOPE)[0];
  const mine = events.find((e) => e.seq === 1 && toHex(e.author) === c.me);
  if (!c.config.joining && rv && mine && !c.state.members.has(c.me)) c.config.joining = { rendezvous: toB64(rv.key), join: toHex(mine.id) };
}

export function checkInvite(ports: ClientPorts, invite: Invite): void {
  if (ports.now() > invite.expires) throw new ActionError(`this invite expired at ${when(invite.expires)}: ask for a new one`, invite.expires);
}

/** Sign (or find again) our join, keep it and the rendezvous secret, and start asking. */
export async function askToJoin(c: Opening, identity: SignKeyPair, invite: Invite, myName: string): Promise<void> {
  const { ports } = c;
  // Asking again (an earlier attempt timed out) re-posts the same join: a second seq 1 would be a fork.
  const ev = (await priorJoin(ports, identity, invite)) ?? signJoin(c.actor, ports.now(), invite, myName);
  await ports.store.saveEvents([{ id: toHex(ev.id), bytes: ev.bytes }]);
  // In our log it waits (pending) for the invite event, which we read once a member lets us in.
  c.session.restore([ev]);
  // Kept with our keys, so any host that reopens this store asks again (see reopen).
  const secret = rendezvousSecret(ports.crypto, invite.inviteSeed);
  await c.keys.learn(RENDEZVOUS_SCOPE, secret);
  c.config.joining = { rendezvous: toB64(secret), join: toHex(ev.id) };
  await c.start();
}
