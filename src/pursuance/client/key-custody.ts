// A member's keys, as the log and the session need them: which keys this
// member may hold (only what applied events seal to it, or what it got outside
// the log), each kept in the store before use, every group key an epoch the
// session can read, and writing in the epoch the state names current. The
// client owns one; nothing else touches its sets.
import type { GroupSession } from "../../cwtch/group-session.js";
import type { AppliedEvent } from "../fold.js";
import { givesKeys, mayCarryKeys, type KeyRing } from "../keyring.js";
import type { ClientStorePort } from "../ports.js";
import { epochOfKeyId, type PursuanceState } from "../state.js";

export interface KeyCustodyDeps {
  ring: KeyRing;
  session: GroupSession;
  store: Pick<ClientStorePort, "saveKey">;
  log?: (message: string) => void;
}

export class KeyCustody {
  private readonly keptKeys = new Set<string>();
  /** Applied events whose keys we took (or tried to); an event the fold rejects again leaves it. */
  private readonly keysTaken = new Set<string>();
  /** Keys handed to us this session outside the log (generated, an invite, a rendezvous, an escrow). */
  private readonly outOfBand = new Set<string>();

  constructor(private readonly d: KeyCustodyDeps) {}

  /** A key taken from outside the log (a welcome): it stands whatever the log says. */
  tookOutOfBand(keyId: string): void {
    this.outOfBand.add(keyId);
    // Stored (again) as out of band at the next sync, so a reopened client keeps it too.
    if (!this.storedOutOfBand.has(keyId)) this.keptKeys.delete(keyId);
  }
  /** Keys the store holds marked out of band. */
  private readonly storedOutOfBand = new Set<string>();
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
  take(applied: readonly AppliedEvent[], state: PursuanceState): void {
    const sealed = new Set<string>();
    const authorised = new Set<string>();
    for (const a of applied) {
      const body = a.event.body;
      // Most events (tasks, comments) can seal nothing: skipping them changes nothing below.
      if (!body || !mayCarryKeys(body)) continue;
      let ids = this.sealedToUs.get(a.event.id);
      if (ids === undefined) this.sealedToUs.set(a.event.id, (ids = this.d.ring.sealedIds(body, a.event.author)));
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
      this.d.ring.ingest(body);
    }
    for (const id of sealed) if (!authorised.has(id) && !this.outOfBand.has(id)) this.d.ring.drop(id);
    for (const [scope, k] of state.keys) for (const id of k.history) this.d.ring.label(id, scope);
  }

  /** Keep a key: into the ring, and later (sync) into the store and, for group keys, the session. */
  async learn(scope: string, key: Uint8Array, persist = true, storedOutOfBand = false): Promise<void> {
    const h = this.d.ring.add(scope, key);
    // A stored key may have come from an event: the log, not the store, says whether it still stands,
    // unless the store says it was handed over outside the log.
    if (!persist) {
      this.keptKeys.add(h.keyId);
      if (storedOutOfBand) this.outOfBand.add(h.keyId), this.storedOutOfBand.add(h.keyId);
    } else this.outOfBand.add(h.keyId);
    await this.sync();
  }

  /** Every key in the ring is stored before use, and every group key is an epoch we can read. */
  async sync(): Promise<void> {
    for (const h of this.d.ring.all()) {
      if (!this.keptKeys.has(h.keyId)) {
        const outOfBand = this.outOfBand.has(h.keyId);
        await this.d.store.saveKey(h.scope, h.key, outOfBand);
        this.keptKeys.add(h.keyId);
        if (outOfBand) this.storedOutOfBand.add(h.keyId);
      }
      if (h.scope !== "group") continue;
      const epoch = epochOfKeyId(h.keyId);
      if (this.d.session.hasEpoch(epoch)) continue;
      try {
        this.d.session.addEpoch(epoch, h.key);
      } catch (e) {
        // Two keys whose ids share 32 bits: astronomically unlikely, and the second is useless to us.
        this.d.log?.(`ignoring group key ${h.keyId}: ${(e as Error).message}`);
      }
    }
  }

  /** Tags the relays were told about; null until the first connection subscribes to all we know. */
  private knownTags: Set<string> | null = null;

  /** Write in the epoch of the group key the state names current (when we hold it). Returns tags new since the last call. */
  applyWriteEpoch(state: PursuanceState): string[] {
    const cur = state.keys.get("group");
    if (cur && this.d.ring.get(cur.keyId) && this.d.session.hasEpoch(epochOfKeyId(cur.keyId))) this.d.session.setWriteEpoch(epochOfKeyId(cur.keyId));
    if (this.knownTags === null) {
      this.knownTags = new Set(this.d.session.tags);
      return [];
    }
    const fresh = this.d.session.tags.filter((t) => !this.knownTags!.has(t));
    for (const t of fresh) this.knownTags.add(t);
    return fresh;
  }
}
