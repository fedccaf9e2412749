// The bridge: an appservice that hosts pursuance clients for Matrix users
// (custodial identities) and mirrors each bound pursuance into its room. It
// holds no truth of its own: the relays do. Its database holds bindings,
// sealed identities, client copies of the logs and what was already posted.
import { toHex } from "../cwtch/bytes.js";
import { loadCrypto, type Crypto, type SignKeyPair } from "../cwtch/crypto.js";
import { RelayClient } from "../cwtch/relay-client.js";
import { PursuanceClient } from "../pursuance/client/client.js";
import type { ClientPorts } from "../pursuance/ports.js";
import { bridgeStore } from "../store/bridge-store.js";
import { clientStore } from "../store/client-store.js";
import { openDatabase, type Database } from "../store/db.js";
import { AppserviceHttp, type MatrixEvent } from "./appservice-http.js";
import { withDeadlines } from "./deadline.js";
import { RoomQueues } from "./room-queue.js";
import { HostedPursuance } from "./hosted-pursuance.js";
import { IdentityVault } from "./identity-vault.js";
import { handleInbound, resumeInbound } from "./inbound.js";
import { InboundStats, type InboundHost } from "./inbound-port.js";
import { pingHomeserver, renderMetrics } from "./bridge-metrics.js";
import { directRoomOf, refusesPlainRoom, secureRoom } from "./room-guard.js";
import { BridgeMatrix } from "./matrix-client.js";
import { withSealedInbound } from "./sealed-store.js";
import { BridgeE2ee } from "./e2ee/e2ee.js";
import { e2eeDeviceRows } from "../store/e2ee-store.js";
import type { BridgeStorePort, MatrixPort } from "./ports.js";
import { publicAnnouncements } from "../pursuance/announcement-proof.js";
import { announceStore } from "../store/announce-store.js";
import { AnnounceMirror } from "./announce/mirror.js";
import { AssignmentNotices } from "./assignment-notices.js";
import { PublicRoomsMatrix } from "./announce/public-rooms.js";
import { requestFromMatrix, resumeJoinRequests, type RequestHost } from "./join-requests.js";
import { html } from "../bot/reply.js";
import { DEFAULT_ENCRYPTION, DEFAULT_LIMITS, EncryptionRequiredError, type BridgeLimits, type BridgeSettings, type EncryptionSettings } from "./settings.js";
export type { BridgeLimits, BridgeSettings, EncryptionSettings } from "./settings.js";
import type { RequestAddress } from "../pursuance/join-request.js";
import { systemTimer } from "../cwtch/timer.js";

export class Bridge implements InboundHost {
  /** Every bound room → its pursuance (several rooms may share one). */
  readonly rooms = new Map<string, HostedPursuance>();
  /** Group id → the pursuance as hosted here: one per pursuance, one identity per person in it. */
  readonly pursuances = new Map<string, HostedPursuance>();
  crypto!: Crypto;
  db!: Database;
  store!: BridgeStorePort;
  matrix!: MatrixPort;
  vault!: IdentityVault;
  /** null when encryption.allow is false. */
  e2ee: BridgeE2ee | null = null;
  readonly encryption: EncryptionSettings;
  private http!: AppserviceHttp;
  private isReady = false;
  /** Set by stop(): events waiting for a room key are not queued again (the next run resumes them). */
  stopping = false;
  private ticker: NodeJS.Timeout | null = null;
  readonly limits: BridgeLimits;
  private queues!: RoomQueues;
  /** Public announcement rooms: their own queues, apart from the rooms' (announce/mirror.ts). */
  announce!: AnnounceMirror;
  private notices!: AssignmentNotices;
  /** Failed tries per inbound event (in this run), and how many were given up. */
  readonly inbound = new InboundStats();
  /** Inbound handling waits for the bound rooms to be loaded (the HTTP side listens before). */
  private loaded!: Promise<void>;
  private markLoaded!: () => void;
  port = 0;

  constructor(readonly s: BridgeSettings) {
    this.limits = { ...DEFAULT_LIMITS, ...s.limits };
    this.encryption = { ...DEFAULT_ENCRYPTION, ...s.encryption };
  }

