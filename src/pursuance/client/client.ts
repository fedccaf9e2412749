// PursuanceClient: one member's live pursuance. It composes the group session
// (protocol), the fold (state), the key ring and a store, and reaches the
// world only through the ports it is given. Every delivered event is stored
// before it is folded, so nothing accepted is lost on a crash.
import { EventEmitter } from "node:events";
import { fromHex, toB64, toHex } from "../../cwtch/bytes.js";
import type { SignKeyPair } from "../../cwtch/crypto.js";
import { Group, type CursorPort } from "../../cwtch/group.js";
import { GroupSession } from "../../cwtch/group-session.js";
import { decodeAndVerify, type SignedEvent } from "../../cwtch/message.js";
import { when, type PEvent } from "../apply-common.js";
import { ActionError, genesisBody, inviteBody, type Actor } from "../actions.js";
import { encodeBody, type Body, type KeyRef } from "../events.js";
import { parseBody } from "../events-parse.js";
import { Fold } from "../fold.js";
import type { Invite } from "../invite.js";
import { givesKeys, KeyRing } from "../keyring.js";
import { toPEvent } from "../pevent.js";
import type { ClientPorts } from "../ports.js";
import type { Rules } from "../rules.js";
import { NO_KEY, entitled, epochOfKeyId, type PursuanceState } from "../state.js";
import { stateHash } from "../state-hash.js";
import { runDuties } from "./duties.js";
import { onRequestFrame, watchRequests } from "./requests.js";
import { onLinkFrame } from "./link-frames.js";
import { forwardDuties, watchLinks } from "./links.js";
import { JoinRefusedError, newRvState, onSideFrame, priorJoin, requestAdmission, signJoin, watchRendezvous } from "./rendezvous.js";
export { JoinRefusedError } from "./rendezvous.js";
import type { ClientConfig, ClientCore, ClientOptions, DutyState, RvState } from "./core.js";

export type { ClientConfig, ClientOptions } from "./core.js";
import { rendezvousSecret } from "../rendezvous.js";
import { freshenFor, rotateAfter, type FreshnessPort } from "../key-freshness.js";


/** Where a joiner keeps its rendezvous secret in its key store (never a scope of the pursuance: "group" and role names only). */
const RENDEZVOUS_SCOPE = "rendezvous:";

/** Invites last this long unless the inviter says otherwise. */
export const DEFAULT_INVITE_MS = 7 * 24 * 3600_000;


export interface SyncProgress {
  events: number;
  pending: number;
  gaps: number;
  relaysConnected: number;
}

export interface ClientEvents {
  changed: [PEvent[]];
  progress: [SyncProgress];
  error: [Error];
}

