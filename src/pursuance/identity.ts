// Who is who, as every client reads it from the same folded log: a member's
// fingerprint, the Matrix id it linked to itself, who vouched for its key, and
// whether its name or Matrix id belongs to another key the viewer can check (a
// changed key: someone rejoined under a new key, or an impostor took the name).
// A claim nobody confirmed never casts doubt on anyone. Pure views.
import type { Crypto } from "../cwtch/crypto.js";
import type { Hex } from "./events.js";
import { fingerprint } from "./fingerprint.js";
import { nameSkeleton } from "./names.js";
import type { AppliedEvent } from "./fold.js";
import { rankOf, type PursuanceState } from "./state.js";

export interface WhoisRow {
  member: Hex;
  name: string;
  roles: string[];
  fingerprint: string;
  /** The Matrix id this member's key linked to itself in the log, if any (a claim until confirmed from Matrix). */
  matrix: string | null;
  /** Current members who vouched for this key after comparing fingerprints. */
  verifiedBy: Hex[];
  /** Other keys the viewer can check held this member's name or Matrix id (see changedKeys). */
  changed: Array<{ what: "name" | "matrix"; value: string; earlier: Hex[] }>;
}

/**
 * name (its skeleton, names.ts) → key that took it (genesis, joins) → the
 * other keys that took it and did not take it strictly later (this key's
 * genesis or join is not an ancestor of theirs). Not "their join is an
 * ancestor of mine": a join cites only its invite, so an invite made before
 * alice joined would make its joiner "concurrent" with her forever. Not the
 * fold order either: ids break ties there, and a joiner chooses its id. So
 * concurrent namesakes each count the other, which is the safe reading of a
 * collision.
 */
export type ClaimHistory = Map<string, Map<Hex, Hex[]>>;

export function claimHistory(applied: readonly AppliedEvent[]): ClaimHistory {
  const parents = new Map<Hex, readonly Hex[]>();
  const takes = new Map<string, Array<{ who: Hex; id: Hex }>>();
  for (const a of applied) {
    parents.set(a.event.id, a.event.parents);
    const b = a.event.body;
    if (a.rejected !== null || !b) continue;
    const name = b.t === "genesis" ? b.founderName : b.t === "join" ? b.name : null;
    if (name === null) continue;
    const key = nameKey(name);
    const list = takes.get(key) ?? [];
    if (!list.some((t) => t.who === a.event.author)) list.push({ who: a.event.author, id: a.event.id });
    takes.set(key, list);
  }
  const h: ClaimHistory = new Map();
  for (const [k, list] of takes) {
    const byKey = new Map<Hex, Hex[]>();
    // Names are rarely shared: walk ancestors only where two keys took one name.
    for (const t of list) byKey.set(t.who, list.length < 2 ? [] : list.filter((o) => o.who !== t.who && !isAncestor(parents, t.id, o.id)).map((o) => o.who));
    h.set(k, byKey);
  }
  return h;
}

function isAncestor(parents: ReadonlyMap<Hex, readonly Hex[]>, anc: Hex, of: Hex): boolean {
  const seen = new Set<Hex>();
  const todo = [...(parents.get(of) ?? [])];
  while (todo.length > 0) {
    const id = todo.pop()!;
    if (id === anc) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    todo.push(...(parents.get(id) ?? []));
  }
  return false;
}

const nameKey = (n: string) => `name:${nameSkeleton(n)}`;

/**
 * Key ↔ Matrix id pairings the viewer has checked. `confirmed`, as
 * `${key} ${matrix}`: a key's standing link in the log that the Matrix account
 * confirmed, or that the viewer holds that account's key for. `held`: keys the
 * viewer holds for a Matrix user, which are that user's whether or not the key
 * ever linked itself in the log (the homeserver authenticated the pairing).
 * The bridge can check these; the CLI cannot, and passes none.
 */
export interface CheckedLinks {
  readonly confirmed: ReadonlySet<string>;
  readonly held: ReadonlyMap<Hex, string>;
}
export const NO_CHECKED_LINKS: CheckedLinks = { confirmed: new Set(), held: new Map() };
export const linkPair = (member: Hex, matrix: string) => `${member} ${matrix}`;

/** Current members who vouched for `member`'s key (vouches by members who left no longer count). */
function vouchers(s: PursuanceState, member: Hex): Hex[] {
  return [...(s.verifications.get(member) ?? [])].filter((v) => s.members.has(v)).sort();
}

/**
 * The changed-key flags on `member`, from what the viewer can check only:
 * - its name, when another key that took a look-alike of it (nameSkeleton)
 *   and did not take it strictly later (this key's genesis or join is not an
 *   ancestor of that key's) is vouched for by a current member;
 * - its Matrix id, when its own link is not checked and another key's standing
 *   link (the last one it made, member or not) to the same id is, or the
 *   viewer holds another key for that Matrix user.
 * An unconfirmed claim is never a basis; a basis goes when the vouch's author
 * leaves or the other key unlinks, and so does the flag.
 */
