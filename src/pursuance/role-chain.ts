// The role chain of a public copy: the few signed events that, replayed after
// the genesis, give an announcer a role with `announce` (the rules events, and
// for the announcer and everyone who admitted it, up to the founder: the
// invite, the join, the grants, a leadership transfer). A reader with nothing
// but the copy replays them with the fold's own reducers.
//
// What a chain can show: "these signed events, applied in this order, give the
// announcer announce". What it cannot: that nothing outside it took the role
// away later (or earlier, concurrently). No subset of a log proves an absence;
// the verdict says "as of" the chain's last event for that reason.
//
// Keys are left out on purpose: a grant must seal the role's current key, and
// the keys move with every rotation, which would drag every rotation (and so
// every member) into the chain. Keys decide who can read, never who may act, so
// the replay takes the key ids each grant names as current.
import { equalBytes, toHex } from "../cwtch/bytes.js";
import type { Crypto } from "../cwtch/crypto.js";
import { decodeAndVerify, DecodeError, type SignedEvent } from "../cwtch/message.js";
import { Rejected, short, type PEvent } from "./apply-common.js";
import { applyGenesis, applyGrant, applyInvite, applyJoin, applyRoleChange, applyTransfer } from "./apply-membership.js";
import type { Body } from "./events.js";
import type { AppliedEvent } from "./fold.js";
import { toPEvent } from "./pevent.js";
import { roleDef } from "./rules.js";
import { missingWitness, strayLink, witnessesFor, witnessPath, type JoinWitnesses } from "./join-witness.js";
import { isAckKind, LeaderWord } from "./leader-ack.js";
import { emptyState, hasCap, NO_KEY, type PursuanceState } from "./state.js";

/**
 * Event kinds a chain may hold: what gives a role or defines one. Never a
 * removal or revocation: an honest chain needs none, and in a copy the order
 * of concurrent events is the copier's choice, so a removal placed after the
 * act it should have superseded would show that act as valid. Other kinds may
 * ride along only as links from a join to its witness (join-witness.ts): their
 * citations are read, their bodies never applied.
 */
const GIVES = new Set(["role.create", "role.amend", "role.delete", "role.grant", "invite", "join", "leader.transfer"]);

/** A chain may not be longer than this (a copy is untrusted input; an honest one is a few events per level of admission). */
export const MAX_CHAIN = 256;

/**
 * The ids, in fold order, of the applied events that give `author` its roles
 * as of event `before` (exclusive; the whole log when absent).
 */
export function roleChain(applied: readonly AppliedEvent[], author: string, before?: string): string[] {
  let end = before ? applied.findIndex((a) => a.event.id === before) : -1;
  if (end < 0) end = applied.length;
  const prior = applied.slice(0, end).filter((a) => a.rejected === null).map((a) => a.event);
  const founder = prior[0]?.body?.t === "genesis" ? prior[0].author : null;
  const need = new Set<string>();
  const todo = [author];
  const done = new Set<string>();
  // Rules events only for the roles the chain invites to or grants: others change nothing it shows.
  const roles = new Set<string>();
  const rulesOf = prior.filter((e) => e.body?.t === "role.create" || e.body?.t === "role.amend" || e.body?.t === "role.delete");
  // The leadership as the chain can show it (transfers; a crowning by votes it cannot), and the
  // leader's acknowledgement of the author: its last key share to it naming the author's roles (leader-ack.ts).
  let leader = founder;
  const acks: string[] = [];
  for (const e of prior) {
    const b = e.body;
    if (b?.t === "leader.transfer" && e.author === leader) (need.add(e.id), todo.push(e.author, b.to), (leader = b.to));
    else if (b?.t === "keys.share" && b.to === author && e.author === leader && (b.roles?.length ?? 0) > 0) acks.push(e.id);
  }
  if (author !== leader && acks.length > 0) need.add(acks.at(-1)!);
  while (todo.length > 0) {
    while (todo.length > 0) {
      const m = todo.pop()!;
      if (done.has(m)) continue;
      done.add(m);
      let from = 0;
      if (m !== founder) {
        let j = prior.length - 1;
        while (j >= 0 && !(prior[j]!.author === m && prior[j]!.body?.t === "join")) j--;
        if (j < 0) continue;
        const join = prior[j]!;
        const code = (join.body as Extract<Body, { t: "join" }>).invite;
        const inv = prior.find((e) => e.body?.t === "invite" && e.body.invite === code);
        need.add(join.id);
        if (inv?.body?.t === "invite") (need.add(inv.id), todo.push(inv.author), roles.add(inv.body.role));
        from = j + 1;
      }
      for (const e of prior.slice(from)) {
        const b = e.body;
        if (b?.t === "role.grant" && b.member === m) (need.add(e.id), todo.push(e.author), roles.add(b.role));
        if (b?.t === "leader.transfer" && b.to === m) (need.add(e.id), todo.push(e.author));
      }
    }
    for (const e of rulesOf) {
      const b = e.body as Extract<Body, { t: "role.create" | "role.amend" | "role.delete" }>;
      if (!need.has(e.id) && roles.has(b.role)) (need.add(e.id), todo.push(e.author));
    }
  }
  // Each join with the run of events from it to its inviter's next event (join-witness.ts).
  for (const e of prior.filter((x) => need.has(x.id))) {
    if (e.body?.t !== "join") continue;
    const code = e.body.invite;
    const inv = prior.find((x) => x.body?.t === "invite" && x.body.invite === code);
    if (inv) for (const id of witnessPath(applied, e.id, inv.author, before, GIVES, e.author) ?? []) need.add(id);
  }
  return applied.filter((a) => need.has(a.event.id)).map((a) => a.event.id);
}

