// PursuanceClient: one member's live pursuance. It composes the group session
// (protocol), the fold (state), the key ring and a store, and reaches the
// world only through the ports it is given. Every delivered event is stored
// before it is folded, so nothing accepted is lost on a crash.
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
import { KeyRing } from "../keyring.js";
import { toPEvent } from "../pevent.js";
import type { ClientPorts } from "../ports.js";
import type { Rules } from "../rules.js";
import { NO_KEY, entitled, type PursuanceState } from "../state.js";
import { stateHash } from "../state-hash.js";
import { runDuties } from "./duties.js";
import { KeyCustody } from "./key-custody.js";
import { copyFilesAfter } from "./file-transfer.js";
import { RelaySet } from "./relay-set.js";
import { Listeners } from "./listeners.js";
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

export class PursuanceClient extends Listeners<ClientEvents> implements ClientCore {
  readonly me: string;
  readonly ring: KeyRing;
  readonly fold: Fold;
  readonly session: GroupSession;
  readonly group: Group;
  readonly duty: DutyState = { inflight: new Set(), timers: new Map(), carried: new Set() };
  readonly rv: RvState = newRvState();
  readonly keys: KeyCustody;
  private readonly relaySet: RelaySet;
  private queue: SignedEvent[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private readonly cursorCache: Record<string, number>;
  private closed = false;
  /** Why the last delivered events could not be stored; they wait in the queue. */
  private storeFailure: Error | null = null;
  /** Why keys could not be settled (settleKeys); retried, and cursors wait. */
  private keyFailure: Error | null = null;
  /** Tags of epochs we opened whose watch has not succeeded yet. */
  private readonly unwatched = new Set<string>();

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
    this.keys = new KeyCustody({ ring: this.ring, session: this.session, store: ports.store, ...(ports.log ? { log: ports.log } : {}) });
    this.cursorCache = cursors;
    const cursorPort: CursorPort = { get: (r) => this.cursorCache[r] ?? 0, set: (r, s) => void (this.cursorCache[r] = s) };
    this.group = new Group({
      session: this.session,
      cursors: cursorPort,
      ...(opts.repairDelayMs !== undefined ? { repairDelayMs: opts.repairDelayMs } : {}),
      ...(opts.repairIntervalMs !== undefined ? { repairIntervalMs: opts.repairIntervalMs } : {}),
    });
    this.relaySet = new RelaySet({ group: this.group, config, connect: ports.connect, ...(ports.log ? { log: ports.log } : {}), state: () => this.fold.state });
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
    return c;
  }

