// A history builder for the pursuance state machine, with no network: members
// with real Ed25519 keypairs and KeyRings write PEvents with correct seq and
// parents (their previous event plus the tips they choose to cite), bodies are
// built by the real body builders from the state the author could have seen
// (the fold of the new event's causal past), and a seeded generator mixes
// honest and malicious writers into random DAGs.
//
// Everything random comes from one seeded PRNG (event ids, keypairs, keys,
// nonces, choices), so a failing seed rebuilds the same DAG.
import { expect } from "vitest";
import { toB64, toHex } from "../../src/cwtch/bytes.js";
import type { Crypto, SignKeyPair } from "../../src/cwtch/crypto.js";
import {
  ActionError,
  assignBody,
  closeBody,
  commentBody,
  genesisBody,
  grantBody,
  inviteBody,
  joinBody,
  rotateBody,
  shareBody,
  taskCreateBody,
  type Actor,
  type InviteSecret,
} from "../../src/pursuance/actions.js";
import type { PEvent } from "../../src/pursuance/apply-common.js";
import { BodyError, encodeBody, parseBody, type Assignee, type Body, type Ciphertext, type SealedContent } from "../../src/pursuance/events.js";
import { Fold, foldAll } from "../../src/pursuance/fold.js";
import { KeyRing, type HeldKey } from "../../src/pursuance/keyring.js";
import type { Capability, Rules } from "../../src/pursuance/rules.js";
import { NO_KEY, canReadTask, entitled, entitledMembers, hasCap, rankOf, type PursuanceState, type Task } from "../../src/pursuance/state.js";

/**
 * An invite as made before keyless invites: its token carried the current group
 * key and the keys of the offered role and those below it, and the event names
 * their ids, so the joiner holds them from the join on. Logs still hold such
 * invites; these histories exercise that path (test/invite.test.ts the keyless one).
 */
export function legacyInviteBody(a: Parameters<typeof inviteBody>[0], s: PursuanceState, role: string): ReturnType<typeof inviteBody> {
  const r = inviteBody(a, s, role);
  const roleScopes = entitled(s, a.me).filter((sc) => sc !== "group" && (s.rules.roles[sc]?.rank ?? Infinity) <= s.rules.roles[role]!.rank);
  const b = r.body as Extract<Body, { t: "invite" }>;
  delete b.rendezvous;
  b.groupKeyId = s.keys.get("group")!.keyId;
  b.roleKeyIds = roleScopes.map((sc) => s.keys.get(sc)?.keyId ?? NO_KEY).filter((k) => k !== NO_KEY);
  return r;
}

// ---- seeded PRNG (sfc32) -----------------------------------------------------------

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(readonly seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** [0, 1) */
  next(): number {
    return this.u32() / 4294967296;
  }
  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** integer in [lo, hi] */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error("pick from empty list");
    return xs[this.int(xs.length)]!;
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }
  subset<T>(xs: readonly T[], p = 0.5): T[] {
    return xs.filter(() => this.chance(p));
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.u32();
      for (let k = 0; k < 4 && i + k < n; k++) out[i + k] = (v >>> (8 * k)) & 0xff;
    }
    return out;
  }
  hex(nBytes: number): string {
    return toHex(this.bytes(nBytes));
  }
}

/**
 * The crypto the writers use: randomness from the PRNG (keys, nonces, invite
 * seeds), so a seed rebuilds the same history. Sealed boxes still use
 * libsodium's own ephemeral keys; their bytes decide nothing in the fold.
 */
export function seededCrypto(base: Crypto, rng: Rng): Crypto {
  const c = Object.create(base) as Crypto & { randomBytes: (n: number) => Uint8Array };
  Object.defineProperty(c, "randomBytes", { value: (n: number) => rng.bytes(n) });
  return c;
}

/**
 * Signature checks are pure: remember their answers so that folding the same
 * history hundreds of times does not re-verify the same join proofs.
 */
