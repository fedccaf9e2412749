// One pursuance as the bridge holds it: a PursuanceClient per custodial
// identity (one per Matrix user, whatever room they type in), the bridge's
// delegate reader identity, the rooms bound to it and its per-role rooms, and
// one queue in which commands and mirror passes (room-mirror.ts) take turns.
import { toHex } from "../cwtch/bytes.js";
import type { SignKeyPair } from "../cwtch/crypto.js";
import type { PursuanceClient } from "../pursuance/client/client.js";
import { givesKeys, KeyRing } from "../pursuance/keyring.js";
import { taskView, type TaskView } from "../pursuance/views.js";
import { canReadTask } from "../pursuance/state.js";
import { withTimeout } from "./deadline.js";
import type { RoomBinding } from "./ports.js";
import type { HostDeps } from "./host-deps.js";
export type { HostDeps } from "./host-deps.js";
import { RoomSet } from "./room-bindings.js";
import { Confirmations } from "./confirmations.js";
import { mayShow, type Present } from "./room-visibility.js";
import { RoomMirror } from "./room-mirror.js";


export class HostedPursuance {
  /** Matrix user → their custodial client (one per pursuance, whatever the room). */
  readonly clients = new Map<string, PursuanceClient>();
  /** Member id → Matrix user, for the identities this bridge hosts. */
  readonly hostedMembers = new Map<string, string>();
  readonly rooms: RoomSet;
  readonly confirmations: Confirmations;
  /** The bridge's own reader identity here: members may delegate role keys to it (it is no member). */
  delegate: { keys: SignKeyPair; me: string; ring: KeyRing } | null = null;
  private ingested = 0;
  private ingestSource: readonly unknown[] | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private mirrorQueued = false;
  private closed = false;
  private readonly mirror: RoomMirror;

  constructor(
    readonly binding: RoomBinding,
    private readonly deps: HostDeps,
  ) {
    this.rooms = new RoomSet(deps, binding.groupId);
    this.rooms.bound.add(binding.roomId);
    this.confirmations = new Confirmations(deps.store, binding.groupId);
    this.mirror = new RoomMirror(this, deps);
  }

  /** Messages the mirror posted, and events it gave up on (metrics). */
  get mirrored(): number {
    return this.mirror.mirrored;
  }
  get mirrorDropped(): number {
    return this.mirror.dropped;
  }
  get isClosed(): boolean {
    return this.closed;
  }

  get primary(): PursuanceClient | undefined {
    return this.clients.values().next().value;
  }

  loadPosted(): Promise<void> {
    return this.mirror.loadPosted();
  }

  /** Another room bound to this pursuance: it gets the mirror too, under the same rules. */
  addRoom(roomId: string): void {
    this.rooms.bound.add(roomId);
    this.mirror.revisit();
    this.scheduleMirror();
  }

  /** Someone joined, left, was invited to or kicked from a room: what it may show has changed. */
  membershipChanged(roomId: string): void {
    if (!this.rooms.has(roomId)) return;
    this.rooms.forget(roomId);
    this.mirror.revisit();
    this.scheduleMirror();
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

  memberFor(matrixUser: string): string | null {
    return this.clients.get(matrixUser)?.me ?? null;
  }

  /** Run `fn` in this pursuance's queue: commands and mirror passes never interleave. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    // A step that hangs is abandoned at its deadline: the room moves on.
    const p = this.chain.then(() => withTimeout(fn(), this.deps.stepTimeoutMs ?? 30_000, `room ${this.binding.roomId} step`));
    this.chain = p.catch(() => {});
    return p;
  }

  /** A Matrix message is itself the record of this pursuance event in its room: never post it there again. */
  async markFromMatrix(roomId: string, eventId: string, matrixEventId: string, taskId: string | null): Promise<void> {
    await this.mirror.record(roomId, eventId, matrixEventId, "comment", taskId);
  }

  /** Stop mirroring and wait for the pass under way (its writes must land before the database closes). */
  async drain(): Promise<void> {
    this.closed = true;
    await this.chain;
  }

  close(): void {
    this.closed = true;
    this.mirror.close();
    for (const c of this.clients.values()) c.close();
  }

  setDelegate(keys: SignKeyPair): void {
    this.delegate = { keys, me: toHex(keys.publicKey), ring: new KeyRing(this.deps.crypto, keys) };
    this.ingested = 0;
  }

  /** Feed the delegate ring what the log seals to it (delegations, rotations). */
  ingestDelegated(c: PursuanceClient): void {
    if (!this.delegate) return;
    const applied = c.fold.applied;
    if (applied !== this.ingestSource) {
      this.ingestSource = applied;
      this.ingested = 0;
    }
    for (; this.ingested < applied.length; this.ingested++) {
      const a = applied[this.ingested]!;
      // A delegation or share the fold refused gives the bridge nothing, as for a member's client.
      if (givesKeys(a.event.body, a.rejected)) this.delegate.ring.ingest(a.event.body!);
    }
  }

  /** The task as the best-placed hosted identity sees it (any key we hold, custodial or delegated, opens it). */
  view(taskId: string): TaskView | null {
    let fallback: TaskView | null = null;
    for (const c of this.clients.values()) {
      const t = c.state.tasks.get(taskId);
      if (!t) continue;
      const v = taskView(c, t);
      // A full reader first: one whose role was taken is shown only the task as created.
      if (v.title !== null && canReadTask(c.state, c.me, t)) return v;
      if (this.delegate) {
        const d = taskView(c, t, { ring: this.delegate.ring, identity: this.delegate.keys, me: this.delegate.me });
        if (d.title !== null) return d;
      }
      if (fallback === null || (fallback.title === null && v.title !== null)) fallback = v;
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

  /** Who is in a room now, as the pursuance knows them. */
  present(roomId: string): Promise<Present[]> {
    return this.rooms.present(roomId, (u) => this.memberFor(u));
  }

  /** May this room show the task's content now? (For command replies and redaction.) */
  async roomMayShowTask(roomId: string, taskId: string): Promise<boolean> {
    const s = this.primary?.state;
    return s ? mayShow(s, await this.present(roomId), { kind: "task", taskId }) : false;
  }

  private async mirrorPass(): Promise<void> {
    const c = this.primary;
    if (!c || this.closed) return;
    this.ingestDelegated(c);
    await this.mirror.pass(c);
  }

  /** Time alone makes notices due (a digest's hour, a due date near): the host's ticker calls this. */
  noticesDue(): void {
    if (this.closed || !this.deps.notices) return;
    void this.run(async () => {
      const name = this.primary?.state.name ?? this.binding.name;
      await this.deps.notices?.pass(this.clients, name).catch((e: Error) => this.deps.log("warn", "notices failed", { room: this.binding.roomId, error: e.message }));
    });
  }

  scheduleMirror(): void {
    if (!this.closed) this.deps.onChanged?.();
    if (this.mirrorQueued || this.closed) return;
    this.mirrorQueued = true;
    void this.run(async () => {
      this.mirrorQueued = false;
      await this.mirrorPass().catch((e: Error) => this.deps.log("error", "mirror pass failed", { room: this.binding.roomId, error: e.message }));
      const name = this.primary?.state.name ?? this.binding.name;
      await this.deps.notices?.pass(this.clients, name).catch((e: Error) => this.deps.log("warn", "assignment notices failed", { room: this.binding.roomId, error: e.message }));
    });
  }

}

export function memberIdOf(keys: SignKeyPair): string {
  return toHex(keys.publicKey);
}