export type ChainVerdict =
  /** The chain gives the author `cap`: `roles` are its roles, `head` the chain's last event, `ack` the leader's acknowledgement (null when the author leads). */
  | { status: "proven"; roles: string[]; head: { id: string; ts: number }; name: string; ack: { id: string; leader: string; role: string } | null }
  /** A chain event is forged, foreign or out of order: the copy is not genuine. */
  | { status: "invalid"; reason: string }
  /** Every event is genuine, but they do not give the author `cap`. */
  | { status: "unproven"; reason: string };

/**
 * Replay `chain` (standard base64 signed events) after `genesis`, then check
 * that `target`'s author holds `cap`. Every event must verify, be in the
 * genesis's group, be of a kind that gives or takes roles, come after the
 * chain events it cites, and be applied by the fold's own rules.
 */
export function replayChain(crypto: Crypto, genesis: SignedEvent, chain: readonly string[], target: SignedEvent, cap: string): ChainVerdict {
  if (chain.length > MAX_CHAIN) return { status: "invalid", reason: `the role chain holds ${chain.length} events, more than ${MAX_CHAIN}` };
  const events: PEvent[] = [];
  const seen = new Map<string, number>();
  const slots = new Set<string>();
  const gid = toHex(genesis.id);
  for (const [i, text] of chain.entries()) {
    const n = i + 1;
    const ev = decode(crypto, text);
    if (typeof ev === "string") return { status: "invalid", reason: `chain event ${n} ${ev}` };
    if (!equalBytes(ev.group, genesis.group)) return { status: "invalid", reason: `chain event ${n} (${short(toHex(ev.id))}) belongs to another group: another pursuance's event` };
    const pe = toPEvent(ev);
    const t = pe.body?.t ?? "malformed";
    if (t === "genesis") return { status: "invalid", reason: `chain event ${n} is a second genesis: another pursuance's` };
    if (seen.has(pe.id)) return { status: "invalid", reason: `chain event ${n} repeats chain event ${seen.get(pe.id)}` };
    if (slots.has(`${pe.author}:${pe.seq}`)) return { status: "invalid", reason: `chain event ${n} is a second event by ${short(pe.author)} at seq ${pe.seq}: its author equivocated` };
    if (pe.id === toHex(target.id) || pe.parents.includes(toHex(target.id))) return { status: "invalid", reason: `chain event ${n} comes after the announcement it should precede` };
    seen.set(pe.id, n);
    slots.add(`${pe.author}:${pe.seq}`);
    events.push(pe);
  }
  // Causal order: an event may cite only chain events before it (what it cites outside the chain is not shown).
  for (const [i, e] of events.entries()) {
    const late = e.parents.map((p) => seen.get(p)).find((k) => k !== undefined && k > i + 1);
    if (late !== undefined) return { status: "invalid", reason: `chain event ${i + 1} cites chain event ${late}, which should come first` };
  }
  const who = toHex(target.author);
  const isLink = (e: PEvent) => !GIVES.has(e.body?.t ?? "malformed") && !isAckKind(e, who);
  const stray = strayLink(events, isLink, events.flatMap((e, i) => (e.body?.t === "join" ? [{ index: i, join: e, may: new Set<string>() }] : [])));
  if (stray !== null) return { status: "invalid", reason: `chain event ${stray + 1} is a ${events[stray]!.body?.t ?? "malformed"}, which neither gives nor defines a role, nor links a join to its witness` };
  const s = emptyState();
  const g = toPEvent(genesis);
  try {
    if (g.body?.t !== "genesis") return { status: "invalid", reason: "the genesis is not a genesis event" };
    applyGenesis(s, g, g.body, gid);
  } catch (e) {
    if (e instanceof Rejected) return { status: "invalid", reason: `the genesis does not apply: ${e.reason}` };
    throw e;
  }
  const joins: JoinWitnesses[] = [];
  const word = new LeaderWord();
  for (const [i, e] of events.entries()) {
    if (isLink(e)) continue;
    word.note(e, s.leader, who);
    if (isAckKind(e, who)) continue;
    const inv = e.body?.t === "join" ? s.invites.get(e.body.invite) : undefined;
    if (inv) joins.push(witnessesFor(s, e, inv.by, inv.role, i));
    try {
      replayOne(s, e, crypto);
    } catch (err) {
      if (!(err instanceof Rejected)) throw err;
      return { status: "unproven", reason: `chain event ${i + 1} (${e.body!.t} by ${short(e.author)}) does not apply: ${err.reason}` };
    }
  }
  const head = events.filter((e) => !isLink(e) && !isAckKind(e, who)).at(-1) ?? g;
  const m = s.members.get(who);
  if (!m) return { status: "unproven", reason: events.length === 0 ? `the copy carries no role chain, and ${short(who)} is not the founder: not a member as far as this copy shows` : `${short(who)} is not a member by the role chain this copy carries` };
  const roles = [...m.roles].sort();
  if (!hasCap(s, who, cap)) return { status: "unproven", reason: `${short(who)} holds ${roles.map((r) => `"${r}"`).join(", ")}, which may not ${cap === "announce" ? "announce" : cap}, as of chain event ${short(head.id)}` };
  const unwitnessed = missingWitness(events, joins);
  if (unwitnessed !== null) return { status: "unproven", reason: unwitnessed };
  let ack: { id: string; leader: string; role: string } | null = null;
  if (who !== s.leader) {
    const w = word.verdict(s, who, cap);
    if (!w.ok) return { status: "unproven", reason: `${short(who)} is not the leader, and ${w.reason}: a copy shows no removal, so only the leader's word shows the role was ever in the log (leader-ack.ts)` };
    ack = { id: w.id, leader: w.leader, role: w.role };
  }
  return { status: "proven", roles: roles.filter((r) => (roleDef(s.rules, r)?.caps as string[] | undefined)?.includes(cap)), head: { id: head.id, ts: head.ts }, name: m.name, ack };
}

