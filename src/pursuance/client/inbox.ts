// The client's way in: events the group delivered are stored, then folded,
// then their keys settled, in that order and one batch at a time, so nothing
// accepted is lost on a crash and nothing is folded that was not stored. A
// store or key store that fails keeps the batch first in line and retries;
// cursors move only past what is stored and readable.
import { toHex } from "../../cwtch/bytes.js";
import type { Group } from "../../cwtch/group.js";
import type { GroupSession } from "../../cwtch/group-session.js";
import type { SignedEvent } from "../../cwtch/message.js";
import type { SetTimer } from "../../cwtch/timer.js";
import type { PEvent } from "../apply-common.js";
import type { Fold } from "../fold.js";
import { toPEvents } from "../pevent.js";
import type { ClientStorePort } from "../ports.js";
import type { PursuanceState } from "../state.js";
import type { KeyCustody } from "./key-custody.js";

export interface InboxDeps {
  store: ClientStorePort;
  keys: KeyCustody;
  session: GroupSession;
  group: Group;
  fold: Fold;
  setTimer: SetTimer;
  /** The cursors the group moves as frames arrive (shared with it). */
  cursors: Record<string, number>;
  closed(): boolean;
  /** Report a failure nobody awaits (a listener or the host's log). */
  failed(e: unknown): void;
  /** After a batch is folded and its keys settled (or not), before its cursors are saved. */
  followRelays(): void;
  /** After its cursors are saved: the client's own follow-up (listeners, duties). */
  folded(pevs: PEvent[]): void;
}

export class Inbox {
  private queue: SignedEvent[] = [];
  private flushing: Promise<void> = Promise.resolve();
  /** Why the last delivered events could not be stored; they wait in the queue. */
  private storeFailure: Error | null = null;
  /** Why keys could not be settled (settleKeys); retried, and cursors wait. */
  private keyFailure: Error | null = null;
  /** Tags of epochs we opened whose watch has not succeeded yet. */
  private readonly unwatched = new Set<string>();

  constructor(private readonly d: InboxDeps) {}

  get state(): PursuanceState {
    return this.d.fold.state;
  }

  /** Nothing delivered waits to be stored. */
  get empty(): boolean {
    return this.queue.length === 0;
  }

  deliver(evs: SignedEvent[]): void {
    this.queue.push(...evs);
    // The chain never stays rejected: whatever failed is reported and the next delivery drains again.
    this.flushing = this.flushing.then(() => this.drain()).catch((e: unknown) => this.d.failed(e));
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
        this.deliver([]); // the store may answer again by now
      }
    } while (f !== this.flushing || this.queue.length > 0);
  }

  /** Cursors are a shortcut, not data: one that cannot be saved means reading a little again, never a stop. */
  async saveCursors(cursors: Record<string, number> = { ...this.d.cursors }): Promise<void> {
    if (this.d.session.log.pendingCount > 0 || this.keyFailure || this.storeFailure) return;
    try {
      for (const [r, s] of Object.entries(cursors)) await this.d.store.saveCursor(r, s);
    } catch (e) {
      this.d.failed(e);
    }
  }

  private retrySoon(): void {
    if (!this.d.closed()) this.d.setTimer(() => this.deliver([]), 1_000, true);
  }

  private async drain(): Promise<void> {
    // Keys that could not be settled are retried even with nothing new to store.
    if (this.queue.length === 0) return this.keyFailure ? this.settleKeys() : undefined;
    const evs = this.queue;
    this.queue = [];
    // Every frame at or below these cursors has had its event queued (ingest is synchronous),
    // so once this batch is stored the cursors may move there, and no further.
    const cursors = { ...this.d.cursors };
    try {
      await this.d.store.saveEvents(evs.map((e) => ({ id: toHex(e.id), bytes: e.bytes })));
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
      await this.d.keys.sync();
      for (const t of this.d.keys.applyWriteEpoch(this.state)) this.unwatched.add(t);
      if (this.unwatched.size > 0) {
        const tags = [...this.unwatched];
        await this.d.group.watchNewTags(tags);
        for (const t of tags) this.unwatched.delete(t);
      }
      this.keyFailure = null;
    } catch (e) {
      this.keyFailure = e instanceof Error ? e : new Error(String(e));
      this.retrySoon();
      throw e;
    }
  }

  private async process(evs: SignedEvent[], cursors: Record<string, number>): Promise<void> {
    const pevs = toPEvents(evs);
    this.d.fold.add(pevs);
    this.d.keys.take(this.d.fold.applied, this.state);
    let keysFailed: unknown = null;
    await this.settleKeys().catch((e: unknown) => (keysFailed = e));
    this.d.followRelays();
    await this.saveCursors(cursors);
    this.d.folded(pevs);
    if (keysFailed !== null) throw keysFailed;
  }
}
