// One bound room ↔ one pursuance, as the bridge holds it: a PursuanceClient
// per custodial identity (Matrix users who act through the bridge), and the
// mirror that posts the log's accepted events into the room, each exactly
// once (the store remembers what is posted, so a restart resumes cleanly).
import { toHex } from "../cwtch/bytes.js";
import type { Crypto, SignKeyPair } from "../cwtch/crypto.js";
import type { PEvent } from "../pursuance/apply-common.js";
import type { PursuanceClient } from "../pursuance/client.js";
import { KeyRing } from "../pursuance/keyring.js";
import { taskView, type TaskView } from "../pursuance/views.js";
import { withTimeout } from "./deadline.js";
import { renderEvent, renderTask } from "./mirror-render.js";
import { desiredRoleMembers, syncRoleRooms } from "./role-rooms.js";
import type { BridgeStorePort, MatrixPort, RoomBinding } from "./ports.js";

export interface HostDeps {
  crypto: Crypto;
  store: BridgeStorePort;
  matrix: MatrixPort;
  userPrefix: string;
  /** rooms.perRole: keep a room per role in step with the role's members. */
  perRoleRooms?: boolean;
  /** Deadline of one step in this room's queue (a command or a mirror pass); default 30 s. */
  stepTimeoutMs?: number;
  /** Tries to post one event before the mirror skips it (default 5). */
  maxPostAttempts?: number;
  log(level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void;
}

export class HostedPursuance {
  /** Matrix user → their custodial client. */
  readonly clients = new Map<string, PursuanceClient>();
  /** Member id → Matrix user, for the identities this bridge hosts. */
  readonly hostedMembers = new Map<string, string>();
  private posted = new Set<string>();
  /** The bridge's own reader identity here: members may delegate role keys to it (it is no member). */
  delegate: { keys: SignKeyPair; me: string; ring: KeyRing } | null = null;
  private ingested = 0;
  private mirrorSource: readonly unknown[] | null = null;
  private ingestSource: readonly unknown[] | null = null;
  private mirrorIndex = 0;
  private roleRoomsSig = "";
  private chain: Promise<unknown> = Promise.resolve();
  private mirrorQueued = false;
  private closed = false;
  /** Failed tries per event: a poison event is skipped after a few, so later ones still reach the room. */
  private readonly postFailures = new Map<string, number>();
  private retryTimer: NodeJS.Timeout | null = null;
  mirrored = 0;
  /** Events the mirror gave up on. */
  mirrorDropped = 0;

  constructor(
    readonly binding: RoomBinding,
    private readonly deps: HostDeps,
  ) {}

  get primary(): PursuanceClient | undefined {
    return this.clients.values().next().value;
  }

  async loadPosted(): Promise<void> {
    this.posted = await this.deps.store.postedIds(this.binding.groupId);
  }

  /** Add a hosted identity's client (already started). The first one added drives the mirror. */
  attach(matrixUser: string, client: PursuanceClient): void {
    const first = this.clients.size === 0;
    this.clients.set(matrixUser, client);
    this.hostedMembers.set(client.me, matrixUser);
    if (first) client.on("changed", () => this.scheduleMirror());
    this.scheduleMirror();
  }

  clientFor(matrixUser: string): PursuanceClient | null {
    return this.clients.get(matrixUser) ?? null;
  }

  /** Run `fn` in this room's queue: commands and mirror passes never interleave. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    // A step that hangs is abandoned at its deadline: the room moves on.
    const p = this.chain.then(() => withTimeout(fn(), this.deps.stepTimeoutMs ?? 30_000, `room ${this.binding.roomId} step`));
    this.chain = p.catch(() => {});
    return p;
  }

  /** A Matrix message is itself the record of this pursuance event: never post it again. */
  async markFromMatrix(eventId: string, matrixEventId: string, taskId: string | null): Promise<void> {
    this.posted.add(eventId);
    await this.deps.store.markPosted({ groupId: this.binding.groupId, eventId, roomId: this.binding.roomId, matrixEventId, kind: "comment", taskId });
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const c of this.clients.values()) c.close();
  }

  setDelegate(keys: SignKeyPair): void {
    this.delegate = { keys, me: toHex(keys.publicKey), ring: new KeyRing(this.deps.crypto, keys) };
    this.ingested = 0;
  }

  /** Feed the delegate ring what the log seals to it (delegations, rotations). */
  private ingestDelegated(c: PursuanceClient): void {
    if (!this.delegate) return;
    const applied = c.fold.applied;
    if (applied !== this.ingestSource) {
      // Refolded: a new array, perhaps in another order. Ingesting twice is harmless.
      this.ingestSource = applied;
      this.ingested = 0;
    }
    for (; this.ingested < applied.length; this.ingested++) {
      const b = applied[this.ingested]!.event.body;
      if (b) this.delegate.ring.ingest(b);
    }
  }

  /** The task as the best-placed hosted identity sees it (any key we hold, custodial or delegated, opens it). */
  view(taskId: string): TaskView | null {
    let fallback: TaskView | null = null;
    for (const c of this.clients.values()) {
      const t = c.state.tasks.get(taskId);
      if (!t) continue;
      const v = taskView(c, t);
      if (v.title !== null) return v;
      if (this.delegate) {
        const d = taskView(c, t, { ring: this.delegate.ring, identity: this.delegate.keys, me: this.delegate.me });
        if (d.title !== null) return d;
      }
      fallback ??= v;
    }
    return fallback;
  }

