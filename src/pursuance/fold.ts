// Fold a set of events into state: the deterministic order, each event
// authorised against the state before it. Rejected events are kept with their
// reason. Appending an event that descends from everything already folded
// (the usual case: our own writes, live traffic) is incremental; anything
// else refolds from scratch, which is what makes arrival order irrelevant.
import type { Crypto } from "../cwtch/crypto.js";
import { noteActivity, Rejected, type PEvent } from "./apply-common.js";
import { withLinkEdges } from "./link-race.js";
import { withRotationEdges } from "./rotation-race.js";
import { withCarryEdges } from "./carry-race.js";
import { mayRevokeInvite } from "./apply-membership.js";
import { forkAllowed } from "./equivocation.js";
import { contested, judgeContests, mergeEdges, namedMember } from "./join-contest.js";
import { causalOrder } from "./order.js";
import { shareHex } from "./pevent.js";
import { emptyState, rankOf, type PursuanceState } from "./state.js";
import { applyOne } from "./apply-event.js";
import { stateHash } from "./state-hash.js";
import { byPriority, reductionOf, revokeStands, sameEdges, SupersedeIndex, type Reduction } from "./supersede.js";

/** Rounds of the authority fixpoint before the last one stands (a real log needs two at most). */
const MAX_ROUNDS = 12;

export interface FoldOptions {
  crypto: Crypto;
  /** The pursuance id (its genesis event id), when known: a foreign genesis is then rejected. */
  genesisId?: string | null;
  /**
   * Set on the base fold join-contest.ts reads: every contested join in
   * `refuse` is refused wherever it falls (what descends from it still folds),
   * and for each event naming a member, whether its author could have made
   * each contested invite just before it is recorded. It judges no contest.
   */
  base?: { refuse: ReadonlySet<string>; invites: readonly string[] };
}

/** Unwinds a fold pass that an unexpected exception may have left half-applied. */
class Refold {}

/** The verdict on an event whose judging threw something other than a Rejected: a fault, deterministic like any verdict. */
function internalError(err: unknown): string {
  return `internal error: ${err instanceof Error ? err.message : String(err)}`;
}

export interface AppliedEvent {
  event: PEvent;
  /** null when applied; the reason when rejected. */
  rejected: string | null;
}

export class Fold {
  private readonly events = new Map<string, PEvent>();
  private readonly cited = new Set<string>();
  private tips = new Set<string>();
  private hasOrphans = false;
  /** author → seq → id, to spot equivocation: a fork disqualifies the author from that seq on. */
  private readonly slots = new Map<string, Map<number, string>>();
  /** Each author's hex as first seen: the one copy `shareHex` points every event at. */
  private readonly authors = new Map<string, string>();
  private readonly forks = new Map<string, number>();
  private st: PursuanceState = emptyState();
  private log: AppliedEvent[] = [];
  private verdicts = new Map<string, string | null>();
  private readonly ctx: { crypto: Crypto; vouchedJoins: ReadonlySet<string> };
  private genesisId: string | null;
  private readonly index = new SupersedeIndex();
  /** Reductions found valid, in the order found: their supersession edges shape the order. */
  private candidates = new Map<string, Reduction>();
  private edges = new Map<string, string[]>();
  /** Equivocators' events past their fork that others built on (still folded). */
  private forkOk = new Set<string>();
  /** While folding: reductions applied in this pass, and (when someone equivocated) each applied event's author rank. */
  private found: Reduction[] = [];
  /** Events whose reducer threw (not a Rejected), with their verdict: found anew by every refold. */
  private broken = new Map<string, string>();
  private ranks: Map<string, number> | null = null;
  /** Each rotation's author rank as this pass found it: concurrent rotations go highest rank first (rotation-race.ts). */
  private rotationRanks = new Map<string, number>();
  /** Which join wins each contested invite (join-contest.ts): a function of the event set alone. */
  private contest = new Map<string, string[]>();
  /** The joiners of contested joins: an event naming one may confirm it, whatever it cites, so it refolds. */
  private contestJoiners = new Set<string>();
  /** A base fold's: "event invite" for each event whose author could have made that contested invite just before it. */
  private readonly standing = new Set<string>();
  /** Each join-request carry's carrier rank as this pass found it: concurrent carries go highest rank first (carry-race.ts). */
  private carryRanks = new Map<string, number>();
  /** Each link event's carrier rank as this pass found it: concurrent ones that decide a link are ordered by it (link-race.ts). */
  private linkRanks = new Map<string, number>();