export function memoVerifyCrypto(base: Crypto): Crypto {
  const cache = new Map<string, boolean>();
  const c = Object.create(base) as Crypto;
  Object.defineProperty(c, "verify", {
    value: (sig: Uint8Array, m: Uint8Array, pk: Uint8Array) => {
      const k = `${toHex(sig)}|${toHex(m)}|${toHex(pk)}`;
      let v = cache.get(k);
      if (v === undefined) cache.set(k, (v = base.verify(sig, m, pk)));
      return v;
    },
  });
  return c;
}

// ---- members and events -----------------------------------------------------------

export interface HMember {
  name: string;
  kp: SignKeyPair;
  hex: string;
  ring: KeyRing;
  actor: Actor;
  /** Ids of this member's events by seq (index seq-1): the honest chain. */
  chain: string[];
}

/** Which tips a new event cites besides its author's previous event. */
export type Deps = "tips" | "own" | ReadonlyArray<string | PEvent>;

export interface EmitOptions {
  /** Write at this seq with this prev instead of extending the chain: an equivocation. */
  fork?: { seq: number };
  ts?: number;
  /** Grind the id: write this many candidates and keep the smallest (ids once decided concurrent conflicts). */
  grind?: number;
}

export type BodyOrBuilder = Body | null | ((s: PursuanceState) => Body | null);

export class History {
  readonly rng: Rng;
  /** The writers' crypto (seeded randomness). */
  readonly crypto: Crypto;
  readonly events: PEvent[] = [];
  readonly byId = new Map<string, PEvent>();
  readonly members = new Map<string, HMember>();
  genesisId: string | null = null;
  private readonly cited = new Set<string>();
  /** Invite public key → the keys its link carries out of band. */
  readonly inviteKeys = new Map<string, HeldKey[]>();
  /** What folds use: the real crypto, with signature answers remembered. */
  readonly foldCrypto: Crypto;
  private readonly states = new Map<string, PursuanceState>();
  /** Everything written so far, folded as it is written. */
  private live: Fold | null = null;
  private clock = 1_700_000_000_000;

  constructor(
    /** The real crypto (what folds use). */
    readonly base: Crypto,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    this.crypto = seededCrypto(base, this.rng);
    this.foldCrypto = memoVerifyCrypto(base);
  }

  /** A new identity (not yet a member of anything). */
  member(name: string): HMember {
    if (this.members.has(name)) throw new Error(`duplicate member name ${name}`);
    const kp = this.base.signKeyPair(this.rng.bytes(32));
    const ring = new KeyRing(this.crypto, kp);
    const hex = toHex(kp.publicKey);
    const m: HMember = { name, kp, hex, ring, actor: { crypto: this.crypto, identity: kp, me: hex, ring }, chain: [] };
    this.members.set(name, m);
    return m;
  }

