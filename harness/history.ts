// A history builder for the pursuance state machine, with no network: members
// with real Ed25519 keypairs and KeyRings write PEvents with correct seq and
// parents (their previous event plus the tips they choose to cite), bodies are
// built by the real body builders from the state the author could have seen
// (the fold of the new event's causal past). The random generator and the
// assertions are in test/helpers/history.ts; the exhaustive order checker
// (order-histories.ts) builds on this too, so tests and bench share one builder.
//
// Everything random comes from one seeded PRNG (event ids, keypairs, keys,
// nonces, choices), so a failing seed rebuilds the same DAG.
import { toB64, toHex } from "../src/cwtch/bytes.js";
import type { Crypto, SignKeyPair } from "../src/cwtch/crypto.js";
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
} from "../src/pursuance/actions.js";
import type { PEvent } from "../src/pursuance/apply-common.js";
import { BodyError, encodeBody, type Assignee, type Body, type Ciphertext, type SealedContent } from "../src/pursuance/events.js";
import { parseBody } from "../src/pursuance/events-parse.js";
import { Fold, foldAll } from "../src/pursuance/fold.js";
import { KeyRing, type HeldKey } from "../src/pursuance/keyring.js";
import type { Capability, Rules } from "../src/pursuance/rules.js";
import { NO_KEY, canReadTask, entitled, entitledMembers, hasCap, rankOf, type PursuanceState, type Task } from "../src/pursuance/state.js";

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
  /** Where this generator is now: a fork continues from here, independently. */
  clone(): Rng {
    const r = new Rng(this.seed);
    [r.a, r.b, r.c, r.d] = [this.a, this.b, this.c, this.d];
    return r;
  }
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
    /** A fork's: the parent's generator (cloned) and remembered signature answers. */
    from?: { rng: Rng; foldCrypto: Crypto },
  ) {
    this.rng = from?.rng ?? new Rng(seed);
    this.crypto = seededCrypto(base, this.rng);
    this.foldCrypto = from?.foldCrypto ?? memoVerifyCrypto(base);
  }

  /**
   * An independent copy to write a different continuation (the order checker
   * enumerates histories as a tree): the same events, members' chains and key
   * rings, and generator state, so the shared prefix is built once.
   */
  fork(): History {
    const h = new History(this.base, this.rng.seed, { rng: this.rng.clone(), foldCrypto: this.foldCrypto });
    for (const e of this.events) {
      h.events.push(e);
      h.byId.set(e.id, e);
    }
    for (const c of this.cited) h.cited.add(c);
    for (const [name, m] of this.members) {
      const ring = new KeyRing(h.crypto, m.kp);
      for (const k of m.ring.all()) ring.add(k.scope, k.key);
      h.members.set(name, { ...m, ring, actor: { crypto: h.crypto, identity: m.kp, me: m.hex, ring }, chain: [...m.chain] });
    }
    for (const [k, v] of this.inviteKeys) h.inviteKeys.set(k, v);
    for (const [k, v] of this.states) h.states.set(k, v);
    h.genesisId = this.genesisId;
    h.clock = this.clock;
    if (this.live) {
      h.live = new Fold({ crypto: this.foldCrypto, genesisId: this.genesisId });
      quietly(() => h.live!.add([...this.events]));
    }
    return h;
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