  constructor(private readonly o: FoldOptions) {
    this.ctx = { crypto: o.crypto, vouchedJoins: new Set() };
    this.genesisId = o.genesisId ?? null;
  }

  get state(): PursuanceState {
    return this.st;
  }
  get size(): number {
    return this.events.size;
  }
  /** Every event in fold order, with its verdict: the audit view. */
  get applied(): readonly AppliedEvent[] {
    return this.log;
  }
  hash(): string {
    return stateHash(this.o.crypto, this.st);
  }
  has(id: string): boolean {
    return this.events.has(id);
  }

  /** Add events; returns true when the state was rebuilt from scratch. */
  add(batch: PEvent[]): boolean {
    // One event id is one event however often a relay repeats it: a second copy
    // in the batch would count as a second variant at its author's seq.
    const fresh = [...new Map(batch.filter((e) => !this.events.has(e.id)).map((e) => [e.id, e])).values()];
    if (fresh.length === 0) return false;
    let incremental = true;
    for (const e of fresh) this.events.set(e.id, e);
    for (const e of fresh) {
      shareHex(e, this.events, this.authors);
      this.index.add(e);
      let slots = this.slots.get(e.author);
      if (slots === undefined) this.slots.set(e.author, (slots = new Map()));
      const other = slots.get(e.seq);
      if (other === undefined) slots.set(e.seq, e.id);
      else if (other !== e.id) {
        const f = this.forks.get(e.author);
        if (f === undefined || e.seq < f) this.forks.set(e.author, e.seq);
        incremental = false;
      }
    }
    if (this.contestJoiners.size > 0 && fresh.some((e) => this.contestJoiners.has(namedMember(e) ?? ""))) incremental = false;
    // Nothing folded yet: a batch is a refold whatever its shape.
    if (this.events.size === fresh.length && fresh.length > 1) incremental = false;
    if (incremental) {
      // Incremental only if, in order, each event cites every current tip.
      const freshIds = new Set(fresh.map((e) => e.id));
      const old = (p: string) => this.events.has(p) && !freshIds.has(p);
      const { order: trimmed, orphans } = causalOrder(fresh.map((e) => ({ ...e, parents: e.parents.filter((p) => !this.tips.has(p) && !old(p)) })));
      // Never past an orphan: a refold would still find it (and what descends from it) unplaceable.
      incremental = orphans.length === 0 && trimmed.length === fresh.length && !this.hasOrphans;
      if (incremental) {
        // The check and the fold use the events themselves, not the trimmed copies.
        const byId = new Map(fresh.map((e) => [e.id, e]));
        const order = trimmed.map((e) => byId.get(e.id)!);
        const tips = new Set(this.tips);
        for (const e of order) {
          const ps = new Set(e.parents);
          if (![...tips].every((t) => ps.has(t))) {
            incremental = false;
            break;
          }
          tips.clear();
          tips.add(e.id);
        }
        if (incremental) {
          // Descending from everything, these neither are superseded nor supersede anything already here.
          this.found = [];
          if (this.stepAll(order)) {
            for (const r of this.found) this.candidates.set(r.id, r);
            this.tips = tips;
            for (const e of fresh) for (const p of e.parents) this.cited.add(p);
            return false;
          }
        }
      }
    }
    for (const e of fresh) for (const p of e.parents) this.cited.add(p);
    this.refold();
    return true;
  }

  /** Learn the pursuance id once the founder's genesis is signed. */
  setGenesisId(id: string): void {
    if (this.genesisId !== null && this.genesisId !== id) throw new Error(`genesis already set to ${this.genesisId}`);
    this.genesisId = id;
  }

  /** The verdict on an event already folded: null when applied. */
  verdict(id: string): string | null | undefined {
    return this.verdicts.get(id);
  }

  /** Dry run: would this event be rejected if it came next? Nothing changes. */
  check(e: PEvent): string | null {
    const copy = structuredClone(this.st);
    try {
      applyOne(copy, e, this.ctx, this.genesisId);
      return null;
    } catch (err) {
      return err instanceof Rejected ? err.reason : internalError(err);
    }
  }

  /** Fold these next; false when one of them broke the state (the caller then refolds). */
  private stepAll(order: PEvent[]): boolean {
    try {
      for (const e of order) this.step(e);
      return true;
    } catch (err) {
      if (!(err instanceof Refold)) throw err;
      return false;
    }
  }