  async start(): Promise<void> {
    this.loaded = new Promise((r) => (this.markLoaded = r));
    this.queues = new RoomQueues({
      // A backstop: each step bounds its own work (and then still answers), so allow it that.
      stepTimeoutMs: 2 * this.limits.stepTimeoutMs + this.limits.ioTimeoutMs,
      stuckAfterMs: this.limits.stuckAfterMs,
      onError: (room, err) => this.s.log("error", "inbound handling failed", { room, error: err.message }),
    });
    this.crypto = await loadCrypto();
    this.db = await openDatabase(this.s.database);
    this.vault = new IdentityVault(this.crypto, this.s.identityKey);
    this.store = withDeadlines(withSealedInbound(bridgeStore(this.db.db), this.vault), this.limits.ioTimeoutMs, "database");
    const botUserId = `@${this.s.botLocalpart}:${this.s.domain}`;
    if (this.encryption.allow) {
      this.e2ee = new BridgeE2ee({
        homeserverUrl: this.s.homeserverUrl,
        asToken: this.s.asToken,
        botUserId,
        rows: withDeadlines(e2eeDeviceRows(this.db.db), this.limits.ioTimeoutMs, "database"),
        vault: this.vault,
        ioTimeoutMs: this.limits.ioTimeoutMs,
        keyWaitMs: this.encryption.keyWaitMs,
        rotation: this.encryption.rotation,
        opened: this.store,
        log: this.s.log,
      });
      // Before the homeserver hears from us: a user's client must find the bot's device keys before it writes.
      try {
        await this.e2ee.start();
      } catch (e) {
        // Nothing else was started yet: let go of the database so a corrected start can open it.
        await this.e2ee.stop().catch(() => {});
        await this.db.close().catch(() => {});
        throw e;
      }
    }
    const e2ee = this.e2ee;
    this.matrix = withDeadlines(
      new BridgeMatrix({
        homeserverUrl: this.s.homeserverUrl,
        domain: this.s.domain,
        asToken: this.s.asToken,
        botLocalpart: this.s.botLocalpart,
        encryptNewRooms: this.encryption.allow && this.encryption.default,
        ...(e2ee ? { seal: (room, user, type, content, o) => this.sealFor(e2ee, room, user, type, content, o) } : {}),
      }),
      this.limits.ioTimeoutMs,
      "homeserver",
    );
    this.notices = new AssignmentNotices({ store: this.store, matrix: this.matrix, directRoom: (u) => this.directRoom(u), log: this.s.log, now: () => Date.now() });
    this.announce = new AnnounceMirror({
      store: withDeadlines(announceStore(this.db.db), this.limits.ioTimeoutMs, "database"),
      rooms: withDeadlines(
        new PublicRoomsMatrix({ homeserverUrl: this.s.homeserverUrl, asToken: this.s.asToken, botUserId: this.matrix.botUserId, domain: this.s.domain, log: this.s.log }),
        this.limits.ioTimeoutMs,
        "homeserver",
      ),
      configured: (pid) => this.s.announce?.rooms?.[pid] ?? [],
      ...(this.s.announce?.retryBaseMs ? { retryBaseMs: this.s.announce.retryBaseMs } : {}),
      log: this.s.log,
    });
    this.http = new AppserviceHttp({
      bindAddress: this.s.bindAddress,
      port: this.s.port,
      hsToken: this.s.hsToken,
      isOurUser: (u) => u === this.matrix.botUserId || u.startsWith(`@${this.s.userPrefix}`),
      onEvent: (e) => this.onEvent(e),
      onDevices: e2ee ? (t) => e2ee.receive(t) : null,
      ready: () => this.isReady && this.queues.stuck().length === 0,
      metrics: this.s.metricsEnabled === false ? null : async () => this.metrics(),
      feed: this.s.announce?.feeds === false ? null : (pid, self) => this.announce.feed(pid, self),
      log: this.s.log,
    });
    // Listen first: the homeserver queues transactions until we answer, and we answer only when ready.
    this.port = await this.http.listen();
    await pingHomeserver(this.s, this.limits.ioTimeoutMs);
    for (const b of await this.store.rooms()) {
      try {
        await this.loadRoom(b.roomId);
      } catch (e) {
        this.s.log("error", "cannot load a bound room", { room: b.roomId, error: (e as Error).message });
      }
    }
    this.markLoaded();
    // Duties that fall due with time alone (periodic key rotation) need a nudge now and then.
    this.ticker = setInterval(() => {
      for (const r of this.pursuances.values()) {
        for (const c of r.clients.values()) c.tick();
        r.noticesDue();
      }
    }, 60_000);
    this.ticker.unref();
    const resumed = await resumeInbound(this);
    const waiting = await resumeJoinRequests(this.requestHost(), await this.store.joinRequests());
    this.isReady = true;
    this.s.log("info", "bridge ready", { port: this.port, rooms: this.rooms.size, resumedInbound: resumed, joinRequests: waiting });
  }

