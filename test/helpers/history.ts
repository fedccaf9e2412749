// Random honest+malicious histories and the convergence assertions, on the
// history builder in harness/history.ts (shared with the bench).
import { expect } from "vitest";
import { toB64 } from "../../src/cwtch/bytes.js";
import type { Crypto } from "../../src/cwtch/crypto.js";
import { ActionError, assignBody, closeBody, commentBody, grantBody, metaBody, rotateBody, shareBody, taskCreateBody, type InviteSecret } from "../../src/pursuance/actions.js";
import type { PEvent } from "../../src/pursuance/apply-common.js";
import type { Assignee, Body } from "../../src/pursuance/events.js";
import { Fold, foldAll } from "../../src/pursuance/fold.js";
import type { Capability } from "../../src/pursuance/rules.js";
import { canReadTask, entitled, entitledMembers, hasCap, rankOf, type PursuanceState } from "../../src/pursuance/state.js";
import { deliver, History, legacyInviteBody, quietly, randomCausalOrder, randomChunks, Rng, taskIn, type Deps, type HMember } from "../../harness/history.js";

export * from "../../harness/history.js";

// ---- the random-history generator ------------------------------------------------------

export interface RandomHistory {
  h: History;
  /** Authors who never joined. */
  outsiders: Set<string>;
  /** Author → lowest seq at which they equivocated. */
  forks: Map<string, number>;
  /** How many events of each intent were written ("!" marks a dishonest attempt). */
  kinds: Record<string, number>;
}

const ROLE_READ = ["primary", "admin", "recruiter", "change agent"];
const ROLES = [...ROLE_READ, "seedling"];

type Kind =
  | "task.create"
  | "task.comment"
  | "task.close"
  | "task.assign"
  | "task.update"
  | "task.meta"
  | "grant"
  | "revoke"
  | "remove"
  | "rotate"
  | "rotate2"
  | "share"
  | "invite"
  | "join"
  | "vote"
  | "amend"
  | "leave"
  | "announce"
  | "malformed"
  | "outsider";

const KINDS: Array<[Kind, number, Capability | null]> = [
  ["task.create", 13, "task.create"],
  ["task.comment", 11, "task.comment"],
  ["task.close", 5, "task.close"],
  ["task.assign", 5, "task.assign"],
  ["task.update", 3, "task.update"],
  ["task.meta", 2, "task.update"],
  ["grant", 9, "role.grant"],
  ["revoke", 4, "role.grant"],
  ["remove", 6, "member.remove"],
  ["rotate", 7, null],
  ["rotate2", 2, null],
  ["share", 4, null],
  ["invite", 7, "member.invite"],
  ["join", 8, null],
  ["vote", 4, null],
  ["amend", 1.5, "rules.change"],
  ["leave", 1, null],
  ["announce", 1.5, "announce"],
  ["malformed", 1, null],
  ["outsider", 3, null],
];
const TOTAL_WEIGHT = KINDS.reduce((n, [, w]) => n + w, 0);

/**
 * A random history of about `size` events. A founder bootstraps a few members;
 * then each step picks an intent and, most of the time, an author allowed to
 * do it (honest), otherwise anyone: a member lacking the capability, a removed
 * member, someone whose join failed, an outsider (dishonest). A third of the
 * writers are concurrent (they cite a random subset of an older set of tips),
 * so honest events race and some lose. Half the histories have an
 * equivocating member.
 */