  /**
   * Recompute from nothing (also what `verify` does): fold, then put every
   * valid reduction before the concurrent acts of those it reduces and decide
   * equivocations by who built on what, and fold again until nothing moves.
   */
  refold(): void {
    this.broken = new Map();
    this.candidates = new Map();
    const contests = this.o.base ? new Map() : contested(this.events, this.index.joinsOf);
    this.contestJoiners = new Set([...contests.values()].flatMap((c: { joins: PEvent[] }) => c.joins.map((j) => j.author)));
    const contest = contests.size === 0 ? null : judgeContests(this.events, contests, this.baseStanding(contests));
    this.contest = contest?.edges ?? new Map();
    this.ctx.vouchedJoins = contest?.vouched ?? new Set();
    this.edges = new Map(this.contest);
    const dropped = new Set<string>();
    this.forkOk = forkAllowed(this.events, this.index.byAuthor, this.forks, null);
    for (let round = 0; ; round++) {
      const ranks = this.forks.size > 0 ? new Map<string, number>() : null;
      this.foldPass(dropped, ranks);
      if (round + 1 >= MAX_ROUNDS) break;
      let changed = false;
      for (const r of this.found) if (!this.candidates.has(r.id)) this.candidates.set(r.id, r);
      const next = this.allEdges(dropped);
      if (!sameEdges(next, this.edges)) {
        this.edges = next;
        changed = true;
      }
      if (ranks) {
        const ok = forkAllowed(this.events, this.index.byAuthor, this.forks, ranks);
        if (ok.size !== this.forkOk.size || [...ok].some((id) => !this.forkOk.has(id))) {
          this.forkOk = ok;
          changed = true;
        }
      }
      if (!changed) break;
    }
    this.tips = new Set([...this.events.keys()].filter((id) => !this.cited.has(id)));
  }

  /** Supersession, then the races decided by rank (rotations, request carries, the events that decide a link), then contested joins. */
  private allEdges(dropped: ReadonlySet<string>): Map<string, string[]> {
    const base = this.index.edges(byPriority(this.candidates.values()), this.events, dropped);
    const e = withLinkEdges(withCarryEdges(withRotationEdges(base, this.events, this.rotationRanks), this.events, this.carryRanks), this.events, this.linkRanks);
    return this.contest.size > 0 ? mergeEdges(this.contest, e) : e;
  }

  /** The base fold (join-contest.ts): every contested join refused; who could have made each contested invite, event by event. */
  private baseStanding(contests: ReadonlyMap<string, { joins: PEvent[] }>): (event: string, invite: string) => boolean {
    const refuse = new Set([...contests.values()].flatMap((c) => c.joins.map((j) => j.id)));
    const f = new Fold({ ...this.o, genesisId: this.genesisId, base: { refuse, invites: [...contests.keys()] } });
    f.add([...this.events.values()]);
    return (event, invite) => f.standing.has(`${event} ${invite}`);
  }

  /** One fold of every event in the current order. */
  private foldPass(dropped: Set<string>, ranks: Map<string, number> | null): void {
    this.st = emptyState();
    this.log = [];
    this.verdicts = new Map();
    this.found = [];
    this.ranks = ranks;
    let o = causalOrder(this.events.values(), this.edges);
    // Two reductions whose edges close a cycle: the lowest-ranked one gives way (docs/protocol.md).
    while (o.cyclic.length > 0) {
      const withEdges = new Set([...this.edges.values()].flat());
      const victim = byPriority(this.candidates.values()).reverse().find((r) => withEdges.has(r.id) && !dropped.has(r.id));
      if (!victim) break;
      dropped.add(victim.id);
      this.edges = this.allEdges(dropped);
      o = causalOrder(this.events.values(), this.edges);
    }
    this.rotationRanks = new Map();
    this.standing.clear();
    this.carryRanks = new Map();
    this.linkRanks = new Map();
    for (;;) {
      try {
        for (const e of o.order) this.step(e);
        break;
      } catch (err) {
        if (!(err instanceof Refold)) throw err;
        this.st = emptyState();
        this.log = [];
        this.verdicts = new Map();
        this.found = [];
        ranks?.clear();
        this.rotationRanks = new Map();
        this.standing.clear();
        this.carryRanks = new Map();
        this.linkRanks = new Map();
      }
    }
    for (const e of o.orphans) this.record(e, "cites an event that is not in the log");
    for (const e of o.cyclic) this.record(e, "ordering cycle among authority events");
    this.hasOrphans = o.orphans.length > 0 || o.cyclic.length > 0;
    this.ranks = null;
  }