  get(name: string): HMember {
    const m = this.members.get(name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  byHex(hex: string): HMember | undefined {
    for (const m of this.members.values()) if (m.hex === hex) return m;
    return undefined;
  }

  /** Events nobody cites yet, in creation order. */
  tips(): string[] {
    return this.events.filter((e) => !this.cited.has(e.id)).map((e) => e.id);
  }

  /** The tips as they were when only the first `k` events existed. */
  tipsAt(k: number): string[] {
    const prefix = this.events.slice(0, k);
    const cited = new Set<string>();
    for (const e of prefix) for (const p of e.parents) cited.add(p);
    return prefix.filter((e) => !cited.has(e.id)).map((e) => e.id);
  }

  ancestors(ids: Iterable<string>): PEvent[] {
    const seen = new Set<string>();
    const stack = [...ids];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const e = this.byId.get(id);
      if (e) stack.push(...e.parents);
    }
    return this.events.filter((e) => seen.has(e.id));
  }

  /** The state an author citing `parents` has seen: the fold of their causal past. */
  stateAt(parents: Iterable<string>): PursuanceState {
    const key = [...new Set(parents)].sort().join(",");
    let s = this.states.get(key);
    if (s) return s;
    const past = this.ancestors(key ? key.split(",") : []);
    // Citing everything: the live fold of the whole history (not cached: it moves on).
    if (past.length === this.events.length && this.live) return this.live.state;
    this.states.set(key, (s = quietly(() => foldAll(this.foldCrypto, past, this.genesisId).state)));
    return s;
  }

  /** The state of everything written so far. */
  state(): PursuanceState {
    return this.fold().state;
  }

  fold(): Fold {
    return quietly(() => foldAll(this.foldCrypto, this.events, this.genesisId));
  }

  /** The parents a new event by `m` would have. */
  parentsFor(m: HMember, deps: Deps, fork?: { seq: number }): { seq: number; parents: string[] } {
    const seq = fork ? fork.seq : m.chain.length + 1;
    const prev = seq > 1 ? m.chain[seq - 2] : undefined;
    if (seq > 1 && prev === undefined) throw new Error(`${m.name} has no event at seq ${seq - 1}`);
    let ids: string[];
    if (deps === "tips") ids = this.tips();
    else if (deps === "own") ids = [];
    else ids = deps.map((d) => (typeof d === "string" ? d : d.id));
    // An author's own later events are never its deps (that would be a cycle for a fork).
    const own = new Set(m.chain.slice(seq - 1));
    const parents = [...new Set(ids)].filter((p) => p !== prev && !own.has(p));
    if (prev !== undefined) parents.push(prev);
    return { seq, parents };
  }

  /**
   * Write an event by `m`. `body` may be a function of the state the author has
   * seen (the fold of the event's causal past); returning null writes nothing.
   * Every key ring then takes whatever the body seals to it.
   */
  emit(m: HMember, body: BodyOrBuilder, deps: Deps = "tips", o: EmitOptions = {}): PEvent | null {
    const { seq, parents } = this.parentsFor(m, deps, o.fork);
    const b = typeof body === "function" ? body(this.stateAt(parents)) : body;
    if (b === null) return null;
    return this.push(m, seq, parents, b, o);
  }

  /** Write an event whose body does not parse (kept, rejected as malformed). */
  emitMalformed(m: HMember, deps: Deps = "tips"): PEvent {
    const { seq, parents } = this.parentsFor(m, deps);
    return this.push(m, seq, parents, null, {});
  }

  private push(m: HMember, seq: number, parents: string[], written: Body | null, o: EmitOptions): PEvent {
    // Through the wire format and the real parser, as a received event would be (see pevent.ts).
    let body: Body | null = null;
    let bodyError = "body is not UTF-8 JSON: 7";
    if (written !== null) {
      try {
        body = parseBody(encodeBody(written));
      } catch (err) {
        if (!(err instanceof BodyError)) throw err;
        bodyError = err.message;
      }
    }
    this.clock += 1000 + this.rng.int(1000);
    let id = this.rng.hex(32);
    for (let i = 1; i < (o.grind ?? 0); i++) {
      const c = this.rng.hex(32);
      if (c < id) id = c;
    }
    const e: PEvent = { id, author: m.hex, seq, ts: o.ts ?? this.clock, parents, body };
    if (body === null) e.bodyError = bodyError;
    this.events.push(e);
    this.byId.set(e.id, e);
    for (const p of parents) this.cited.add(p);
    if (!o.fork) m.chain.push(e.id);
    if (body) for (const x of this.members.values()) x.ring.ingest(body);
    if (this.live) quietly(() => this.live!.add([e]));
    return e;
  }

  // ---- honest actions (bodies from the real builders) ----------------------------

  genesis(founder: HMember, o: { name?: string; rules?: Rules } = {}): PEvent {
    if (this.events.length > 0) throw new Error("genesis must come first");
    const body = genesisBody(founder.actor, { name: o.name ?? "test pursuance", founderName: founder.name, ...(o.rules ? { rules: o.rules } : {}) });
    const e = this.emit(founder, body, "own")!;
    this.genesisId = e.id;
    this.live = new Fold({ crypto: this.foldCrypto, genesisId: e.id });
    this.live.add([e]);
    return e;
  }

  /** An invite; the keys it names travel out of band with its secret, as with a real invite link. */
  invite(by: HMember, role: string, deps: Deps = "tips"): { event: PEvent; secret: InviteSecret } {
    let secret: InviteSecret | null = null;
    const event = this.emit(
      by,
      (s) => {
        const r = legacyInviteBody(by.actor, s, role);
        secret = r.secret;
        const b = r.body as Extract<Body, { t: "invite" }>;
        const ids = new Set([b.groupKeyId, ...(b.roleKeyIds ?? [])]);
        this.inviteKeys.set(r.secret.publicKey, by.ring.all().filter((k) => ids.has(k.keyId)));
        return r.body;
      },
      deps,
    )!;
    return { event, secret: secret! };
  }

  /** Join with a real proof; the joiner first takes the keys the invite carried. */
  join(m: HMember, secret: InviteSecret, deps: Deps = "tips", o: { badProof?: boolean } = {}): PEvent {
    for (const k of this.inviteKeys.get(secret.publicKey) ?? []) m.ring.add(k.scope, k.key);
    const body = joinBody(m.actor, this.genesisId!, secret.seed, m.name) as Extract<Body, { t: "join" }>;
    if (o.badProof) {
      // Signed by some other key than the invite key.
      const other = this.base.signKeyPair(this.rng.bytes(32));
      body.proof = toHex(this.base.sign(this.rng.bytes(16), other.secretKey)).padEnd(128, "0").slice(0, 128);
    }
    return this.emit(m, body, deps)!;
  }

  /** Invite then join at once: `m` becomes a member holding `role`. */
  addMember(by: HMember, m: HMember, role: string): { invite: PEvent; join: PEvent } {
    const { event, secret } = this.invite(by, role);
    return { invite: event, join: this.join(m, secret) };
  }

  grant(by: HMember, to: HMember, role: string, deps: Deps = "tips"): PEvent {
    return this.emit(by, (s) => grantBody(by.actor, s, to.hex, role), deps)!;
  }

  revoke(by: HMember, to: HMember, role: string, deps: Deps = "tips"): PEvent {
    return this.emit(by, { t: "role.revoke", member: to.hex, role }, deps)!;
  }

  remove(by: HMember, who: HMember, deps: Deps = "tips", reason = "test"): PEvent {
    return this.emit(by, { t: "remove", member: who.hex, reason }, deps)!;
  }

  rotate(by: HMember, scope: string, deps: Deps = "tips", tamper?: (sealed: Record<string, string>, s: PursuanceState) => void): PEvent {
    return this.emit(
      by,
      (s) => {
        const { body } = rotateBody(by.actor, s, scope);
        if (tamper && body.t === "keys.rotate") tamper(body.sealed, s);
        return body;
      },
      deps,
    )!;
  }

  share(by: HMember, to: HMember, deps: Deps = "tips"): PEvent | null {
    return this.emit(by, (s) => shareBody(by.actor, s, to.hex), deps);
  }

  task(by: HMember, readers: string[], o: { title?: string; assignee?: Assignee | null } = {}, deps: Deps = "tips"): PEvent {
    return this.emit(
      by,
      (s) => taskCreateBody(by.actor, s, { text: { title: o.title ?? "a task", deliverables: "things" }, readers, assignee: o.assignee ?? null }),
      deps,
    )!;
  }

  comment(by: HMember, task: string | PEvent, text: string, deps: Deps = "tips"): PEvent {
    return this.emit(by, (s) => commentBody(by.actor, taskIn(s, task), text), deps)!;
  }

  close(by: HMember, task: string | PEvent, reason: string | null = null, deps: Deps = "tips"): PEvent {
    return this.emit(by, (s) => closeBody(by.actor, taskIn(s, task), reason), deps)!;
  }

  assign(by: HMember, task: string | PEvent, assignee: Assignee | null, deps: Deps = "tips"): PEvent {
    return this.emit(by, (s) => assignBody(by.actor, s, taskIn(s, task), assignee), deps)!;
  }

  /** Let time pass with nobody writing (e.g. past the succession silence limit). */
  advance(ms: number): void {
    this.clock += ms;
  }

  vote(by: HMember, candidate: HMember, deps: Deps = "tips"): PEvent {
    return this.emit(by, { t: "leader.vote", candidate: candidate.hex }, deps)!;
  }

  // ---- forgeries ----------------------------------------------------------------

  fakeCiphertext(): Ciphertext {
    return { nonce: toB64(this.rng.bytes(24)), ct: toB64(this.rng.bytes(40)) };
  }

  /** Task content that claims to be wrapped for the readers' current keys (it is not). */
  fakeContent(s: PursuanceState, readers: string[]): SealedContent {
    const wraps: SealedContent["wraps"] = {};
    for (const r of readers) wraps[r] = { keyId: s.keys.get(r)?.keyId ?? this.rng.hex(16), w: toB64(this.rng.bytes(24 + 48)) };
    return { ...this.fakeCiphertext(), wraps, members: {} };
  }
}

export function taskIn(s: PursuanceState, task: string | PEvent): Task {
  const id = typeof task === "string" ? task : task.id;
  const t = s.tasks.get(id);
  if (!t) throw new ActionError(`no task ${id.slice(0, 12)} in the author's view`, id);
  return t;
}

// ---- delivery orders ----------------------------------------------------------------

/** A uniformly-chosen-step random causal delivery order (parents before children). */
export function randomCausalOrder(events: readonly PEvent[], rng: Rng): PEvent[] {
  const ids = new Set(events.map((e) => e.id));
  const pending = new Map<string, number>();
  const children = new Map<string, PEvent[]>();
  const ready: PEvent[] = [];
  for (const e of events) {
    const ps = [...new Set(e.parents)].filter((p) => ids.has(p));
    pending.set(e.id, ps.length);
    for (const p of ps) {
      let c = children.get(p);
      if (!c) children.set(p, (c = []));
      c.push(e);
    }
    if (ps.length === 0) ready.push(e);
  }
  const out: PEvent[] = [];
  while (ready.length > 0) {
    const i = rng.int(ready.length);
    const e = ready[i]!;
    ready[i] = ready[ready.length - 1]!;
    ready.pop();
    out.push(e);
    for (const c of children.get(e.id) ?? []) {
      const n = pending.get(c.id)! - 1;
      pending.set(c.id, n);
      if (n === 0) ready.push(c);
    }
  }
  if (out.length !== events.length) throw new Error("events do not form a DAG");
  return out;
}

/** Cut a sequence into consecutive chunks of random sizes in [1, max]. */
export function randomChunks<T>(xs: readonly T[], rng: Rng, max: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; ) {
    const n = rng.range(1, Math.max(1, max));
    out.push(xs.slice(i, i + n));
    i += n;
  }
  return out;
}

/**
 * Run `f` without capturing stack traces: every rejection is an Error, and
 * capturing their stacks is most of the cost of folding a hostile log many
 * times over. Nothing in the fold reads a stack.
 */
export function quietly<T>(f: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return f();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Deliver chunks to a fresh fold; returns the fold and how many adds were incremental. */
export function deliver(crypto: Crypto, chunks: readonly PEvent[][], genesisId: string | null = null): { fold: Fold; incremental: number; refolds: number } {
  return quietly(() => {
    const fold = new Fold({ crypto, genesisId });
    let incremental = 0;
    let refolds = 0;
    for (const c of chunks) {
      const before = fold.size;
      const rebuilt = fold.add(c);
      if (fold.size > before) rebuilt ? refolds++ : incremental++;
    }
    return { fold, incremental, refolds };
  });
}

/** The audit view as plain data: fold order with verdicts. */
export function auditOf(f: Fold): Array<[string, string | null]> {
  return f.applied.map((a) => [a.event.id, a.rejected]);
}

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
