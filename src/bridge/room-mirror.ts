// The mirror: posts a pursuance's accepted events into the rooms bound to it
// and its role rooms. A room shows a task's content only if everyone in it may
// read the task (room-visibility.ts); elsewhere it shows a lock line and the
// content goes to the rooms of the roles that read it. Each room's record of
// what it got is stored, so a restart posts nothing twice.
import { toHex } from "../cwtch/bytes.js";
import type { PEvent } from "../pursuance/apply-common.js";
import type { PursuanceClient } from "../pursuance/client/client.js";
import type { PursuanceState } from "../pursuance/state.js";
import type { TaskView } from "../pursuance/views.js";
import type { Confirmations } from "./confirmations.js";
import type { HostDeps } from "./host-deps.js";
import { esc, renderEvent, renderTask, type Rendered } from "./mirror-render.js";
import type { PostedKind, RoomBinding } from "./ports.js";
import type { RoomSet, PursuanceRoom } from "./room-bindings.js";
import { Ledgers } from "./room-ledger.js";
import { desiredRoleMembers, syncRoleRoom } from "./role-rooms.js";
import { TrustWarnings } from "./trust-warnings.js";
import { mayShow, rolesReading, scopeOf, standingOf, type Present } from "./room-visibility.js";

/** What the mirror reads of the pursuance it mirrors: the hosting side (hosted-pursuance.ts) gives it. */
export interface MirrorHost {
  readonly binding: RoomBinding;
  readonly rooms: RoomSet;
  readonly hostedMembers: ReadonlyMap<string, string>;
  readonly confirmations: Confirmations;
  readonly isClosed: boolean;
  view(taskId: string): TaskView | null;
  present(roomId: string): Promise<Present[]>;
  ghostOf(memberId: string): string;
  scheduleMirror(): void;
}

export class RoomMirror {
  private readonly ledgers = new Ledgers();
  private readonly trust: TrustWarnings;
  private mirrorSource: readonly unknown[] | null = null;
  private mirrorIndex = 0;
  /** Who is where with which roles, as of the last full revisit of every task. */
  private visibilitySig = "";
  private roleMembersSig = "";
  /** Failed tries per event: a poison event is skipped after a few, so later ones still reach the room. */
  private readonly postFailures = new Map<string, number>();
  private retryTimer: NodeJS.Timeout | null = null;
  /** Events and tasks given up on in this run (a restart tries them again). */
  private readonly skipped = new Set<string>();
  mirrored = 0;
  /** Events the mirror gave up on. */
  dropped = 0;

  constructor(
    private readonly h: MirrorHost,
    private readonly deps: HostDeps,
  ) {
    this.trust = new TrustWarnings(deps.store, deps.matrix, (m) => h.hostedMembers.get(m) ?? null, (m, x) => h.confirmations.confirmed(m, x));
  }

  async loadPosted(): Promise<void> {
    for (const p of await this.deps.store.posted(this.h.binding.groupId)) this.ledgers.of(p.roomId).record(p);
  }

  /** Who is where may have changed: the next pass places every task again. */
  revisit(): void {
    this.visibilitySig = "";
  }