  /** Whether `author` has two kept variants of one seq in [from, to]. */
  private keptSplit(author: string, from: number, to: number): boolean {
    const seen = new Set<number>();
    for (const v of this.index.byAuthor.get(author) ?? []) {
      if (v.seq < from || v.seq > to || !this.forkOk.has(v.id)) continue;
      if (seen.has(v.seq)) return true;
      seen.add(v.seq);
    }
    return false;
  }

  private step(e: PEvent): void {
    // Standing is read before anything can refuse the event: an equivocator's unkept variant confirms as its author could.
    const base = this.o.base;
    if (base && namedMember(e) !== null) {
      for (const invite of base.invites) {
        const inv = this.st.invites.get(invite);
        if (inv && mayRevokeInvite(this.st, e.author, inv)) this.standing.add(`${e.id} ${invite}`);
      }
    }
    const fork = this.forks.get(e.author);
    if (fork !== undefined && e.seq >= fork && !this.forkOk.has(e.id)) return this.record(e, `author equivocated at seq ${fork}`);
    const broken = this.broken.get(e.id);
    if (broken !== undefined) return this.record(e, broken);
    if (base?.refuse.has(e.id)) return this.record(e, "a contested join, set aside while its contest is judged");
    let reduces: ReturnType<typeof reductionOf> = null;
    try {
      reduces = e.body && this.st.id !== null ? reductionOf(this.st, e) : null;
    } catch (err) {
      // Judged before anything changed: nothing to undo.
      return this.record(e, internalError(err));
    }
    // Once two variants of one seq are both kept (each witnessed by someone, perhaps only a puppet),
    // a reduction on either branch could be dated back before work the other branch built on: from
    // that seq on the equivocator reduces no one. An unwitnessed forgery leaves the kept branch's
    // reductions standing. Giving up one's own leadership reduces only oneself, so two conflicting
    // kept transfers stay decided on their merits.
    if (fork !== undefined && e.seq >= fork && reduces && e.body?.t !== "leader.transfer" && this.keptSplit(e.author, fork, e.seq))
      return this.record(e, `author equivocated at seq ${fork}: an equivocated event reduces no one`);
    if (e.body?.t === "keys.rotate") this.rotationRanks.set(e.id, rankOf(this.st, e.author));
    const carrierRank = e.body?.t === "request.pending" ? rankOf(this.st, e.author) : null;
    if (e.body?.t === "link.peer" || e.body?.t === "link.speaker") this.linkRanks.set(e.id, rankOf(this.st, e.author));
    try {
      const before = this.st.clock;
      // The clock (for the rotation policy) advances before applying so the event sees its own time,
      // and is put back if the event is refused: a rejected, future-dated event must not move it.
      this.st.clock = Math.max(before, e.ts);
      try {
        applyOne(this.st, e, this.ctx, this.genesisId);
      } catch (err) {
        this.st.clock = before;
        throw err;
      }
      noteActivity(this.st, e);
      this.st.applied++;
      this.log.push({ event: e, rejected: null });
      this.verdicts.set(e.id, null);
      if (reduces) this.found.push({ id: e.id, ...reduces });
      if (carrierRank !== null) this.carryRanks.set(e.id, carrierRank);
      this.ranks?.set(e.id, rankOf(this.st, e.author));
      // Before or after: a leave's author ranked before it, a join's only after.
    } catch (err) {
      if (err instanceof Rejected) {
        if (reduces && revokeStands(this.st, e)) this.found.push({ id: e.id, ...reduces });
        // Only the limit is a race between carries; a carry refused on its own merits (bad stamp, closed door) orders nothing.
        if (carrierRank !== null && err.reason.startsWith("too many pending")) this.carryRanks.set(e.id, carrierRank);
        return this.record(e, err.reason);
      }
      // A fault, not a refusal: the reducer may have changed the state before it threw. Remember the
      // event as broken and fold again without it (see foldPass), so the state is exactly the one before it.
      this.broken.set(e.id, internalError(err));
      throw new Refold();
    }
  }

  private record(e: PEvent, reason: string): void {
    this.st.rejected.push({ id: e.id, author: e.author, type: e.body?.t ?? "malformed", reason });
    this.log.push({ event: e, rejected: reason });
    this.verdicts.set(e.id, reason);
  }
}

export function foldAll(crypto: Crypto, events: PEvent[], genesisId?: string | null): Fold {
  const f = new Fold({ crypto, genesisId: genesisId ?? null });
  f.add(events);
  return f;
}
