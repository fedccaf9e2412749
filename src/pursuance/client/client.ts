// PursuanceClient: one member's live pursuance. It composes the group session
// (protocol), the fold (state), the key ring and a store, and reaches the
// world only through the ports it is given. Every delivered event is stored
// before it is folded, so nothing accepted is lost on a crash.
import { fromHex, toHex } from "../../cwtch/bytes.js";
import type { SignKeyPair } from "../../cwtch/crypto.js";
import { Group, type CursorPort } from "../../cwtch/group.js";
import { GroupSession } from "../../cwtch/group-session.js";
import type { PEvent } from "../apply-common.js";
import { ActionError, inviteBody, type Actor } from "../actions.js";
import type { Body, KeyRef } from "../events.js";
import { Fold } from "../fold.js";
import type { Invite } from "../invite.js";
import { KeyRing } from "../keyring.js";
import type { ClientPorts } from "../ports.js";
import { NO_KEY, entitled, type PursuanceState } from "../state.js";
import { stateHash } from "../state-hash.js";
import { runDuties } from "./duties.js";
import { askToJoin, checkInvite, found, newGroupId, reopen, type FoundOptions } from "./opening.js";
import { Inbox } from "./inbox.js";
import { Outbox } from "./outbox.js";
import { catchUp, progressOf, type SyncOptions, type SyncProgress } from "./sync.js";
import { KeyCustody } from "./key-custody.js";
import { copyFilesAfter } from "./file-transfer.js";
import { RelaySet } from "./relay-set.js";
import { Listeners } from "./listeners.js";
import { onRequestFrame, watchRequests } from "./requests.js";
import { onLinkFrame } from "./link-frames.js";
import { forwardDuties, watchLinks } from "./links.js";
import { JoinRefusedError, newRvState, onSideFrame, requestAdmission, watchRendezvous } from "./rendezvous.js";
export { JoinRefusedError } from "./rendezvous.js";
import type { ClientConfig, ClientCore, ClientOptions, DutyState, RvState } from "./core.js";

export type { ClientConfig, ClientOptions } from "./core.js";
import { freshenFor, rotateAfter, type FreshnessPort } from "../key-freshness.js";


/** Invites last this long unless the inviter says otherwise. */
export const DEFAULT_INVITE_MS = 7 * 24 * 3600_000;


export type { SyncProgress } from "./sync.js";

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
  private readonly inbox: Inbox;
  private readonly outbox: Outbox;
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
    this.inbox = new Inbox({
      store: ports.store,
      keys: this.keys,
      session: this.session,
      group: this.group,
      fold: this.fold,
      setTimer: ports.setTimer,
      cursors: this.cursorCache,
      closed: () => this.closed,
      failed: (e) => this.failed(e),
      followRelays: () => this.followRelays(),
      folded: (pevs) => this.folded(pevs),
    });
    this.outbox = new Outbox({ store: ports.store, me: this.me, fold: this.fold, group: this.group, session: this.session, config, opts, now: ports.now, flushed: () => this.flushed() });
    this.group.on("events", (evs) => this.inbox.deliver(evs));
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
  static async create(ports: ClientPorts, identity: SignKeyPair, o: FoundOptions & ClientOptions): Promise<PursuanceClient> {
    const c = new PursuanceClient(ports, identity, { pursuanceId: "", groupId: newGroupId(ports, o), relays: [...o.relays], name: o.name }, {}, o);
    await found(c, o);
    return c;
  }

  /** Re-open a pursuance this member already holds (keys, events and cursors come from the store). */
  static async open(ports: ClientPorts, identity: SignKeyPair, config: ClientConfig, opts: ClientOptions = {}): Promise<PursuanceClient> {
    const c = new PursuanceClient(ports, identity, config, await ports.store.loadCursors(), opts);
    await reopen(c);
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
    checkInvite(ports, invite);
    const c = new PursuanceClient(ports, identity, { pursuanceId: invite.pursuanceId, groupId: invite.groupId, relays: invite.relays, name: invite.name }, {}, opts);
    await askToJoin(c, identity, invite, myName);
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
  sync(o: SyncOptions = {}): Promise<SyncProgress> {
    return catchUp(
      {
        ports: this.ports,
        group: this.group,
        flushed: () => this.flushed(),
        sendUnsent: () => this.sendUnsent(),
        sleep: (ms) => this.sleep(ms),
        report: (p) => void this.emit("progress", p),
        // Once everything delivered is stored, the cursors may move past it (a fetch's last one too).
        settled: async () => (this.inbox.empty ? this.inbox.saveCursors() : undefined),
        tick: () => this.tick(),
      },
      o,
    );
  }

  progress(): SyncProgress {
    return progressOf(this.group);
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
    return this.outbox.refusal(body);
  }

  /** Publish without the freshness step (rotations themselves, and what the step publishes). */
  publishNow(body: Body, epoch?: number, opts: { via?: string } = {}): Promise<{ id: string }> {
    return this.outbox.publish(body, epoch, opts);
  }

  /** Send again what no relay took when written; what some relay takes now leaves the queue. */
  sendUnsent(): Promise<void> {
    return this.outbox.sendUnsent();
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

  /** Whether one of our own events carries this `via` tag (a command already done before a crash). */
  hasVia(via: string): boolean {
    return this.outbox.hasVia(via);
  }

  /** Wait until every delivered event has been stored and folded; throws the store's error while it cannot store them. */
  flushed(): Promise<void> {
    return this.inbox.flushed();
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

  /** A folded batch: the joiner's mark, the host's listeners, and the duties it may bring. */
  private folded(pevs: PEvent[]): void {
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
}