  /** Waits for answers to `!pursuance request`; ended when the bridge stops. */
  private readonly asking = new AbortController();
  private readonly waitingRequests = new Set<string>();

  /** `!pursuance request`: ask as the sender's custodial identity; the answer comes to the room (join-requests.ts). */
  async requestToJoin(roomId: string, sender: string, addr: RequestAddress, message: string, displayName: string): Promise<string> {
    if (this.rooms.has(roomId)) throw new Error("this room is already bound to a pursuance");
    return requestFromMatrix(this.requestHost(), roomId, sender, addr, message, displayName);
  }

  private requestHost(): RequestHost {
    return {
      identityFor: async (user, groupId) => {
        const prior = (await this.store.identities(groupId)).find((r) => r.matrixUser === user);
        return prior ? this.vault.open(prior.sealedSecret, `${user}|${groupId}`) : this.newIdentity(user, groupId);
      },
      ports: (memberId, groupId) => this.ports(memberId, groupId),
      join: (room, user, invite, name) => this.joinPursuance(room, user, invite, name),
      say: async (room, plain, txnId) => {
        await this.matrix.send(room, { plain, html: html`${plain}`.value, notice: true, txnId }).catch((e: Error) => this.s.log("warn", "could not post a join request's answer", { room, error: e.message }));
      },
      remember: (r) => this.store.putJoinRequest(r),
      forget: (room, user) => this.store.dropJoinRequest(room, user),
      signal: this.asking.signal,
      waiting: this.waitingRequests,
    };
  }

  async stop(): Promise<void> {
    this.asking.abort();
    this.stopping = true;
    this.isReady = false;
    if (this.ticker) clearInterval(this.ticker);
    await this.http.close();
    await this.idle();
    await Promise.all([...this.pursuances.values()].map((r) => r.drain()));
    await this.announce.stop();
    await this.e2ee?.stop();
    for (const r of this.pursuances.values()) r.close();
    await this.db.close();
  }

  ports(memberId: string, groupId: string): ClientPorts {
    return {
      crypto: this.crypto,
      now: () => Date.now(),
      setTimer: systemTimer,
      connect: (url) => new RelayClient({ url, crypto: this.crypto, ...(this.s.socksProxy ? { socksProxy: this.s.socksProxy } : {}) }),
      // Role and group keys at rest are sealed under the vault key, as identities are.
      store: clientStore(this.db.db, this.crypto, memberId, groupId, { seal: (k, p) => this.vault.sealBytes(k, p), open: (k, p) => this.vault.openBytes(k, p) }),
      log: (m) => this.s.log("warn", m, { member: memberId.slice(0, 12) }),
    };
  }

  private host(roomId: string, binding: Parameters<typeof this.store.bindRoom>[0]): HostedPursuance {
    const existing = this.pursuances.get(binding.groupId);
    if (existing) {
      existing.addRoom(roomId);
      this.rooms.set(roomId, existing);
      return existing;
    }
    const h = new HostedPursuance(binding, {
      crypto: this.crypto,
      store: this.store,
      matrix: this.matrix,
      userPrefix: this.s.userPrefix,
      perRoleRooms: this.s.perRoleRooms ?? false,
      stepTimeoutMs: this.limits.stepTimeoutMs,
      onChanged: () => this.announce.kick(binding.groupId),
      notices: this.notices,
      log: this.s.log,
    });
    this.rooms.set(roomId, h);
    this.pursuances.set(binding.groupId, h);
    this.announce.register({
      groupId: binding.groupId,
      pursuanceId: binding.pursuanceId,
      name: () => h.primary?.state.name ?? binding.name,
      announcements: (skip) => {
        const c = h.primary;
        return c ? publicAnnouncements(c.state, c.id, (id) => c.session.log.get(id), skip, c.fold.applied) : [];
      },
    });
    return h;
  }