export function randomHistory(base: Crypto, seed: number, size: number): RandomHistory {
  const h = new History(base, seed);
  const rng = h.rng;
  const kinds: Record<string, number> = {};
  const count = (k: string) => (kinds[k] = (kinds[k] ?? 0) + 1);
  const founder = h.member("founder");
  h.genesis(founder);
  const candidates: HMember[] = [];
  for (let i = 0; i < 7; i++) candidates.push(h.member(`m${i}`));
  const outsiderMs = [h.member("outsider0"), h.member("outsider1")];
  const outsiders = new Set(outsiderMs.map((m) => m.hex));
  const forks = new Map<string, number>();
  const invites: Array<{ secret: InviteSecret; uses: number }> = [];
  const everyone = [founder, ...candidates];

  // Bootstrap: the founder admits a few members so there is someone to act.
  const boot: Array<[number, string]> = [
    [0, "admin"],
    [1, "admin"],
    [2, "recruiter"],
    [3, "change agent"],
    [4, "seedling"],
  ];
  for (const [i, role] of rng.subset(boot, 0.8)) {
    const { secret } = h.invite(founder, role);
    invites.push({ secret, uses: 1 });
    h.join(candidates[i]!, secret);
  }
  const forkAt = rng.chance(0.5) ? rng.range(h.events.length + 2, size - 2) : -1;

  const pickDeps = (): Deps => {
    if (rng.chance(0.65)) return "tips";
    const older = h.tipsAt(rng.range(1, h.events.length));
    const sub = rng.subset(older, 0.6);
    return sub.length > 0 ? sub : [rng.pick(older)];
  };
  const depIds = (d: Deps): string[] => (d === "tips" ? h.tips() : d === "own" ? [] : d.map((x) => (typeof x === "string" ? x : x.id)));
  const current = (s: PursuanceState) => everyone.filter((m) => s.members.has(m.hex));
  const anyone = (s: PursuanceState): HMember => {
    const r = rng.next();
    if (r < 0.5) return rng.pick(current(s).length > 0 ? current(s) : everyone);
    if (r < 0.9) return rng.pick(everyone);
    return rng.pick(outsiderMs);
  };
  const below = (s: PursuanceState, a: HMember) => {
    const mine = rankOf(s, a.hex);
    return {
      members: current(s).filter((m) => rankOf(s, m.hex) < mine && s.leader !== m.hex),
      roles: ROLES.filter((r) => (s.rules.roles[r]?.rank ?? Infinity) < mine),
    };
  };
  const readable = (s: PursuanceState, a: HMember) => s.taskIds.filter((id) => canReadTask(s, a.hex, s.tasks.get(id)!));
  const someTask = (s: PursuanceState, a: HMember, honest: boolean): string => {
    const mine = honest ? readable(s, a) : [];
    if (mine.length > 0) return rng.pick(mine);
    return s.taskIds.length > 0 && rng.chance(0.9) ? rng.pick(s.taskIds) : rng.hex(32);
  };
  const tryBuild = (honest: () => Body | null, forged: () => Body | null): Body | null => {
    try {
      return honest();
    } catch (err) {
      if (!(err instanceof ActionError)) throw err;
      return forged();
    }
  };

  let guard = 0;
  while (h.events.length < size && guard++ < size * 20) {
    if (h.events.length === forkAt) {
      // Equivocation: a second, different event at a member's latest seq.
      const m = rng.pick(candidates.filter((x) => x.chain.length > 0).concat(founder.chain.length > 1 ? [founder] : []));
      const seq = m.chain.length;
      h.emit(m, (s) => ({ t: "task.comment", task: someTask(s, m, true), content: h.fakeCiphertext() }), pickDeps(), { fork: { seq } });
      const f = forks.get(m.hex);
      if (f === undefined || seq < f) forks.set(m.hex, seq);
      count("equivocate");
      continue;
    }
    let x = rng.next() * TOTAL_WEIGHT;
    let kind: Kind = "task.create";
    let cap: Capability | null = null;
    for (const [k, w, c] of KINDS) {
      if ((x -= w) < 0) {
        kind = k;
        cap = c;
        break;
      }
    }
    const d = pickDeps();
    const s0 = h.stateAt(depIds(d));
    let honest = rng.chance(0.7);

    if (kind === "join") {
      if (invites.length === 0) continue;
      const unused = invites.filter((i) => i.uses === 0);
      const fresh = candidates.filter((c) => !s0.members.has(c.hex));
      // Dishonest: a bad proof on a good invite, a reused invite, or a join by anyone.
      const r = rng.next();
      const bad = !honest && r < 0.4;
      const inv = (honest || bad) && unused.length > 0 ? rng.pick(unused) : rng.pick(invites);
      const m = (honest || bad) && fresh.length > 0 ? rng.pick(fresh) : rng.pick(candidates);
      h.join(m, inv.secret, honest || bad ? "tips" : d, { badProof: bad });
      if (!bad) inv.uses++;
      count(honest ? "join" : "join!");
      continue;
    }
    if (kind === "rotate2") {
      // Two entitled members rotate one scope without seeing each other: one must lose as stale.
      const scopes = [...s0.keys.keys()];
      const due = scopes.filter((sc) => s0.keys.get(sc)!.needsRotation);
      const scope = rng.pick(due.length > 0 ? due : scopes);
      const able = current(s0).filter((m) => entitled(s0, m.hex).includes(scope) && (s0.keys.get(scope)!.needsRotation || hasCap(s0, m.hex, "keys.rotate")));
      if (able.length < 2) continue;
      const [m1, m2] = rng.shuffle([...able]) as [HMember, HMember];
      const at = depIds(d);
      for (const m of [m1, m2]) h.emit(m, (s) => rotateBody(m.actor, s, scope).body, at);
      count("rotate2");
      continue;
    }
    if (kind === "malformed") {
      h.emitMalformed(anyone(s0), d);
      count("malformed!");
      continue;
    }

    // The author: allowed (honest) or anyone (dishonest).
    let a: HMember;
    if (kind === "outsider") {
      a = rng.pick(outsiderMs);
      honest = false;
    } else if (honest) {
      let pool = current(s0).filter((m) => cap === null || hasCap(s0, m.hex, cap));
      if (kind === "rotate") pool = current(s0).filter((m) => [...s0.keys].some(([sc, k]) => k.needsRotation && entitled(s0, m.hex).includes(sc)) || hasCap(s0, m.hex, "keys.rotate"));
      if (kind === "vote") pool = current(s0).filter((m) => s0.members.get(m.hex)!.roles.has(s0.rules.succession.role));
      if (pool.length === 0) continue;
      a = rng.pick(pool);
    } else a = anyone(s0);
    count(honest ? kind : `${kind}!`);

    h.emit(
      a,
      (s): Body | null => {
        const bl = below(s, a);
        const pickMember = (): HMember => (honest && bl.members.length > 0 ? rng.pick(bl.members) : anyone(s));
        const pickRole = (): string => (honest && bl.roles.length > 0 ? rng.pick(bl.roles) : rng.pick(ROLES));
        switch (kind) {
          case "outsider": {
            const t = rng.int(3);
            if (t === 0) return { t: "task.create", readers: ["change agent"], assignee: null, parent: null, due: null, content: h.fakeContent(s, ["change agent"]) };
            if (t === 1) return { t: "role.grant", member: a.hex, role: "admin", keys: [] };
            return { t: "remove", member: rng.pick(everyone).hex, reason: "forged" };
          }
          case "grant": {
            const to = pickMember();
            const role = pickRole();
            return tryBuild(
              () => grantBody(a.actor, s, to.hex, role),
              () => ({ t: "role.grant", member: to.hex, role, keys: [] }),
            );
          }
          case "revoke": {
            const to = pickMember();
            const held = [...(s.members.get(to.hex)?.roles ?? [])];
            return { t: "role.revoke", member: to.hex, role: held.length > 0 && rng.chance(0.8) ? rng.pick(held) : pickRole() };
          }
          case "remove":
            return { t: "remove", member: (honest ? pickMember() : rng.pick(everyone)).hex, reason: "random" };
          case "invite": {
            const role = pickRole();
            const { body, secret } = legacyInviteBody(a.actor, s, role);
            if (body.t === "invite") {
              const ids = new Set([body.groupKeyId, ...(body.roleKeyIds ?? [])]);
              h.inviteKeys.set(secret.publicKey, a.ring.all().filter((k) => ids.has(k.keyId)));
            }
            invites.push({ secret, uses: 0 });
            return body;
          }
          case "rotate": {
            const scopes = [...s.keys.keys()].filter((sc) => !honest || entitled(s, a.hex).includes(sc));
            if (scopes.length === 0) return null;
            const due = scopes.filter((sc) => s.keys.get(sc)!.needsRotation);
            const scope = due.length > 0 && (honest || rng.chance(0.5)) ? rng.pick(due) : rng.pick(scopes);
            const { body } = rotateBody(a.actor, s, scope);
            if (body.t === "keys.rotate" && !honest && rng.chance(0.6)) {
              const want = entitledMembers(s, scope);
              const gone = [...s.former.keys()].filter((m) => !want.includes(m));
              if (gone.length > 0 && rng.chance(0.5)) body.sealed[rng.pick(gone)] = toB64(rng.bytes(80));
              else if (want.length > 1) delete body.sealed[rng.pick(want.filter((m) => m !== a.hex))];
            }
            return body;
          }
          case "share": {
            const to = honest ? rng.pick(current(s).length > 0 ? current(s) : everyone) : anyone(s);
            const b = honest ? shareBody(a.actor, s, to.hex) : null;
            if (b) return b;
            const scope = rng.pick(["group", ...ROLE_READ]);
            const kid = rng.chance(0.5) ? rng.hex(16) : (s.keys.get(scope)?.history[0] ?? rng.hex(16));
            return { t: "keys.share", to: to.hex, keys: [{ scope, keyId: kid, sealed: toB64(rng.bytes(80)) }] };
          }
          case "task.create": {
            const mine = entitled(s, a.hex).filter((sc) => sc !== "group");
            const readers = honest && mine.length > 0 ? [rng.pick(mine)] : rng.chance(0.7) ? [rng.pick(ROLE_READ)] : rng.subset(ROLES, 0.4);
            const assignee: Assignee | null = rng.chance(0.3) ? { member: pickMember().hex } : null;
            return tryBuild(
              () => taskCreateBody(a.actor, s, { text: { title: `t${h.events.length}`, deliverables: "d" }, readers, assignee }),
              () => ({ t: "task.create", readers: [...new Set(readers)].sort(), assignee, parent: null, due: null, content: h.fakeContent(s, readers) }),
            );
          }
          case "task.comment": {
            const id = someTask(s, a, honest);
            return tryBuild(
              () => commentBody(a.actor, taskIn(s, id), "hello"),
              () => ({ t: "task.comment", task: id, content: h.fakeCiphertext() }),
            );
          }
          case "task.close": {
            const id = someTask(s, a, honest);
            return tryBuild(
              () => closeBody(a.actor, taskIn(s, id), rng.chance(0.5) ? "done" : null),
              () => ({ t: "task.close", task: id, reason: null }),
            );
          }
          case "task.assign": {
            const id = someTask(s, a, honest);
            const assignee: Assignee | null = rng.chance(0.7) ? { member: anyone(s).hex } : rng.chance(0.5) ? { role: rng.pick(ROLES) } : null;
            return tryBuild(
              () => assignBody(a.actor, s, taskIn(s, id), assignee),
              () => ({ t: "task.assign", task: id, assignee }),
            );
          }
          case "task.meta": {
            const id = someTask(s, a, honest);
            const meta = { labels: rng.subset(["urgent", "later", "legal"], 0.5), priority: rng.pick(["low", "normal", "high", "urgent"] as const) };
            return tryBuild(
              () => metaBody(a.actor, taskIn(s, id), meta),
              () => ({ t: "task.meta", task: id, meta: h.fakeCiphertext() }),
            );
          }
          case "task.update":
            return { t: "task.update", task: someTask(s, a, honest), status: rng.pick(["started", "help wanted", "done"] as const) };
          case "vote":
            return { t: "leader.vote", candidate: (rng.chance(0.8) ? rng.pick(current(s).length > 0 ? current(s) : everyone) : anyone(s)).hex };
          case "amend": {
            const role = pickRole();
            return { t: "role.amend", role, def: { rank: honest ? Math.max(0, (s.rules.roles[role]?.rank ?? 10) - 5) : rng.pick([50, 70, 90, 110]), caps: ["task.comment"], reads: "role" } };
          }
          case "leave":
            return { t: "leave" };
          case "announce":
            return { t: "announce", text: "news" };
          default:
            return null;
        }
      },
      d,
    );
  }
  return { h, outsiders, forks, kinds };
}