function changedKeys(s: PursuanceState, history: ClaimHistory, checked: CheckedLinks, member: Hex, name: string | null, matrix: string | null): WhoisRow["changed"] {
  const changed: WhoisRow["changed"] = [];
  if (name !== null) {
    const before = history.get(nameKey(name))?.get(member) ?? [];
    const earlier = before.filter((k) => vouchers(s, k).length > 0);
    if (earlier.length > 0) changed.push({ what: "name", value: name, earlier });
  }
  if (matrix !== null && !checked.confirmed.has(linkPair(member, matrix)) && checked.held.get(member) !== matrix) {
    const others = checkedHolders(s, checked, matrix).filter((k) => k !== member);
    if (others.length > 0) changed.push({ what: "matrix", value: matrix, earlier: others });
  }
  return changed;
}

/** Keys whose standing link to `matrix` (the last one each made, member or not) the viewer checked, and keys it holds for that user. */
function checkedHolders(s: PursuanceState, checked: CheckedLinks, matrix: string): Hex[] {
  const linked = [...s.links].filter(([k, m]) => m === matrix && checked.confirmed.has(linkPair(k, matrix))).map(([k]) => k);
  const held = [...checked.held].filter(([, m]) => m === matrix).map(([k]) => k);
  return [...new Set([...linked, ...held])].sort();
}

export function whois(crypto: Crypto, s: PursuanceState, history: ClaimHistory, member: Hex, checked: CheckedLinks = NO_CHECKED_LINKS): WhoisRow {
  const m = s.members.get(member);
  const matrix = s.links.get(member) ?? null;
  return {
    member,
    name: m?.name ?? "(former member)",
    roles: m ? [...m.roles].sort() : [],
    fingerprint: fingerprint(crypto, member),
    matrix,
    verifiedBy: vouchers(s, member),
    changed: changedKeys(s, history, checked, member, m?.name ?? null, matrix),
  };
}

/**
 * The pairings the viewer can check, for the Matrix ids that matter to these
 * members (their own and any other key's link to the same id, or a key it
 * holds for that id), asked of a port that knows the host's confirmations and
 * the keys it holds for Matrix users. Held keys are looked for among the
 * members and the keys with a link in the log (a removed member that never
 * linked is not a basis: the log no longer names it anywhere the viewer looks).
 */
export async function checkLinks(s: PursuanceState, members: Iterable<Hex>, port: { hosts(member: Hex): string | null; confirmed(member: Hex, matrix: string): Promise<boolean> }): Promise<CheckedLinks> {
  const ids = new Set<string>();
  for (const m of members) {
    const id = s.links.get(m) ?? port.hosts(m);
    if (id) ids.add(id);
  }
  const confirmed = new Set<string>();
  const held = new Map<Hex, string>();
  for (const k of new Set([...s.members.keys(), ...s.links.keys()])) {
    const hosted = port.hosts(k);
    if (hosted !== null && ids.has(hosted)) held.set(k, hosted);
  }
  for (const [k, id] of s.links) {
    if (ids.has(id) && (held.get(k) === id || (await port.confirmed(k, id)))) confirmed.add(linkPair(k, id));
  }
  return { confirmed, held };
}

/** Current members whose keys linked this Matrix id to themselves, in fold order (anyone may claim any id). */
export function membersLinkedTo(s: PursuanceState, matrix: string): Hex[] {
  return [...s.links].filter(([member, m]) => m === matrix && s.members.has(member)).map(([member]) => member);
}

/** The first member that linked this Matrix id to itself; null if none. */
export function memberLinkedTo(s: PursuanceState, matrix: string): Hex | null {
  return membersLinkedTo(s, matrix)[0] ?? null;
}

/**
 * Why a room should be warned about this member acting, or null: it holds a
 * role above the lowest and either no current member ranked at least as high
 * vouched for its key, or it has a changed key (changedKeys).
 */
export function trustWarning(row: WhoisRow, s: PursuanceState): string | null {
  const ranks = Object.values(s.rules.roles).map((d) => d.rank);
  if (ranks.length === 0 || rankOf(s, row.member) <= Math.min(...ranks)) return null;
  const what = `${row.name} (${row.roles.join(", ")}; key ${row.fingerprint.slice(0, 11)}…)`;
  if (row.changed.length > 0) {
    const c = row.changed[0]!;
    return `${what} acts with a different key than the one that held ${c.what === "name" ? "the name" : "the Matrix id"} ${c.value} before. Compare fingerprints before trusting it: !whois ${row.name}`;
  }
  // A vouch is its author's word: one from below cannot vouch an admin into the room's trust.
  const rank = rankOf(s, row.member);
  if (!row.verifiedBy.some((v) => rankOf(s, v) >= rank)) return `${what} acts in a role above the lowest, and no member ranked at least as high has verified this key yet. Compare fingerprints (!whois ${row.name}), then !verify ${row.name} <fingerprint>.`;
  return null;
}