  /** The bridge's reader identity in a pursuance (what members delegate role keys to), made once. */
  private async ensureDelegate(h: HostedPursuance): Promise<void> {
    if (h.delegate) return;
    h.setDelegate(await this.newIdentity(this.matrix.botUserId, h.binding.groupId));
  }

  private async loadRoom(roomId: string): Promise<void> {
    const b = (await this.store.room(roomId))!;
    // Rooms bound before the bridge hid history from newcomers get that now (in the background: start stays quick).
    void this.secureBoundRoom(roomId);
    if (this.pursuances.has(b.groupId)) {
      // Another room of a pursuance already loaded: same identities, one more room.
      this.host(roomId, b);
      return;
    }
    const h = this.host(roomId, b);
    await h.loadPosted();
    await this.ensureDelegateLater(h);
    for (const id of await this.store.identities(b.groupId)) {
      if (id.matrixUser === this.matrix.botUserId) {
        h.setDelegate(this.vault.open(id.sealedSecret, `${id.matrixUser}|${id.groupId}`));
        continue;
      }
      const keys = this.vault.open(id.sealedSecret, `${id.matrixUser}|${id.groupId}`);
      const c = await PursuanceClient.open(this.ports(id.memberId, b.groupId), keys, { pursuanceId: b.pursuanceId, groupId: b.groupId, relays: b.relays, name: b.name });
      await c.start();
      h.attach(id.matrixUser, c);
    }
  }

  private async ensureDelegateLater(h: HostedPursuance): Promise<void> {
    // Rooms bound before delegation existed get their reader identity on load.
    const rows = await this.store.identities(h.binding.groupId);
    if (!rows.some((r) => r.matrixUser === this.matrix.botUserId)) await this.ensureDelegate(h);
  }

  /** A fresh custodial identity for a Matrix user in one pursuance, sealed before anything uses it. */
  async newIdentity(matrixUser: string, groupId: string): Promise<SignKeyPair> {
    const keys = this.crypto.signKeyPair();
    await this.store.putIdentity({ matrixUser, groupId, memberId: toHex(keys.publicKey), sealedSecret: this.vault.seal(keys.secretKey, `${matrixUser}|${groupId}`) });
    return keys;
  }

  /** `!pursuance create`: the sender founds a pursuance on the configured relays; the room is bound to it. */
  async createPursuance(roomId: string, sender: string, name: string, displayName: string): Promise<PursuanceClient> {
    if (this.rooms.has(roomId)) throw new Error("this room is already bound to a pursuance");
    const groupId = toHex(this.crypto.randomBytes(32));
    const keys = await this.newIdentity(sender, groupId);
    const c = await PursuanceClient.create(this.ports(toHex(keys.publicKey), groupId), keys, { groupId, name, founderName: displayName, relays: [...this.s.relays] });
    const binding = { roomId, groupId, pursuanceId: c.id, name, relays: c.config.relays, boundBy: sender };
    await this.store.bindRoom(binding);
    const h = this.host(roomId, binding);
    await this.ensureDelegate(h);
    h.attach(sender, c);
    await this.secureBoundRoom(roomId);
    return c;
  }