export class PursuanceClient extends EventEmitter<ClientEvents> implements ClientCore {
  readonly me: string;
  readonly ring: KeyRing;
  readonly fold: Fold;
  readonly session: GroupSession;
  readonly group: Group;
  readonly duty: DutyState = { inflight: new Set(), timers: new Map(), carried: new Set() };
  readonly rv: RvState = newRvState();
  private queue: SignedEvent[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private readonly cursorCache: Record<string, number>;
  private closed = false;

  private constructor(
    readonly ports: ClientPorts,
    readonly identity: SignKeyPair,
    readonly config: ClientConfig,
    cursors: Record<string, number>,
    readonly opts: ClientOptions,
  ) {
    super();
    this.me = toHex(identity.publicKey);
    this.ring = new KeyRing(ports.crypto, identity);
    this.fold = new Fold({ crypto: ports.crypto, genesisId: config.pursuanceId || null });
    this.session = new GroupSession({ crypto: ports.crypto, identity, groupId: fromHex(config.groupId), epochs: [], now: ports.now });
    this.cursorCache = cursors;
    const cursorPort: CursorPort = { get: (r) => this.cursorCache[r] ?? 0, set: (r, s) => void (this.cursorCache[r] = s) };
    this.group = new Group({
      session: this.session,
      cursors: cursorPort,
      ...(opts.repairDelayMs !== undefined ? { repairDelayMs: opts.repairDelayMs } : {}),
      ...(opts.repairIntervalMs !== undefined ? { repairIntervalMs: opts.repairIntervalMs } : {}),
    });
    this.group.on("events", (evs) => this.onDelivered(evs));
    this.group.on("relayError", (url, e) => this.ports.log?.(`relay ${url}: ${e.message}`));
    this.group.on("side", (f) => (onSideFrame(this, f), onRequestFrame(this, f), onLinkFrame(this, f)));
  }

  get crypto() {
    return this.ports.crypto;
  }
  get id(): string {
    return this.config.pursuanceId;
  }
  get state(): PursuanceState {
    return this.fold.state;
  }
  get actor(): Actor {
    return { crypto: this.crypto, identity: this.identity, me: this.me, ring: this.ring };
  }
  hash(): string {
    return stateHash(this.crypto, this.fold.state);
  }

  /** Found a new pursuance: genesis, keys, and the first post to every relay. */
  static async create(
    ports: ClientPorts,
    identity: SignKeyPair,
    o: { name: string; founderName: string; relays: string[]; mission?: string; rules?: Rules; groupId?: string } & ClientOptions,
  ): Promise<PursuanceClient> {
    if (o.relays.length === 0) throw new ActionError("a pursuance needs at least one relay");
    // The caller may pick the group id first (its store is keyed by it).
    const groupId = o.groupId ?? toHex(ports.crypto.randomBytes(32));
    const c = new PursuanceClient(ports, identity, { pursuanceId: "", groupId, relays: [...o.relays], name: o.name }, {}, o);
    const body = genesisBody(c.actor, o);
    for (const k of c.ring.all()) await c.learnKey(k.scope, k.key);
    c.applyWriteEpoch();
    await c.start();
    // The pursuance id is the genesis hash, known once it is signed.
    const ev = await c.group.publish(encodeBody(body));
    c.config.pursuanceId = toHex(ev.id);
    c.fold.setGenesisId(c.config.pursuanceId);
    await c.flushed();
    const verdict = c.fold.verdict(c.config.pursuanceId);
    if (verdict !== null) throw new ActionError(`genesis rejected: ${verdict ?? "not folded"}`, c.config.pursuanceId);
    return c;
  }

  /** Re-open a pursuance this member already holds (keys, events and cursors come from the store). */
  static async open(ports: ClientPorts, identity: SignKeyPair, config: ClientConfig, opts: ClientOptions = {}): Promise<PursuanceClient> {
    const c = new PursuanceClient(ports, identity, config, await ports.store.loadCursors(), opts);
    for (const k of await ports.store.loadKeys()) await c.learnKey(k.scope, k.key, false);
    const events: SignedEvent[] = [];
    for (const bytes of await ports.store.loadEvents()) {
      const m = decodeAndVerify(ports.crypto, bytes, false);
      if (m?.kind === "event") events.push(m);
    }
    c.session.restore(events);
    const pevs = events.map(toPEvent);
    c.fold.add(pevs);
    c.takeKeys();
    await c.syncKeys();
    c.applyWriteEpoch();
    // A joiner not let in yet asks again on start, even if its host did not keep `joining` (the bridge).
    const rv = c.ring.scope(RENDEZVOUS_SCOPE)[0];
    const mine = events.find((e) => e.seq === 1 && toHex(e.author) === c.me);
    if (!c.config.joining && rv && mine && !c.state.members.has(c.me)) c.config.joining = { rendezvous: toB64(rv.key), join: toHex(mine.id) };
    return c;
  }

  /**
   * Ask to join with a keyless invite: sign our join (our first event, citing
   * the invite event, in the epoch the token names), keep it, and post it on
   * the invite's rendezvous, where any online member's client carries it into
   * the group and, once it is applied, sends us the group keys. Returns at
   * once; `waitAdmitted` waits for the keys. The config (with `joining`) must
   * be saved by the caller so that a later start asks again.
   */
  static async requestJoin(ports: ClientPorts, identity: SignKeyPair, invite: Invite, myName: string, opts: ClientOptions = {}): Promise<PursuanceClient> {
    if (ports.now() > invite.expires) throw new ActionError(`this invite expired at ${when(invite.expires)}: ask for a new one`, invite.expires);
    const c = new PursuanceClient(ports, identity, { pursuanceId: invite.pursuanceId, groupId: invite.groupId, relays: invite.relays, name: invite.name }, {}, opts);
    // Asking again (an earlier attempt timed out) re-posts the same join: a second seq 1 would be a fork.
    const ev = (await priorJoin(ports, identity, invite)) ?? signJoin(c.actor, ports.now(), invite, myName);
    await ports.store.saveEvents([{ id: toHex(ev.id), bytes: ev.bytes }]);
    // In our log it waits (pending) for the invite event, which we read once a member lets us in.
    c.session.restore([ev]);
    // Kept with our keys, so any host that reopens this store asks again (see open).
    const secret = rendezvousSecret(ports.crypto, invite.inviteSeed);
    await c.learnKey(RENDEZVOUS_SCOPE, secret);
    c.config.joining = { rendezvous: toB64(secret), join: toHex(ev.id) };
    await c.start();
    return c;
  }

  /** Whether we are a member holding the current key of every scope we are entitled to. */
  admitted(): boolean {
    const s = this.state;
    if (!s.members.has(this.me)) return false;
    return entitled(s, this.me).every((sc) => {
      const k = s.keys.get(sc);
      return !k || k.keyId === NO_KEY || this.ring.get(k.keyId) !== undefined;
    });
  }

  /** Wait until a member has let us in (join applied, keys received). False at the timeout; JoinRefusedError when a member says the invite cannot. */
  async waitAdmitted(timeoutMs: number): Promise<boolean> {
    const end = this.ports.now() + timeoutMs;
    while (!this.admitted()) {
      if (this.rv.refused !== undefined) throw new JoinRefusedError(this.rv.refused);
      if (this.ports.now() >= end) return false;
      await this.sleep(100);
      await this.flushed();
    }
    delete this.config.joining;
    return true;
  }

  /** Join with an invite and wait to be let in; throws if no member admits us in time. */
  static async join(ports: ClientPorts, identity: SignKeyPair, invite: Invite, myName: string, opts: ClientOptions & { syncTimeoutMs?: number } = {}): Promise<PursuanceClient> {
    const c = await PursuanceClient.requestJoin(ports, identity, invite, myName, opts);
    if (!(await c.waitAdmitted(opts.syncTimeoutMs ?? 30_000))) {
      c.close();
      throw new ActionError("no member let us in (is any member's client online?); the request stays on the relays", invite.relays);
    }
    await c.sync({ timeoutMs: 5_000, quietMs: 200 });
    return c;
  }

  /** Keys a welcome sealed to us: take those that open and match their ids, then read what they unlock. */
  async takeWelcome(refs: KeyRef[]): Promise<void> {
    let took = 0;
    for (const r of refs)
      if (this.ring.open("group", r.keyId, r.sealed)) {
        this.outOfBand.add(r.keyId);
        took++;
      }
    if (took === 0) return;
    await this.syncKeys();
    const fresh = this.applyWriteEpoch();
    await this.group.watchNewTags(fresh.length > 0 ? fresh : this.session.tags);
  }

  /** Connect to every relay (the log's list once it has one, else the configured ones) and catch up. */
  async start(): Promise<void> {
    this.followRelays();
    for (const url of [...this.config.relays, ...(this.config.extraRelays ?? [])]) if (!this.group.relayUrls.includes(url)) await this.group.addRelay(this.ports.connect(url));
    watchRendezvous(this);
    watchRequests(this);
    watchLinks(this);
    forwardDuties(this);
    if (this.config.joining && !this.state.members.has(this.me)) await requestAdmission(this).catch((e: Error) => this.ports.log?.(`asking to join: ${e.message}`));
  }

  /** Where the pursuance lives: the log's list (relays.set), else this client's configured one. */
  get relays(): string[] {
    return this.state.relays ?? this.config.relays;
  }

  /** Relays this client adds itself (changeRelays): it copies the whole history there; followers only connect. */
  private readonly moveTo = new Set<string>();

  /**
   * Add or remove a relay for every member: a signed relays.set in the log,
   * refused (ActionError, with the reason) when the rules do not allow it.
   * Resolves once the event is published; `copied` settles when the history
   * is on the added relay (never, while it does not answer).
   */
  async changeRelays(change: { add: string } | { remove: string }): Promise<{ relays: string[]; copied: Promise<void> }> {
    const now = this.relays;
    let next: string[];
    if ("add" in change) {
      if (now.includes(change.add)) throw new ActionError(`relay already configured: ${change.add}`, change.add);
      next = [...now, change.add];
    } else {
      if (!now.includes(change.remove)) throw new ActionError(`no such relay: ${change.remove}`, change.remove);
      if (now.length === 1) throw new ActionError("cannot remove the last relay", change.remove);
      next = now.filter((u) => u !== change.remove);
    }
    if ("add" in change) this.moveTo.add(change.add);
    try {
      await this.publish({ t: "relays.set", relays: next });
    } finally {
      if ("add" in change) this.moveTo.delete(change.add);
    }
    const copied = "add" in change ? (this.relayMoves.get(change.add) ?? Promise.resolve()) : Promise.resolve();
    return { relays: next, copied };
  }

  private readonly relayMoves = new Map<string, Promise<void>>();

  /** Relays kept connected whatever the log says, while a move posts its notice there (see relocate.ts). */
  readonly holdRelays = new Set<string>();

  /** Also read and post on `url`, for this client only, until the log names it (a recovery relay learned by hand). */
  async useRelay(url: string): Promise<void> {
    if (!this.relays.includes(url) && !this.config.extraRelays?.includes(url)) this.config.extraRelays = [...(this.config.extraRelays ?? []), url];
    if (!this.group.relayUrls.includes(url)) await this.group.addRelay(this.ports.connect(url));
  }

  /** Connect to the log's relays (and our own extra ones) and leave the others; never waits on a relay (a dead one must not hold anyone). */
  followRelays(): void {
    const want = this.state.relays;
    if (want === null || this.closed) return;
    const extra = (this.config.extraRelays ?? []).filter((u) => !want.includes(u));
    if (extra.length > 0) this.config.extraRelays = extra;
    else delete this.config.extraRelays;
    const keep = new Set([...want, ...extra, ...this.holdRelays]);
    for (const url of want) {
      if (this.group.relayUrls.includes(url)) continue;
      const move = this.group.addRelay(this.ports.connect(url), { moveHistory: this.moveTo.has(url) });
      move.catch((e: Error) => this.ports.log?.(`relay ${url}: ${e.message}`));
      this.relayMoves.set(url, move);
    }
    for (const url of this.group.relayUrls) if (!keep.has(url)) this.group.removeRelay(url);
    if (want.join("\n") !== this.config.relays.join("\n")) this.config.relays.splice(0, this.config.relays.length, ...want);
  }

  async addRelay(url: string, moveHistory = true): Promise<void> {
    if (this.config.relays.includes(url)) throw new ActionError(`relay already configured: ${url}`, url);
    this.config.relays.push(url);
    await this.group.addRelay(this.ports.connect(url), { moveHistory });
  }

  removeRelay(url: string): void {
    const i = this.config.relays.indexOf(url);
    if (i < 0) throw new ActionError(`no such relay: ${url}`, url);
    if (this.config.relays.length === 1) throw new ActionError("cannot remove the last relay", url);
    this.config.relays.splice(i, 1);
    this.group.removeRelay(url);
  }

  /**
   * Catch up from every relay, tell peers our heads and ask for gaps; resolves
   * when nothing has been missing or arriving for `quietMs`, or at the timeout.
   */
  async sync(o: { timeoutMs?: number; quietMs?: number } = {}): Promise<SyncProgress> {
    const deadline = this.ports.now() + (o.timeoutMs ?? 15_000);
    const quiet = o.quietMs ?? 400;
    await this.waitConnected(Math.min(o.timeoutMs ?? 15_000, 10_000));
    await this.group.catchUp();
    // With every relay down a post waits for the relay's whole timeout: the heads go out when one answers.
    const heads = this.group.announceHeads().catch(() => {});
    if (this.progress().relaysConnected > 0) await Promise.all([heads, this.sendUnsent()]);
    let last = -1;
    let stableSince = this.ports.now();
    for (;;) {
      await this.flushed();
      const p = this.progress();
      this.emit("progress", p);
      if (p.events !== last || p.pending > 0 || p.gaps > 0) {
        if (p.gaps > 0) await this.group.requestRepair().catch(() => 0);
        last = p.events;
        stableSince = this.ports.now();
      }
      if (this.ports.now() - stableSince >= quiet || this.ports.now() >= deadline) {
        // Duties can fall due with no new event (the periodic rotation policy): look once more.
        this.tick();
        return p;
      }
      await this.sleep(100);
    }
  }

  progress(): SyncProgress {
    const st = this.group.status();
    return {
      events: st.events,
      pending: st.pending,
      gaps: st.gaps.ids.length + st.gaps.ranges.length,
      relaysConnected: st.relays.filter((r) => r.connected).length,
    };
  }

  /**
   * Publish a body as our next event. A body the rules would reject is refused
   * here, before anything reaches the log, with the reason every client would give.
   */
  async publish(body: Body | ((s: PursuanceState) => Body), epoch?: number, opts: { via?: string } = {}): Promise<{ id: string }> {
    // A builder is rebuilt after any rotation the write needs, so content is sealed under fresh keys.
    const build = typeof body === "function" ? body : () => body;
    const fresh = this.freshness();
    await freshenFor(fresh, build(this.state));
    const b = build(this.state);
    const done = await this.publishNow(b, epoch, opts);
    await rotateAfter(fresh, b);
    return done;
  }

  private freshness(): FreshnessPort {
    const c = this;
    return {
      me: c.me,
      get state() {
        return c.state;
      },
      actor: c.actor,
      inflight: c.duty.inflight,
      publishNow: (b) => c.publishNow(b),
      sleep: (ms) => c.sleep(ms),
    };
  }

  /** Why every client would reject this body from us now, or null if it would be applied. */
  refusal(body: Body): string | null {
    const probe: PEvent = { id: "f".repeat(64), author: this.me, seq: 0, ts: this.ports.now(), parents: [], body };
    return this.fold.check(probe);
  }

  /** Publish without the freshness step (rotations themselves, and what the step publishes). */
  async publishNow(body: Body, epoch?: number, opts: { via?: string } = {}): Promise<{ id: string }> {
    // Parse exactly as every receiver will: a body they would find malformed never leaves.
    parseBody(encodeBody(body));
    const reason = this.refusal(body);
    if (reason) throw new ActionError(reason, body.t);
    // `via` rides along in the signed bytes (receivers' parsers ignore it): the log itself then
    // records that this command was done, which survives any crash of the host.
    const bytes = opts.via ? encodeBody({ ...body, via: opts.via } as unknown as Body) : encodeBody(body);
    const ev = this.opts.keepUnsent ? await this.publishKept(bytes, epoch) : await this.group.publish(bytes, epoch);
    if (opts.via) this.vias?.add(opts.via);
    await this.flushed();
    const verdict = this.fold.verdict(toHex(ev.id));
    if (verdict) throw new ActionError(`rejected after publishing: ${verdict}`, toHex(ev.id));
    return { id: toHex(ev.id) };
  }

  private async publishKept(bytes: Uint8Array, epoch: number | undefined): Promise<SignedEvent> {
    const { event, sent } = await this.group.publishKept(bytes, epoch);
    if (!sent) this.config.unsent = [...(this.config.unsent ?? []), toHex(event.id)];
    return event;
  }

  /** Send again what no relay took when written; what some relay takes now leaves the queue. */
  async sendUnsent(): Promise<void> {
    for (const id of [...(this.config.unsent ?? [])]) {
      const ev = this.session.log.get(id);
      // Not in the log (a store lost it): nothing to send, and nothing the queue can do.
      const sent = ev ? await this.group.resend(ev).then(() => true, () => false) : true;
      if (!sent) return;
      this.config.unsent = this.config.unsent?.filter((x) => x !== id);
    }
    if (this.config.unsent?.length === 0) delete this.config.unsent;
  }

  /**
   * Publish a keyless invite for `role` and return the token's contents: where
   * the group lives, the invite seed, the invite event to cite, the epoch to
   * sign the join in, and the expiry. No key: members share keys after the join.
   */
  async createInvite(role: string, o: { expiresInMs?: number } = {}): Promise<Invite> {
    const ms = o.expiresInMs ?? DEFAULT_INVITE_MS;
    if (!Number.isSafeInteger(ms) || ms <= 0) throw new ActionError("an invite's lifetime must be a positive number of ms", ms);
    const expires = this.ports.now() + ms;
    const { body, secret } = inviteBody(this.actor, this.state, role, { expires });
    const { id } = await this.publish(body);
    return {
      v: 2,
      name: this.state.name,
      pursuanceId: this.id,
      groupId: this.config.groupId,
      relays: [...this.config.relays],
      role,
      inviteSeed: secret.seed,
      inviteEvent: id,
      epoch: this.session.currentEpoch,
      expires,
    };
  }

  private vias: Set<string> | null = null;

  /** Whether one of our own events carries this `via` tag (a command already done before a crash). */
  hasVia(via: string): boolean {
    if (!this.vias) {
      this.vias = new Set();
      for (const e of this.session.log.events()) {
        if (toHex(e.author) !== this.me) continue;
        const m = /"via":"([^"\\]*)"/.exec(new TextDecoder().decode(e.body));
        if (m) this.vias.add(m[1]!);
      }
    }
    return this.vias.has(via);
  }

  /** Wait until every delivered event has been stored and folded. */
  async flushed(): Promise<void> {
    let f: Promise<void>;
    do {
      f = this.flushing;
      await f;
    } while (f !== this.flushing || this.queue.length > 0);
  }

  /** Waiting goes through the timer port when one is given (tests that drive time). */
  sleep(ms: number): Promise<void> {
    return new Promise((r) => (this.ports.setTimer ? this.ports.setTimer(r, ms) : setTimeout(r, ms)));
  }

  /** Do whatever key duties are due now (long-running hosts call this now and then). */
  tick(): void {
    if (!this.closed) runDuties(this);
  }

  close(): void {
    this.closed = true;
    for (const t of this.duty.timers.values()) t.cancel();
    this.group.close();
  }

  private async waitConnected(ms: number): Promise<void> {
    const end = this.ports.now() + ms;
    while (this.ports.now() < end && this.progress().relaysConnected === 0) await this.sleep(50);
  }

  private onDelivered(evs: SignedEvent[]) {
    this.queue.push(...evs);
    this.flushing = this.flushing.then(() => this.drain()).catch((e: Error) => void this.emit("error", e));
  }

  private async drain(): Promise<void> {
    if (this.queue.length === 0) return;
    const evs = this.queue;
    this.queue = [];
    await this.ports.store.saveEvents(evs.map((e) => ({ id: toHex(e.id), bytes: e.bytes })));
    await this.process(evs);
  }

  private async process(evs: SignedEvent[]): Promise<void> {
    const pevs = evs.map(toPEvent);
    this.fold.add(pevs);
    this.takeKeys();
    await this.syncKeys();
    this.followRelays();
    const fresh = this.applyWriteEpoch();
    if (fresh.length > 0) await this.group.watchNewTags(fresh);
    if (this.session.log.pendingCount === 0) for (const [r, s] of Object.entries(this.cursorCache)) await this.ports.store.saveCursor(r, s);
    if (this.config.joining && this.admitted()) delete this.config.joining;
    this.emit("changed", pevs);
    if (!this.closed) {
      watchRendezvous(this);
      watchRequests(this);
      watchLinks(this);
      forwardDuties(this);
      runDuties(this);
    }
  }

  private readonly keptKeys = new Set<string>();
  /** Applied events whose keys we took (or tried to); an event the fold rejects again leaves it. */
  private readonly keysTaken = new Set<string>();
  /** Keys handed to us this session outside the log (generated, an invite, a rendezvous, an escrow). */
  private readonly outOfBand = new Set<string>();
  /** Per event, the ids of the keys it seals to us (a pure function of its body). */
  private readonly sealedToUs = new Map<string, string[]>();

  /**
   * Take keys sealed to us only from events the fold applied, then file every
   * key we hold under the scope the state names it in: a rejected event (a
   * share of a key it may not share) can neither give us a key nor label one.
   * A rotation's key is taken whatever its verdict, for reading only: one that
   * lost a race (or whose author was removed concurrently) was current for
   * whoever folded it first, who may have written in its epoch; it becomes
   * current here only if the state names it so.
   * The keys we use are a function of the applied set, not of arrival order: a
   * key some event seals to us, that no applied event (nor any rotation) seals
   * to us and that we did not get outside the log, is dropped, so a grant that
   * was applied for a moment (before its author's concurrent removal arrived)
   * leaves nothing behind; it comes back if a refold applies the event again.
   */
  private takeKeys(): void {
    const sealed = new Set<string>();
    const authorised = new Set<string>();
    for (const a of this.fold.applied) {
      const body = a.event.body;
      if (!body) continue;
      let ids = this.sealedToUs.get(a.event.id);
      if (ids === undefined) this.sealedToUs.set(a.event.id, (ids = this.ring.sealedIds(body, a.event.author)));
      const authorises = givesKeys(body, a.rejected);
      for (const id of ids) {
        sealed.add(id);
        if (authorises) authorised.add(id);
      }
      if (!authorises) {
        this.keysTaken.delete(a.event.id);
        continue;
      }
      if (this.keysTaken.has(a.event.id)) continue;
      this.keysTaken.add(a.event.id);
      this.ring.ingest(body);
    }
    for (const id of sealed) if (!authorised.has(id) && !this.outOfBand.has(id)) this.ring.drop(id);
    for (const [scope, k] of this.state.keys) for (const id of k.history) this.ring.label(id, scope);
  }

  /** Keep a key: into the ring, and later (syncKeys) into the store and, for group keys, the session. */
  private async learnKey(scope: string, key: Uint8Array, persist = true): Promise<void> {
    const h = this.ring.add(scope, key);
    // A stored key may have come from an event: the log, not the store, says whether it still stands.
    if (!persist) this.keptKeys.add(h.keyId);
    else this.outOfBand.add(h.keyId);
    await this.syncKeys();
  }

  /** Every key in the ring is stored before use, and every group key is an epoch we can read. */
  async syncKeys(): Promise<void> {
    for (const h of this.ring.all()) {
      if (!this.keptKeys.has(h.keyId)) {
        await this.ports.store.saveKey(h.scope, h.key);
        this.keptKeys.add(h.keyId);
      }
      if (h.scope !== "group") continue;
      const epoch = epochOfKeyId(h.keyId);
      if (this.session.hasEpoch(epoch)) continue;
      try {
        this.session.addEpoch(epoch, h.key);
      } catch (e) {
        // Two keys whose ids share 32 bits: astronomically unlikely, and the second is useless to us.
        this.ports.log?.(`ignoring group key ${h.keyId}: ${(e as Error).message}`);
      }
    }
  }

  /** Tags the relays were told about; null until the first connection subscribes to all we know. */
  private knownTags: Set<string> | null = null;

  /** Write in the epoch of the group key the state names current (when we hold it). Returns tags new since the last call. */
  applyWriteEpoch(): string[] {
    const cur = this.state.keys.get("group");
    if (cur && this.ring.get(cur.keyId) && this.session.hasEpoch(epochOfKeyId(cur.keyId))) this.session.setWriteEpoch(epochOfKeyId(cur.keyId));
    if (this.knownTags === null) {
      this.knownTags = new Set(this.session.tags);
      return [];
    }
    const fresh = this.session.tags.filter((t) => !this.knownTags!.has(t));
    for (const t of fresh) this.knownTags.add(t);
    return fresh;
  }
}