// ---- convergence and verdict assertions --------------------------------------------------

/**
 * The reference fold of `h`, after checking that `orders` random causal
 * deliveries (one event per add, random batches, one batch) all agree with it.
 */
export function converge(crypto: Crypto, h: History, orders = 12, seed = 1): Fold {
  const ref = quietly(() => foldAll(crypto, h.events, h.genesisId));
  const hash = ref.hash();
  const rng = new Rng(seed);
  for (let i = 0; i < orders; i++) {
    const order = randomCausalOrder(h.events, rng);
    const chunks = i % 3 === 0 ? order.map((e) => [e]) : i % 3 === 1 ? randomChunks(order, rng, 5) : [order];
    const { fold } = deliver(crypto, chunks, h.genesisId);
    expect(fold.state.rejected, `delivery ${i}`).toEqual(ref.state.rejected);
    expect(fold.hash(), `delivery ${i}`).toBe(hash);
  }
  return ref;
}

/** How many distinct causal orders the deliveries used (to show the DAG really was concurrent). */
export function distinctOrders(h: History, n: number, seed = 1): number {
  const rng = new Rng(seed);
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(randomCausalOrder(h.events, rng).map((e) => e.id).join());
  return seen.size;
}

export function reasonOf(f: Fold, e: PEvent | null): string | null {
  if (!e) throw new Error("no event");
  const a = f.applied.find((x) => x.event.id === e.id);
  if (!a) throw new Error(`event ${e.id.slice(0, 12)} was not folded`);
  return a.rejected;
}