  /** Whether any key this bridge holds for the pursuance is the current key of `scope`. */
  readable(scope: string): boolean {
    const c = this.primary;
    const k = c?.state.keys.get(scope);
    if (!c || !k) return false;
    if (this.delegate?.ring.get(k.keyId)) return true;
    return [...this.clients.values()].some((x) => x.ring.get(k.keyId));
  }

  ghostOf(memberId: string): string {
    return `@${this.deps.userPrefix}${memberId.slice(0, 16)}:${this.deps.matrix.domain}`;
  }

  scheduleMirror(): void {
    if (this.mirrorQueued || this.closed) return;
    this.mirrorQueued = true;
    void this.run(async () => {
      this.mirrorQueued = false;
      await this.mirrorPass().catch((e: Error) => this.deps.log("error", "mirror pass failed", { room: this.binding.roomId, error: e.message }));
    });
  }

  private async mirrorPass(): Promise<void> {
    const c = this.primary;
    if (!c || this.closed) return;
    this.ingestDelegated(c);
    // Resume where the last pass stopped; a refold (a new array, perhaps reordered) starts over,
    // and the posted set keeps that from posting anything twice.
    const applied = c.fold.applied;
    if (applied !== this.mirrorSource) {
      this.mirrorSource = applied;
      this.mirrorIndex = 0;
    }
    for (; this.mirrorIndex < applied.length; this.mirrorIndex++) {
      const a = applied[this.mirrorIndex]!;
      if (a.rejected !== null || this.posted.has(a.event.id)) continue;
      try {
        await this.post(c, a.event);
      } catch (e) {
        if (!this.givenUp(a.event.id, e as Error)) {
          this.retryLater();
          throw e;
        }
      }
    }
    // Where the pursuance lives is decided in its log (relays.set): the binding follows, so a restart does too.
    const relays = c.state.relays;
    if (relays !== null && relays.join("\n") !== this.binding.relays.join("\n")) {
      this.binding.relays = [...relays];
      await this.deps.store.bindRoom(this.binding);
    }
    if (this.deps.perRoleRooms) {
      // Only when who-holds-what among our users changed: each sync costs a few homeserver calls.
      const sig = JSON.stringify([...desiredRoleMembers(c.state, this.hostedMembers)]);
      if (sig !== this.roleRoomsSig) {
        await syncRoleRooms(this.deps, this.binding.groupId, c.state, this.hostedMembers);
        this.roleRoomsSig = sig;
      }
    }
  }

  /** Count a failed post; true when the event is now skipped (in this run: a restart tries it again). */
  private givenUp(eventId: string, err: Error): boolean {
    const n = (this.postFailures.get(eventId) ?? 0) + 1;
    this.postFailures.set(eventId, n);
    if (n < (this.deps.maxPostAttempts ?? 5)) return false;
    this.deps.log("error", "mirror gave up on an event", { room: this.binding.roomId, event: eventId.slice(0, 16), tries: n, error: err.message });
    this.postFailures.delete(eventId);
    this.posted.add(eventId);
    this.mirrorDropped++;
    return true;
  }

  /** A failed pass is tried again on its own (backing off), not only when the next event arrives. */
  private retryLater(): void {
    if (this.retryTimer || this.closed) return;
    const tries = Math.max(0, ...this.postFailures.values());
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.scheduleMirror();
    }, Math.min(30_000, 500 * 2 ** tries));
    this.retryTimer.unref();
  }

  private async post(c: PursuanceClient, e: PEvent): Promise<void> {
    const s = c.state;
    const b = e.body!;
    const taskId = b.t === "task.create" ? e.id : "task" in b ? (b as { task: string }).task : null;
    const task = taskId ? this.view(taskId) : null;
    const hosted = this.hostedMembers.get(e.author);
    const external = hosted === undefined && s.members.has(e.author);
    const rendered = b.t === "task.create" ? (task ? renderTask(task, hosted ? `by ${task.creator}` : null) : null) : renderEvent(s, e, task, !external);
    if (!rendered) {
      this.posted.add(e.id);
      return;
    }
    let sender: string | undefined;
    if (external && (rendered.kind === "task" || rendered.kind === "comment")) {
      sender = this.ghostOf(e.author);
      const name = `${s.members.get(e.author)!.name} (pursuance)`;
      await this.deps.matrix.ensureGhost(this.binding.roomId, sender, name);
    }
    const thread = rendered.kind !== "task" && rendered.taskId ? await this.deps.store.taskMessage(this.binding.groupId, rendered.taskId) : null;
    const matrixEventId = await this.deps.matrix.send(
      this.binding.roomId,
      { plain: rendered.plain, html: rendered.html, notice: rendered.notice, ...(thread ? { thread } : {}), ...(task ? { more: `!task show ${task.num}` } : {}), txnId: `pursuance.${e.id.slice(0, 40)}` },
      sender,
    );
    await this.deps.store.markPosted({ groupId: this.binding.groupId, eventId: e.id, roomId: this.binding.roomId, matrixEventId, kind: rendered.kind, taskId: rendered.taskId });
    this.posted.add(e.id);
    this.mirrored++;
  }
}

export function memberIdOf(keys: SignKeyPair): string {
  return toHex(keys.publicKey);
}