  close(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  /** Post what the log holds that the rooms have not had; place every task again when who is where changed. */
  async pass(c: PursuanceClient): Promise<void> {
    const s = c.state;
    await this.syncRoleRooms(s);
    const pass = new Pass(this.h, await this.h.rooms.all(Object.keys(s.rules.roles)));
    await pass.loadPresence();
    await this.warnNonMembers(s, pass);
    const applied = c.fold.applied;
    if (applied !== this.mirrorSource) {
      // Refolded: a new array, perhaps reordered. Start over; the ledgers keep anything from posting twice.
      this.mirrorSource = applied;
      this.mirrorIndex = 0;
    }
    for (; this.mirrorIndex < applied.length; this.mirrorIndex++) {
      const a = applied[this.mirrorIndex]!;
      if (a.rejected !== null || this.skipped.has(a.event.id)) continue;
      try {
        await this.route(c, a.event, pass, null);
      } catch (e) {
        if (!this.givenUp(a.event.id, e as Error)) {
          this.retryLater();
          throw e;
        }
      }
    }
    await this.followRelays(c.state);
    // Who is where changed (a join, a kick, a grant): place every task again, posting what became readable.
    const sig = pass.signature(s);
    if (sig !== this.visibilitySig) {
      const byId = new Map(applied.map((a) => [a.event.id, a.event]));
      for (const id of s.taskIds) {
        if (this.skipped.has(id)) continue;
        try {
          await this.placeTask(c, id, pass, byId);
        } catch (e) {
          if (!this.givenUp(id, e as Error)) {
            this.retryLater();
            throw e;
          }
        }
      }
      this.visibilitySig = pass.signature(s);
    }
    // Grants and revocations in this pass move people between role rooms: the next pass sees them there.
    if (await this.syncRoleRooms(c.state)) {
      this.visibilitySig = "";
      this.h.scheduleMirror();
    }
  }

  /** Role rooms: all of them with rooms.perRole, else those already made; membership follows the role. */
  private async syncRoleRooms(s: PursuanceState): Promise<boolean> {
    const want = desiredRoleMembers(s, this.h.hostedMembers);
    const sig = JSON.stringify([this.deps.perRoleRooms, ...want]);
    if (sig === this.roleMembersSig) return false;
    let changed = false;
    for (const [role, users] of want) {
      const room = this.deps.perRoleRooms ? await this.h.rooms.ensureRoleRoom(role, s.name) : await this.h.rooms.roleRoom(role);
      if (room && (await syncRoleRoom(this.deps, s.name, role, room, users))) {
        this.h.rooms.forget(room);
        changed = true;
      }
    }
    this.roleMembersSig = sig;
    return changed;
  }

  /** A restricted task needs its role's room: make it on demand (if someone we host holds the role) and fill it. */
  private async roleRoomFor(s: PursuanceState, role: string, pass: Pass): Promise<PursuanceRoom | null> {
    const existing = pass.rooms.find((r) => r.kind === "role" && r.role === role);
    if (existing) return existing;
    const users = desiredRoleMembers(s, this.h.hostedMembers).get(role) ?? [];
    if (users.length === 0) return null;
    const roomId = await this.h.rooms.ensureRoleRoom(role, s.name);
    await syncRoleRoom(this.deps, s.name, role, roomId, users);
    this.h.rooms.forget(roomId);
    const r: PursuanceRoom = { roomId, kind: "role", role };
    pass.rooms.push(r);
    pass.presentIn.set(roomId, await this.h.present(roomId));
    return r;
  }

  /** Tell a room once per person that someone in it is no member, so it shows only what is public. */
  private async warnNonMembers(s: PursuanceState, pass: Pass): Promise<void> {
    for (const r of pass.rooms) {
      for (const p of pass.presentIn.get(r.roomId) ?? []) {
        if (standingOf(s, p) !== "non-member") continue;
        if (!(await this.deps.store.sayOnce(r.roomId, p.user, "non-member"))) continue;
        const plain = `${p.user} is in this room but is not a member of ${s.name}. While they are here, this room shows only what is public (announcements): tasks show as 🔒 lines and their content goes to the rooms of the roles that read them.`;
        await this.deps.matrix.send(r.roomId, { plain, html: esc(plain), notice: true, txnId: `pursuance.nonmember.${toHex(this.deps.crypto.hash(new TextEncoder().encode(p.user), 16))}` });
      }
    }
  }

  /** Count a failed post; true when the event is now skipped (in this run: a restart tries it again). */
  private givenUp(eventId: string, err: Error): boolean {
    const n = (this.postFailures.get(eventId) ?? 0) + 1;
    this.postFailures.set(eventId, n);
    if (n < (this.deps.maxPostAttempts ?? 5)) return false;
    this.deps.log("error", "mirror gave up on an event", { room: this.h.binding.roomId, event: eventId.slice(0, 16), tries: n, error: err.message });
    this.postFailures.delete(eventId);
    this.skipped.add(eventId);
    this.dropped++;
    return true;
  }

  /** A failed pass is tried again on its own (backing off), not only when the next event arrives. */
  private retryLater(): void {
    if (this.retryTimer || this.h.isClosed) return;
    const tries = Math.max(0, ...this.postFailures.values());
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.h.scheduleMirror();
    }, Math.min(30_000, 500 * 2 ** tries));
    this.retryTimer.unref();
  }

  /** Where the pursuance lives is decided in its log (relays.set): every bound room's binding follows, so a restart does too. */
  private async followRelays(s: PursuanceState): Promise<void> {
    const relays = s.relays;
    if (relays === null || relays.join("\n") === this.h.binding.relays.join("\n")) return;
    this.h.binding.relays = [...relays];
    for (const b of await this.deps.store.rooms()) {
      if (b.groupId === this.h.binding.groupId && this.h.rooms.bound.has(b.roomId)) await this.deps.store.bindRoom({ ...b, relays: [...relays] });
    }
  }

  private async route(c: PursuanceClient, e: PEvent, pass: Pass, byId: Map<string, PEvent> | null): Promise<void> {
    const b = e.body;
    if (!b) return;
    // Someone the rooms cannot vouch for acts: said once, where members-only notices may show.
    for (const r of pass.rooms) if (r.kind === "bound" && pass.mayShow(c.state, r.roomId, { kind: "group" })) await this.trust.warn(c, r.roomId, e.author);
    if (b.t === "task.create") return this.placeTask(c, e.id, pass, byId);
    const scope = scopeOf(e);
    if (scope.kind === "task") {
      // In a task's thread, only where the task shows in full and everyone present may read it.
      for (const r of pass.rooms) {
        const L = this.ledgers.of(r.roomId);
        if (L.done.has(e.id) || !L.full.has(scope.taskId) || !pass.mayShow(c.state, r.roomId, scope)) continue;
        await this.postEvent(c, r.roomId, e);
      }
      return;
    }
    // Pursuance-wide notices go to the bound rooms; role rooms carry their role's work.
    for (const r of pass.rooms) {
      if (r.kind !== "bound") continue;
      const L = this.ledgers.of(r.roomId);
      if (L.done.has(e.id)) continue;
      if (pass.mayShow(c.state, r.roomId, scope)) await this.postEvent(c, r.roomId, e);
      else await this.record(r.roomId, e.id, null, "withheld", null);
    }
  }

  /**
   * Show a task in every room of the pursuance as its audience allows: in
   * full where everyone present reads it, a lock line in the other bound
   * rooms, and then in full in the rooms of the roles that read it.
   * With `byId` (a revisit), a task newly shown in full brings its comments.
   */
  private async placeTask(c: PursuanceClient, taskId: string, pass: Pass, byId: Map<string, PEvent> | null): Promise<void> {
    const s = c.state;
    const t = s.tasks.get(taskId);
    if (!t) return;
    const scope = { kind: "task" as const, taskId };
    let restricted = false;
    for (const r of pass.rooms) {
      if (r.kind !== "bound") continue;
      const L = this.ledgers.of(r.roomId);
      if (pass.mayShow(s, r.roomId, scope)) await this.showTask(c, r.roomId, taskId, byId);
      else {
        restricted = true;
        if (!L.full.has(taskId) && !L.lock.has(taskId)) await this.lockTask(r.roomId, taskId);
      }
    }
    // A task once locked in a bound room keeps its place in the role rooms.
    restricted ||= [...this.h.rooms.bound].some((id) => this.ledgers.of(id).lock.has(taskId));
    if (!restricted) return;
    for (const role of rolesReading(s, t)) {
      const r = await this.roleRoomFor(s, role, pass);
      if (r && pass.mayShow(s, r.roomId, scope)) await this.showTask(c, r.roomId, taskId, byId);
    }
  }

  private async showTask(c: PursuanceClient, roomId: string, taskId: string, byId: Map<string, PEvent> | null): Promise<void> {
    const L = this.ledgers.of(roomId);
    if (!L.full.has(taskId)) {
      const task = this.h.view(taskId);
      const t = c.state.tasks.get(taskId)!;
      if (!task) return;
      const hosted = this.h.hostedMembers.get(t.creator);
      const sender = await this.senderFor(c.state, roomId, t.creator, "task");
      const rendered = renderTask(task, hosted ? `by ${task.creator}` : null);
      const id = await this.send(roomId, rendered, `task.${taskId.slice(0, 40)}`, undefined, sender, `!task show ${task.num}`);
      await this.record(roomId, taskId, id, "task", taskId);
    }
    if (!byId) return;
    // Shown late (the room became able to read it): its comments follow in its thread.
    for (const cm of c.state.tasks.get(taskId)!.comments) {
      const e = byId.get(cm.id);
      if (e && !L.done.has(cm.id)) await this.postEvent(c, roomId, e);
    }
  }

  private async lockTask(roomId: string, taskId: string): Promise<void> {
    const v = this.h.view(taskId);
    if (!v) return;
    const plain = `🔒 Task #${v.num} exists (readers: ${v.readers.join(", ")}); not everyone in this room may read it, so it shows in the rooms of the roles that do.`;
    const id = await this.send(roomId, { plain, html: esc(plain), notice: true, taskId, kind: "task" }, `lock.${taskId.slice(0, 40)}`, undefined);
    await this.record(roomId, taskId, id, "lock", taskId);
  }

  private async postEvent(c: PursuanceClient, roomId: string, e: PEvent): Promise<void> {
    const s = c.state;
    const b = e.body!;
    const taskId = "task" in b ? (b as { task: string }).task : null;
    const task = taskId ? this.h.view(taskId) : null;
    const external = this.h.hostedMembers.get(e.author) === undefined && s.members.has(e.author);
    const rendered = renderEvent(s, e, task, !external);
    if (!rendered) {
      this.ledgers.of(roomId).done.add(e.id);
      return;
    }
    const sender = rendered.kind === "comment" ? await this.senderFor(s, roomId, e.author, "comment") : undefined;
    const thread = rendered.taskId ? (this.ledgers.of(roomId).full.get(rendered.taskId) ?? (await this.deps.store.taskMessage(this.h.binding.groupId, rendered.taskId, roomId))) : null;
    const id = await this.send(roomId, rendered, e.id.slice(0, 40), thread || undefined, sender, task ? `!task show ${task.num}` : undefined);
    await this.record(roomId, e.id, id, rendered.kind === "comment" ? "comment" : "notice", rendered.taskId);
  }

  /** Members who keep their own keys speak through ghosts; hosted users' words come from the bot with their name. */
  private async senderFor(s: PursuanceState, roomId: string, author: string, _kind: string): Promise<string | undefined> {
    if (this.h.hostedMembers.has(author) || !s.members.has(author)) return undefined;
    const sender = this.h.ghostOf(author);
    // A Matrix id shows beside the name only once that account confirmed the key's link to it.
    const matrix = s.links.get(author);
    const shown = matrix && (await this.h.confirmations.confirmed(author, matrix)) ? ` · ${matrix} ✓` : "";
    await this.deps.matrix.ensureGhost(roomId, sender, `${s.members.get(author)!.name} (pursuance${shown})`);
    return sender;
  }

  private async send(roomId: string, r: Rendered, txn: string, thread: string | undefined, sender?: string, more?: string): Promise<string> {
    const msg = { plain: r.plain, html: r.html, notice: r.notice, ...(thread ? { thread } : {}), ...(more ? { more } : {}), txnId: `pursuance.${txn}` };
    const id = await this.deps.matrix.send(roomId, msg, sender);
    this.mirrored++;
    return id;
  }

  async record(roomId: string, eventId: string, matrixEventId: string | null, kind: PostedKind, taskId: string | null): Promise<void> {
    await this.deps.store.markPosted({ groupId: this.h.binding.groupId, eventId, roomId, matrixEventId, kind, taskId });
    this.ledgers.of(roomId).record({ eventId, matrixEventId, kind, taskId });
  }
}

/** One mirror pass: the rooms and who is in each, read once from the homeserver. */
class Pass {
  readonly presentIn = new Map<string, Present[]>();
  constructor(
    private readonly h: Pick<MirrorHost, "present">,
    readonly rooms: PursuanceRoom[],
  ) {}

  async loadPresence(): Promise<void> {
    for (const r of this.rooms) this.presentIn.set(r.roomId, await this.h.present(r.roomId));
  }

  mayShow(s: PursuanceState, roomId: string, scope: Parameters<typeof mayShow>[2]): boolean {
    return mayShow(s, this.presentIn.get(roomId) ?? [], scope);
  }

  /** Rooms, people in them, their standing and roles: a change means every task is placed again. */
  signature(s: PursuanceState): string {
    return JSON.stringify(
      this.rooms.map((r) => [r.roomId, (this.presentIn.get(r.roomId) ?? []).map((p) => [p.user, standingOf(s, p), [...(p.member ? (s.members.get(p.member)?.roles ?? []) : [])].sort()])]),
    );
  }
}