/** The event is rejected, in `state.rejected`, with a reason matching `why`. */
export function expectRejected(f: Fold, e: PEvent | null, why: RegExp): void {
  if (!e) throw new Error("no event");
  const r = f.state.rejected.find((x) => x.id === e.id);
  expect(r, `${e.body?.t ?? "malformed"} ${e.id.slice(0, 12)} should be rejected (${why})`).toBeDefined();
  expect(r!.author).toBe(e.author);
  expect(r!.type).toBe(e.body?.t ?? "malformed");
  expect(r!.reason).toMatch(why);
}

export function expectApplied(f: Fold, e: PEvent | null): void {
  if (!e) throw new Error("no event");
  expect(reasonOf(f, e), `${e.body?.t} ${e.id.slice(0, 12)} should apply`).toBeNull();
}

/** Index of an event in the fold order. */
export function position(f: Fold, e: PEvent): number {
  return f.applied.findIndex((a) => a.event.id === e.id);
}

/**
 * A pursuance founded by F ("founder") on the default ladder, with each other member invited by F
 * into its role: `ladder(base, 7, { A: ["admin", "admin"], S: ["seedling", "seedling"] })`.
 */
export function ladder<K extends string>(base: Crypto, seed: number, members: Record<K, readonly [name: string, role: string]>): { h: History; F: HMember } & Record<K, HMember> {
  const h = new History(base, seed);
  const F = h.member("founder");
  const made = Object.fromEntries(Object.entries<readonly [string, string]>(members).map(([k, [name]]) => [k, h.member(name)])) as Record<K, HMember>;
  h.genesis(F);
  for (const [k, [, role]] of Object.entries<readonly [string, string]>(members)) h.addMember(F, made[k as K], role);
  return { h, F, ...made };
}
