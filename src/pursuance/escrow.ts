// Escrow of the top role's keys, so succession does not lose what only the
// silent leader could read. The leader splits every key of the top role
// (Shamir, threshold = the succession quorum) among the succession role; a
// voter re-seals their share to the candidate inside the vote; once crowned,
// the candidate combines a quorum of shares and checks each key against the
// key id the log announced. Fewer than a quorum learn nothing; a quorum that
// colludes could read the top role's tasks, but a quorum could crown itself
// anyway once the leader is silent, so this grants it nothing new in the end.
import { concat, fromB64, fromHex, toB64 } from "../cwtch/bytes.js";
import type { Actor } from "./actions.js";
import type { PEvent } from "./apply-common.js";
import { successors } from "./apply-membership.js";
import type { Body } from "./events.js";
import type { HeldKey } from "./keyring.js";
import { keyIdOf } from "./keyring.js";
import { topRole } from "./rules.js";
import { combine, split, type Share } from "./shamir.js";
import { NO_KEY, type PursuanceState } from "./state.js";

/** What the fold's audit log gives us: each event with its verdict. */
export interface Verdict {
  event: PEvent;
  rejected: string | null;
}

/** Whether the escrow the state holds no longer matches the top role's keys, the quorum or the successors (and the key is not due for rotation). */
export function escrowStale(s: PursuanceState): boolean {
  const top = topRole(s.rules);
  const k = s.keys.get(top);
  // A key due for rotation is escrowed only once rotated (the fold refuses it before).
  if (!k || k.keyId === NO_KEY || k.needsRotation) return false;
  const heirs = successors(s);
  if (heirs.length < s.rules.succession.quorum || heirs.length > 255) return false;
  const e = s.escrow;
  return !e || e.scope !== top || e.keyIds.join() !== k.history.join() || e.threshold !== s.rules.succession.quorum || e.holders.join() !== heirs.join();
}

/** The leader's escrow: a rules.policy carrying a share of every top-role key for each successor. Null if we lack a key. */
export function escrowBody(a: Actor, s: PursuanceState): Body | null {
  const top = topRole(s.rules);
  const k = s.keys.get(top);
  if (!k) return null;
  const keys = k.history.map((id) => a.ring.get(id)?.key);
  if (keys.some((x) => x === undefined)) return null;
  const heirs = successors(s);
  const threshold = s.rules.succession.quorum;
  if (heirs.length < threshold) return null;
  const secret = concat(...(keys as Uint8Array[]));
  const parts = split(secret, threshold, heirs.map((_, i) => i + 1), (n) => a.crypto.randomBytes(n));
  const shares: Record<string, string> = {};
  for (const [i, m] of heirs.entries()) shares[m] = toB64(a.crypto.sealTo(encodeShare(parts[i]!), fromHex(m)));
  return { t: "rules.policy", escrow: { scope: top, keyIds: [...k.history], threshold, shares } };
}

const encodeShare = (s: Share) => concat(Uint8Array.of(s.x), s.y);
function decodeShare(b: Uint8Array | null, keys: number): Share | null {
  if (!b || b.length !== 1 + 32 * keys || b[0] === 0) return null;
  return { x: b[0]!, y: b.slice(1) };
}

function open(a: Actor, sealed: string): Uint8Array | null {
  try {
    return a.crypto.openSealed(fromB64(sealed), a.identity.publicKey, a.identity.secretKey);
  } catch {
    return null;
  }
}

/** Our share of the current escrow, opened; null if we hold none. */
export function myShare(a: Actor, s: PursuanceState, log: readonly Verdict[]): Uint8Array | null {
  const cur = s.escrow;
  if (!cur || !cur.holders.includes(a.me)) return null;
  for (let i = log.length - 1; i >= 0; i--) {
    const v = log[i]!;
    const b = v.event.body;
    if (v.rejected !== null || b?.t !== "rules.policy" || !b.escrow) continue;
    if (b.escrow.keyIds.join() !== cur.keyIds.join() || b.escrow.shares[a.me] === undefined) continue;
    const raw = open(a, b.escrow.shares[a.me]!);
    return decodeShare(raw, cur.keyIds.length) ? raw : null;
  }
  return null;
}

/** A succession vote, carrying our escrow share re-sealed to the candidate when we hold one. */
export function voteBody(a: Actor, s: PursuanceState, log: readonly Verdict[], candidate: string): Body {
  const share = myShare(a, s, log);
  return { t: "leader.vote", candidate, ...(share ? { share: toB64(a.crypto.sealTo(share, fromHex(candidate))) } : {}) };
}

/** Top-role keys escrowed to us we do not hold yet; empty when there are none. */
export function missingEscrowed(a: Actor, s: PursuanceState): string[] {
  return s.escrow?.keyIds.filter((id) => !a.ring.get(id)) ?? [];
}

/**
 * As the crowned candidate: combine the shares voters sealed to us and keep
 * each key that hashes to its announced id. Returns the keys newly learnt.
 */
export function recoverEscrow(a: Actor, s: PursuanceState, log: readonly Verdict[]): HeldKey[] {
  const esc = s.escrow;
  if (!esc || s.leader !== a.me || missingEscrowed(a, s).length === 0) return [];
  const byX = new Map<number, Share>();
  for (let i = log.length - 1; i >= 0; i--) {
    const b = log[i]!.event.body;
    if (log[i]!.rejected !== null || b?.t !== "leader.vote" || b.candidate !== a.me || !b.share) continue;
    const sh = decodeShare(open(a, b.share), esc.keyIds.length);
    if (sh && !byX.has(sh.x)) byX.set(sh.x, sh);
  }
  const shares = [...byX.values()];
  // A forged share spoils any set it is in: try sets until one yields every key (few voters, few sets).
  for (const set of subsets(shares, esc.threshold, 64)) {
    const secret = combine(set);
    const keys = esc.keyIds.map((_, i) => secret.slice(32 * i, 32 * i + 32));
    if (keys.every((k, i) => keyIdOf(a.crypto, k) === esc.keyIds[i])) {
      const learnt = keys.filter((_, i) => !a.ring.get(esc.keyIds[i]!));
      return learnt.map((k) => a.ring.add(esc.scope, k));
    }
  }
  return [];
}

function* subsets<T>(xs: T[], k: number, limit: number): Generator<T[]> {
  let n = 0;
  function* go(start: number, acc: T[]): Generator<T[]> {
    if (acc.length === k) {
      n++;
      yield acc;
      return;
    }
    for (let i = start; i < xs.length && n < limit; i++) yield* go(i + 1, [...acc, xs[i]!]);
  }
  yield* go(0, []);
}
