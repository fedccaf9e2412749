// Who is who, as every client reads it from the same folded log: a member's
// fingerprint, the Matrix id it linked to itself, who vouched for its key, and
// whether its name or Matrix id was held by another key before (a changed key:
// someone rejoined under a new key, or an impostor took the name). Pure views.
import type { Crypto } from "../cwtch/crypto.js";
import type { Hex } from "./events.js";
import { fingerprint } from "./fingerprint.js";
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
  /** Earlier keys that held this member's name or Matrix id. */
  changed: Array<{ what: "name" | "matrix"; value: string; earlier: Hex[] }>;
}

/** name or Matrix id → the keys that claimed it, in fold order (from genesis, joins and identity.link). */
export type ClaimHistory = Map<string, Hex[]>;

export function claimHistory(applied: readonly AppliedEvent[]): ClaimHistory {
  const h: ClaimHistory = new Map();
  const claim = (k: string, who: Hex) => {
    const list = h.get(k);
    if (!list) h.set(k, [who]);
    else if (!list.includes(who)) list.push(who);
  };
  for (const a of applied) {
    const b = a.event.body;
    if (a.rejected !== null || !b) continue;
    if (b.t === "genesis") claim(nameKey(b.founderName), a.event.author);
    else if (b.t === "join") claim(nameKey(b.name), a.event.author);
    else if (b.t === "identity.link" && b.matrix !== "") claim(matrixKey(b.matrix), a.event.author);
  }
  return h;
}

const nameKey = (n: string) => `name:${n.trim().toLowerCase()}`;
const matrixKey = (m: string) => `matrix:${m}`;

export function whois(crypto: Crypto, s: PursuanceState, history: ClaimHistory, member: Hex): WhoisRow {
  const m = s.members.get(member);
  const matrix = s.links.get(member) ?? null;
  const changed: WhoisRow["changed"] = [];
  const earlier = (k: string) => (history.get(k) ?? []).filter((x) => x !== member);
  if (m) {
    const e = earlier(nameKey(m.name));
    if (e.length > 0) changed.push({ what: "name", value: m.name, earlier: e });
  }
  if (matrix) {
    const e = earlier(matrixKey(matrix));
    if (e.length > 0) changed.push({ what: "matrix", value: matrix, earlier: e });
  }
  return {
    member,
    name: m?.name ?? "(former member)",
    roles: m ? [...m.roles].sort() : [],
    fingerprint: fingerprint(crypto, member),
    matrix,
    verifiedBy: [...(s.verifications.get(member) ?? [])].filter((v) => s.members.has(v)).sort(),
    changed,
  };
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
 * role above the lowest and either no other member vouched for its key, or
 * its name or Matrix id belonged to another key before.
 */
export function trustWarning(row: WhoisRow, s: PursuanceState): string | null {
  const ranks = Object.values(s.rules.roles).map((d) => d.rank);
  if (ranks.length === 0 || rankOf(s, row.member) <= Math.min(...ranks)) return null;
  const what = `${row.name} (${row.roles.join(", ")}; key ${row.fingerprint.slice(0, 11)}…)`;
  if (row.changed.length > 0) {
    const c = row.changed[0]!;
    return `${what} acts with a different key than the one that held ${c.what === "name" ? "the name" : "the Matrix id"} ${c.value} before. Compare fingerprints before trusting it: !whois ${row.name}`;
  }
  if (row.verifiedBy.length === 0) return `${what} acts in a role above the lowest, and no member has verified this key yet. Compare fingerprints (!whois ${row.name}), then !verify ${row.name} <fingerprint>.`;
  return null;
}