  /** `!pursuance join <invite>` in an unbound room binds it; in a bound room it admits the sender. */
  async joinPursuance(roomId: string, sender: string, invite: import("../pursuance/invite.js").Invite, displayName: string): Promise<PursuanceClient> {
    const existing = this.rooms.get(roomId);
    if (existing && existing.binding.groupId !== invite.groupId) throw new Error("this room is bound to another pursuance");
    if (existing?.clientFor(sender)) throw new Error("you are already a member here");
    const known = this.pursuances.get(invite.groupId);
    const mine = known?.clientFor(sender);
    if (known && mine && !existing) {
      // A member binding one more room to a pursuance: the same identity, the invite is not used.
      const binding = { roomId, groupId: invite.groupId, pursuanceId: invite.pursuanceId, name: invite.name, relays: invite.relays, boundBy: sender };
      await this.store.bindRoom(binding);
      this.host(roomId, binding);
      await this.secureBoundRoom(roomId);
      return mine;
    }
    // A user whose earlier attempt timed out keeps that identity (one row per user and group): its
    // join may still be carried in from the rendezvous, and a second identity would be stored nowhere.
    const prior = (await this.store.identities(invite.groupId)).find((r) => r.matrixUser === sender);
    const keys = prior ? this.vault.open(prior.sealedSecret, `${sender}|${invite.groupId}`) : await this.newIdentity(sender, invite.groupId);
    const c = await PursuanceClient.join(this.ports(toHex(keys.publicKey), invite.groupId), keys, invite, displayName);
    let h = existing;
    if (!h) {
      const binding = { roomId, groupId: invite.groupId, pursuanceId: invite.pursuanceId, name: invite.name, relays: invite.relays, boundBy: sender };
      await this.store.bindRoom(binding);
      h = this.host(roomId, binding);
      await this.secureBoundRoom(roomId);
    }
    await this.ensureDelegate(h);
    h.attach(sender, c);
    return c;
  }

  /** History only from one's join, and the power to redact: see room-guard.ts. */
  secureBoundRoom(roomId: string): Promise<void> {
    return secureRoom(this.matrix, this.store, roomId, this.s.log);
  }

  directRoom(userId: string): Promise<string> {
    return directRoomOf(this.matrix, this.store, userId);
  }

  refusesRoom(roomId: string): Promise<boolean> {
    return this.e2ee && this.encryption.require ? refusesPlainRoom(this.e2ee, this.matrix, this.store, roomId) : Promise.resolve(false);
  }

  /** Run inbound work for a room in order, after what came before it in that room. */
  enqueue(roomId: string, fn: () => Promise<void>): void {
    this.queues.push(roomId, fn, this.loaded);
  }

  /** Resolves when every queued inbound event has been handled (tests, shutdown). */
  async idle(): Promise<void> {
    await this.queues.idle();
  }

  /** encryption.require: nothing goes into an unencrypted room but the one notice saying why. */
  private async sealFor(e2ee: BridgeE2ee, roomId: string, userId: string, type: string, content: Record<string, unknown>, o: { mayBePlain?: boolean } = {}) {
    if (this.encryption.require && !o.mayBePlain && !(await e2ee.isEncrypted(roomId))) throw new EncryptionRequiredError(roomId);
    // A notice that carries nothing secret may go in clear where the room's algorithm cannot be spoken.
    if (o.mayBePlain && (await e2ee.unsupportedAlgorithm(roomId)) !== null) return { type, content };
    return e2ee.seal(roomId, userId, type, content);
  }

  private async onEvent(e: MatrixEvent): Promise<void> {
    this.e2ee?.noteEvent(e);
    // Membership changes decide what a room may show, whoever made them (the bot's own invites and kicks too).
    if (e.type === "m.room.member") this.pursuanceOfRoom(e.room_id)?.membershipChanged(e.room_id);
    if (e.sender === this.matrix.botUserId || e.sender.startsWith(`@${this.s.userPrefix}`)) return;
    await handleInbound(this, e);
  }

  /** The pursuance a room belongs to: bound to it, or one of its role rooms. */
  pursuanceOfRoom(roomId: string): HostedPursuance | undefined {
    return this.rooms.get(roomId) ?? [...this.pursuances.values()].find((h) => h.rooms.has(roomId));
  }

  metrics(): string {
    const hosted = [...this.pursuances.values()];
    return renderMetrics({
      rooms: this.rooms.size,
      identities: hosted.reduce((n, r) => n + r.clients.size, 0),
      mirrored: hosted.reduce((n, r) => n + r.mirrored, 0),
      mirrorDropped: hosted.reduce((n, r) => n + r.mirrorDropped, 0),
      http: this.http,
      commandsDropped: this.inbound.dropped,
      announce: this.announce,
      stepTimeouts: this.queues.timeouts,
      roomsStuck: this.queues.stuck().length,
      e2ee: this.e2ee,
    });
  }
}