  /** Re-open a pursuance this member already holds (keys, events and cursors come from the store). */
  static async open(ports: ClientPorts, identity: SignKeyPair, config: ClientConfig, opts: ClientOptions = {}): Promise<PursuanceClient> {
    const c = new PursuanceClient(ports, identity, config, await ports.store.loadCursors(), opts);
    for (const k of await ports.store.loadKeys()) await c.keys.learn(k.scope, k.key, false);
    const events: SignedEvent[] = [];
    for (const bytes of await ports.store.loadEvents()) {
      const m = decodeAndVerify(ports.crypto, bytes, false);
      if (m?.kind === "event") events.push(m);
    }
    c.session.restore(events);
    const pevs = events.map(toPEvent);
    c.fold.add(pevs);
    c.keys.take(c.fold.applied, c.state);
    await c.keys.sync();
    c.keys.applyWriteEpoch(c.state);
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
    await c.keys.learn(RENDEZVOUS_SCOPE, secret);
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
        this.keys.tookOutOfBand(r.keyId);
        took++;
      }
    if (took === 0) return;
    await this.keys.sync();
    const fresh = this.keys.applyWriteEpoch(this.state);
    await this.group.watchNewTags(fresh.length > 0 ? fresh : this.session.tags);
  }

  /** Connect to every relay (the log's list once it has one, else the configured ones) and catch up. */
  async start(): Promise<void> {
    this.followRelays();
    await this.relaySet.connectConfigured();
    watchRendezvous(this);
    watchRequests(this);
    watchLinks(this);
    forwardDuties(this);
    if (this.config.joining && !this.state.members.has(this.me)) await requestAdmission(this).catch((e: Error) => this.ports.log?.(`asking to join: ${e.message}`));
  }

  /** Where the pursuance lives: the log's list (relays.set), else this client's configured one. */
  get relays(): string[] {
    return this.relaySet.relays;
  }

  /**
   * Add or remove a relay for every member: a signed relays.set in the log,
   * refused (ActionError, with the reason) when the rules do not allow it.
   * Resolves once the event is published; `copied` settles when the history
   * is on the added relay (never, while it does not answer).
   */
  async changeRelays(change: { add: string } | { remove: string }): Promise<{ relays: string[]; copied: Promise<void> }> {
    const next = this.relaySet.next(change);
    const r = await this.relaySet.moving("add" in change ? change.add : null, async () => {
      await this.publish({ t: "relays.set", relays: next });
      return next;
    });
    return "add" in change ? { ...r, copied: copyFilesAfter(this, r.copied, change.add) } : r;
  }

  /** Relays kept connected whatever the log says, while a move posts its notice there (see relocate.ts). */
  get holdRelays(): Set<string> {
    return this.relaySet.held;
  }

  /** Also read and post on `url`, for this client only, until the log names it (a recovery relay learned by hand). */
  useRelay(url: string): Promise<void> {
    return this.relaySet.use(url);
  }

  /** Connect to the log's relays (and our own extra ones) and leave the others; never waits on a relay (a dead one must not hold anyone). */
  followRelays(): void {
    if (!this.closed) this.relaySet.follow();
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
        // Everything delivered is stored now: the cursors may move past it (a fetch's last one too).
        if (this.queue.length === 0) await this.saveCursors({ ...this.cursorCache });
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
    if (!sent) {
      this.config.unsent = [...(this.config.unsent ?? []), toHex(event.id)];
      this.opts.onConfigChanged?.(this.config);
    }
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
      if (this.config.unsent?.length === 0) delete this.config.unsent;
      this.opts.onConfigChanged?.(this.config);
    }
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

  /** Wait until every delivered event has been stored and folded; throws the store's error while it cannot store them. */
  async flushed(): Promise<void> {
    let f: Promise<void>;
    let retried = false;
    do {
      f = this.flushing;
      await f;
      const failure = this.storeFailure ?? this.keyFailure;
      if (f === this.flushing && failure) {
        if (retried) throw failure;
        retried = true;
        this.onDelivered([]); // the store may answer again by now
      }
    } while (f !== this.flushing || this.queue.length > 0);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((r) => void this.ports.setTimer(r, ms));
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
    // The chain never stays rejected: whatever failed is reported and the next delivery drains again.
    this.flushing = this.flushing.then(() => this.drain()).catch((e: unknown) => this.failed(e));
  }

  /** A host that does not listen for errors still hears of them, in its log; a host whose log throws too is not heard. */
  private failed(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    try {
      if (!this.emit("error", err)) this.ports.log?.(`pursuance ${this.id.slice(0, 12)}: ${err.message}`);
    } catch {
      // Nothing left to tell; the client goes on.
    }
  }

  protected override listenerFailed(e: unknown): void {
    try {
      this.ports.log?.(`a listener of the pursuance client failed: ${e instanceof Error ? e.message : String(e)}`);
    } catch {
      // As above.
    }
  }

  private retrySoon(): void {
    if (!this.closed) this.ports.setTimer(() => this.onDelivered([]), 1_000, true);
  }

  private async drain(): Promise<void> {
    // Keys that could not be settled are retried even with nothing new to store.
    if (this.queue.length === 0) return this.keyFailure ? this.settleKeys() : undefined;
    const evs = this.queue;
    this.queue = [];
    // Every frame at or below these cursors has had its event queued (ingest is synchronous),
    // so once this batch is stored the cursors may move there, and no further.
    const cursors = { ...this.cursorCache };
    try {
      await this.ports.store.saveEvents(evs.map((e) => ({ id: toHex(e.id), bytes: e.bytes })));
      this.storeFailure = null;
    } catch (e) {
      this.storeFailure = e instanceof Error ? e : new Error(String(e));
      // Not stored, so not folded: keep them first in line for the next try
      // (a later delivery, or the retry below), never dropped.
      this.queue = [...evs, ...this.queue];
      this.retrySoon();
      throw e;
    }
    await this.process(evs, cursors);
  }

  /**
   * Keys stored, epochs open, the write epoch set and new tags watched. Until
   * it all holds (a key store that failed), it is retried and the cursors do
   * not move: frames in an epoch we could not open yet are read again.
   */
  private async settleKeys(): Promise<void> {
    try {
      await this.keys.sync();
      for (const t of this.keys.applyWriteEpoch(this.state)) this.unwatched.add(t);
      if (this.unwatched.size > 0) {
        const tags = [...this.unwatched];
        await this.group.watchNewTags(tags);
        for (const t of tags) this.unwatched.delete(t);
      }
      this.keyFailure = null;
    } catch (e) {
      this.keyFailure = e instanceof Error ? e : new Error(String(e));
      this.retrySoon();
      throw e;
    }
  }

  /** Cursors are a shortcut, not data: one that cannot be saved means reading a little again, never a stop. */
  private async saveCursors(cursors: Record<string, number>): Promise<void> {
    if (this.session.log.pendingCount > 0 || this.keyFailure || this.storeFailure) return;
    try {
      for (const [r, s] of Object.entries(cursors)) await this.ports.store.saveCursor(r, s);
    } catch (e) {
      this.failed(e);
    }
  }

  private async process(evs: SignedEvent[], cursors: Record<string, number>): Promise<void> {
    const pevs = evs.map(toPEvent);
    this.fold.add(pevs);
    this.keys.take(this.fold.applied, this.state);
    let keysFailed: unknown = null;
    await this.settleKeys().catch((e: unknown) => (keysFailed = e));
    this.followRelays();
    await this.saveCursors(cursors);
    if (this.config.joining && this.admitted()) delete this.config.joining;
    this.emit("changed", pevs);
    if (!this.closed) {
      watchRendezvous(this);
      watchRequests(this);
      watchLinks(this);
      forwardDuties(this);
      runDuties(this);
    }
    if (keysFailed !== null) throw keysFailed;
  }
}