function replayOne(s: PursuanceState, e: PEvent, crypto: Crypto): void {
  const b = e.body!;
  switch (b.t) {
    case "role.create":
    case "role.amend":
    case "role.delete":
      return applyRoleChange(s, e, b);
    case "role.grant":
      // See the head comment: the key ids a grant seals are taken as current, and a key it does
      // not seal as not yet made (which the fold's check skips), so only authority is checked.
      for (const [scope, held] of s.keys) held.keyId = b.keys.find((k) => k.scope === scope)?.keyId ?? NO_KEY;
      return applyGrant(s, e, b);
    case "invite":
      return applyInvite(s, e, b);
    case "join":
      return applyJoin(s, e, b, { crypto });
    case "leader.transfer":
      return applyTransfer(s, e, b);
    default:
      throw new Rejected(`a ${b.t} has no place in a role chain`);
  }
}

function decode(crypto: Crypto, b64text: string): SignedEvent | string {
  const clean = b64text.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) return "is not base64";
  try {
    const m = decodeAndVerify(crypto, new Uint8Array(Buffer.from(clean, "base64")));
    if (m === null) return "does not verify: its bytes were changed after signing, or it was signed by another key";
    if (m.kind !== "event") return "is not a signed event";
    return m;
  } catch (e) {
    return `is not a well-formed signed event (${e instanceof DecodeError ? e.message : String(e)})`;
  }
}

/** The chain's events as the copy carries them. */
export function chainText(events: readonly SignedEvent[]): string[] {
  return events.map((e) => Buffer.from(e.bytes.buffer, e.bytes.byteOffset, e.bytes.byteLength).toString("base64"));
}
