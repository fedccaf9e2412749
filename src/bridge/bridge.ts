// The bridge: an appservice that hosts pursuance clients for Matrix users
// (custodial identities) and mirrors each bound pursuance into its room. It
// holds no truth of its own: the relays do. Its database holds bindings,
// sealed identities, client copies of the logs and what was already posted.
// Its parts are made in bridge-root.ts (the composition root) and given to it
// in its constructor; it creates, joins and binds pursuances, hosts them,
// hands Matrix events to inbound handling, and says how it is doing (metrics).
import { toHex } from "../cwtch/bytes.js";
import type { Crypto, SignKeyPair } from "../cwtch/crypto.js";
import { PursuanceClient } from "../pursuance/client/client.js";
import type { ClientPorts } from "../pursuance/ports.js";
import type { Database } from "../store/db.js";
import type { AppserviceHttp, MatrixEvent } from "./appservice-http.js";
import type { RoomQueues } from "./room-queue.js";
import { HostedPursuance } from "./hosted-pursuance.js";
import type { IdentityVault } from "./identity-vault.js";
import { handleInbound, resumeInbound } from "./inbound.js";
import { InboundStats, type InboundHost } from "./inbound-port.js";
import { pingHomeserver, renderMetrics } from "./bridge-metrics.js";
import { directRoomOf, refusesPlainRoom, secureRoom } from "./room-guard.js";
import type { BridgeE2ee } from "./e2ee/e2ee.js";
import type { BridgeStorePort, MatrixPort } from "./ports.js";
import { publicAnnouncements } from "../pursuance/announcement-proof.js";
import type { AnnounceMirror } from "./announce/mirror.js";
import type { AssignmentNotices } from "./assignment-notices.js";
import { requestFromMatrix, resumeJoinRequests, type RequestHost } from "./join-requests.js";
import { html } from "../bot/reply.js";
import type { BridgeLimits, BridgeSettings, EncryptionSettings } from "./settings.js";
export type { BridgeLimits, BridgeSettings, EncryptionSettings } from "./settings.js";
import type { RequestAddress } from "../pursuance/join-request.js";

/** What the composition root (bridge-root.ts) makes and hands to a Bridge. */
export interface BridgeParts {
  s: BridgeSettings;
  /** The settings' limits and encryption, defaults filled in. */
  limits: BridgeLimits;
  encryption: EncryptionSettings;
  crypto: Crypto;
  db: Database;
  vault: IdentityVault;
  store: BridgeStorePort;
  /** null when encryption.allow is false. */
  e2ee: BridgeE2ee | null;
  matrix: MatrixPort;
  notices: AssignmentNotices;
  announce: AnnounceMirror;
  http: AppserviceHttp;
  queues: RoomQueues;
  /** A hosted client's ports (relay connections, its store), for one member in one pursuance. */
  ports(memberId: string, groupId: string): ClientPorts;
}

export class Bridge implements InboundHost {
  /** Every bound room → its pursuance (several rooms may share one). */
  readonly rooms = new Map<string, HostedPursuance>();
  /** Group id → the pursuance as hosted here: one per pursuance, one identity per person in it. */
  readonly pursuances = new Map<string, HostedPursuance>();
  readonly s: BridgeSettings;
  readonly crypto: Crypto;
  readonly db: Database;
  readonly store: BridgeStorePort;
  readonly matrix: MatrixPort;
  readonly vault: IdentityVault;
  /** null when encryption.allow is false. */
  readonly e2ee: BridgeE2ee | null;
  readonly encryption: EncryptionSettings;
  private readonly http: AppserviceHttp;
  private isReady = false;
  /** Set by stop(): events waiting for a room key are not queued again (the next run resumes them). */
  stopping = false;
  private ticker: NodeJS.Timeout | null = null;
  readonly limits: BridgeLimits;
  private readonly queues: RoomQueues;
  /** Public announcement rooms: their own queues, apart from the rooms' (announce/mirror.ts). */
  readonly announce: AnnounceMirror;
  private readonly notices: AssignmentNotices;
  /** Failed tries per inbound event (in this run), and how many were given up. */
  readonly inbound = new InboundStats();
  /** Inbound handling waits for the bound rooms to be loaded (the HTTP side listens before). */
  private readonly loaded: Promise<void>;
  private markLoaded!: () => void;
  port = 0;

  constructor(private readonly parts: BridgeParts) {
    ({ s: this.s, limits: this.limits, encryption: this.encryption, crypto: this.crypto, db: this.db, vault: this.vault, store: this.store } = parts);
    ({ e2ee: this.e2ee, matrix: this.matrix, notices: this.notices, announce: this.announce, http: this.http, queues: this.queues } = parts);
    this.loaded = new Promise((r) => (this.markLoaded = r));
  }

  /** Listen, load the bound rooms, resume what a previous run left, then answer the homeserver. */
  async start(): Promise<void> {
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

  /** Whether the homeserver's transactions are answered: started, and no room's queue stuck. */
  ready(): boolean {
    return this.isReady && this.queues.stuck().length === 0;
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
    return this.parts.ports(memberId, groupId);
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

  /** An event the homeserver sent us (appservice-http.ts). */
  async onEvent(e: MatrixEvent): Promise<void> {
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
