// A group spread over many relays: post to all, read from all, merge by event
// id. Gaps (a missing predecessor or dep, or a peer's heads ahead of ours)
// are repaired by asking the group (`want`); any member holding the events
// re-posts them, freshly sealed. Losing a relay loses nothing while one is left.
// Its options and events are in group-types.ts, cursors in group-cursors.ts,
// gap repair in group-repair.ts, posting to the relays in group-post.ts.
import { EventEmitter } from "node:events";
import type { Equivocation } from "./event-log.js";
import { cursorKey, memoryCursors, type CursorPort } from "./group-cursors.js";
import { NoRelayAcceptedError, postLog, postToAll } from "./group-post.js";
import { GroupRepair } from "./group-repair.js";
import type { GroupSession, OutFrame, ReceiveOutcome } from "./group-session.js";
import type { GroupEvents, GroupOptions, RelayStatus } from "./group-types.js";
import type { SignedEvent } from "./message.js";
import type { RelayClient, RelayFrame } from "./relay-client.js";

export { memoryCursors, type CursorPort } from "./group-cursors.js";
export { NoRelayAcceptedError } from "./group-post.js";
export type { GroupEvents, GroupOptions, RelayStatus } from "./group-types.js";

export class Group extends EventEmitter<GroupEvents> {
  readonly session: GroupSession;
  private readonly relays = new Map<string, RelayClient>();
  private readonly caughtUp = new Set<string>();
  /** Per relay, the highest seq it has told us of on this connection (hello, fetches, live frames). */
  private readonly heard = new Map<string, number>();
  /**
   * Relay stores we already re-posted the whole log to (once per store and run), by
   * cursorKey: a relay restarted on an empty store is a new store and is seeded again.
   */
  private readonly seeded = new Set<string>();
  /** Relays a move is posting the whole log to now (addRelay with moveHistory): no automatic re-seed meanwhile. */
  private readonly moving = new Set<string>();
  private readonly cursors: CursorPort;
  /** Tags outside the session's epochs that we listen on for the layer above (an invite's rendezvous). */
  private readonly side = new Set<string>();
  private readonly repair: GroupRepair;
  private closed = false;
  /** Writes of ours in order: each signed after the one before is in our log (publishStored). */
  private signing: Promise<unknown> = Promise.resolve();
  private readonly o: Required<Omit<GroupOptions, "session" | "relays" | "cursors">>;

  constructor(opts: GroupOptions) {
    super();
    this.session = opts.session;
    this.cursors = opts.cursors ?? memoryCursors();
    this.o = {
      repairDelayMs: opts.repairDelayMs ?? 300,
      repairIntervalMs: opts.repairIntervalMs ?? 2_000,
      repostCooldownMs: opts.repostCooldownMs ?? 1_000,
    };
    this.repair = new GroupRepair(this.session, { post: (f, mustLand) => this.postEverywhere(f, mustLand), ask: () => this.requestRepair() }, this.o);
    for (const r of opts.relays ?? []) this.attach(r);
  }

  get relayUrls(): string[] {
    return [...this.relays.keys()];
  }

  status(): { events: number; pending: number; gaps: ReturnType<GroupSession["log"]["gaps"]>; equivocations: Equivocation[]; relays: RelayStatus[] } {
    const log = this.session.log;
    return {
      events: log.size,
      pending: log.pendingCount,
      gaps: log.gaps(),
      equivocations: [...log.equivocations],
      relays: [...this.relays.values()].map((r) => ({ url: r.url, connected: r.connected, cursor: this.cursors.get(cursorKey(r)) })),
    };
  }

  /** Add a relay. With `moveHistory`, re-post everything we hold there (moving or mirroring the group). */
  async addRelay(relay: RelayClient, opts: { moveHistory?: boolean } = {}): Promise<void> {
    // Moving history explicitly: the automatic re-seed on an empty relay must not post it twice.
    if (opts.moveHistory) this.moving.add(relay.url);
    this.attach(relay);
    if (!opts.moveHistory) return;
    try {
      await relay.ready();
      await postLog(relay, this.session);
      this.seeded.add(cursorKey(relay));
    } finally {
      this.moving.delete(relay.url);
    }
  }

  removeRelay(url: string): void {
    const r = this.relays.get(url);
    if (!r) return;
    this.relays.delete(url);
    this.caughtUp.delete(url);
    r.close();
  }

  /** Sign, seal and post a new event to every relay. Resolves once at least one relay holds it. */
  async publish(body: Uint8Array, epoch?: number): Promise<SignedEvent> {
    // In the same line as publishStored: two writes never sign the same seq, whichever path they take.
    const composed = this.signing.then(() => {
      if (this.closed) throw new Error("the group is closed: nothing was written");
      const { event, result } = this.session.compose(body, epoch);
      if (result.status === "delivered") this.emit("events", result.delivered);
      return event;
    });
    this.signing = composed.catch(() => undefined);
    const event = await composed;
    await this.postEverywhere(this.session.frameFor(event), true);
    return event;
  }

  /**
   * A post no relay takes does not fail the write: the event is kept (it is in the
   * log already) and `sent` is false, for the caller to send again (`resend`). With no relay
   * connected it does not wait out a post's deadline: the posts go on while we run, and land if a
   * relay answers before we close.
   */
  private async sendKept(event: SignedEvent): Promise<{ event: SignedEvent; sent: boolean }> {
    const posted = this.postEverywhere(this.session.frameFor(event), true);
    if (![...this.relays.values()].some((r) => r.connected)) {
      posted.catch(() => {});
      return { event, sent: false };
    }
    try {
      await posted;
      return { event, sent: true };
    } catch (e) {
      if (e instanceof NoRelayAcceptedError) return { event, sent: false };
      throw e;
    }
  }

  /**
   * Sign, hand to `keep` (the host's store), and only once it is kept add it
   * to our log and post it: an event of ours never leaves before it is stored,
   * and one that could not be stored is no event at all (nobody saw it, its
   * seq is signed again by the next write). One at a time, so two writes never
   * sign the same seq.
   */
  async publishStored(body: Uint8Array, epoch: number | undefined, keep: (ev: SignedEvent) => Promise<void>, o: { kept?: boolean } = {}): Promise<{ event: SignedEvent; sent: boolean }> {
    const signed = this.signing.then(async () => {
      if (this.closed) throw new Error("the group is closed: nothing was written");
      const event = this.session.sign(body, epoch);
      await keep(event);
      // Closed while the store kept it: not ours to add or send now (a reopened client reads it from the store).
      if (this.closed) throw new Error("the group closed while the write was being stored: it was not sent");
      const result = this.session.log.add(event);
      if (result.status === "delivered") this.emit("events", result.delivered);
      return event;
    });
    this.signing = signed.catch(() => undefined);
    const event = await signed;
    if (o.kept) return this.sendKept(event);
    await this.postEverywhere(this.session.frameFor(event), true);
    return { event, sent: true };
  }

  /** Post again an event we hold (one no relay took when written); resolves once some relay holds it. */
  async resend(event: SignedEvent): Promise<void> {
    await this.postEverywhere(this.session.frameFor(event), true);
  }

  /** Post a frame to one attached relay and wait for it to hold it (a move's notice, which every old relay must keep). */
  async postTo(url: string, f: OutFrame): Promise<void> {
    const r = this.relays.get(url);
    if (!r) throw new Error(`relay ${url} is not attached`);
    await r.post(f.tag, f.blob);
  }

  /** Tell the group how far we have each author (SSB-style), so withheld tails come to light. */
  announceHeads(): Promise<void> {
    return this.repair.announceHeads();
  }

  /** Ask the group for what we lack. Returns how many items were asked for. */
  requestRepair(): Promise<number> {
    return this.repair.request();
  }

  /** After learning a new epoch key: listen for its tag too, and fetch what was posted under it. */
  async watchNewTags(fresh: string[]): Promise<void> {
    if (fresh.length === 0) return;
    await Promise.allSettled(
      [...this.relays.values()].map(async (r) => {
        await r.subscribe(fresh);
        // Our cursor says nothing about tags we could not read before: read them from the start.
        await r.fetch(fresh, 0, (f) => this.ingest(f, false));
      }),
    );
  }

  /**
   * Listen on tags that are not the session's (a side channel whose frames the
   * layer above seals and opens): subscribe, replay each relay's history of
   * them, and hand every frame over as a `side` event.
   */
  async watchSide(tags: string[]): Promise<void> {
    const fresh = tags.filter((t) => !this.side.has(t));
    if (fresh.length === 0) return;
    for (const t of fresh) this.side.add(t);
    await Promise.allSettled([...this.relays.values()].filter((r) => r.connected).map((r) => this.fetchSide(r, fresh)));
  }

  /** Post an already sealed side-channel frame to every relay; resolves once one holds it. */
  async postSide(tag: string, blob: Uint8Array): Promise<void> {
    await this.postEverywhere({ tag, blob }, true);
  }

  /**
   * Carry someone else's signed event into the group (a joiner's, handed over a
   * side channel): verified and logged as if it came from a relay, then sealed
   * and posted to every relay so the whole group has it.
   */
  async carry(bytes: Uint8Array): Promise<ReceiveOutcome> {
    const out = this.session.accept(bytes);
    if (out.type !== "event") return out;
    if (out.status === "delivered") this.emit("events", out.delivered);
    const ev = this.session.log.get(out.id);
    if (ev && out.status !== "invalid") await this.postEverywhere(this.session.frameFor(ev), false);
    return out;
  }

  /** Re-fetch from every relay since its cursor (after a restart, or to double-check). */
  async catchUp(): Promise<void> {
    await Promise.allSettled([...this.relays.values()].map((r) => this.catchUpFrom(r)));
  }

  close(): void {
    this.closed = true;
    this.repair.close();
    for (const r of this.relays.values()) r.close();
    this.relays.clear();
  }

  private attach(relay: RelayClient) {
    if (this.relays.has(relay.url)) throw new Error(`relay ${relay.url} already attached`);
    this.relays.set(relay.url, relay);
    relay.on("frame", (f) => this.ingest(f, true));
    relay.on("connected", () => {
      this.caughtUp.delete(relay.url);
      this.heard.set(relay.url, relay.hello?.latest ?? 0);
      relay.subscribe(this.session.tags).catch((e) => this.emit("relayError", relay.url, e));
      this.catchUpFrom(relay).catch((e) => this.emit("relayError", relay.url, e));
      if (this.side.size > 0) this.fetchSide(relay, [...this.side]).catch((e) => this.emit("relayError", relay.url, e));
    });
    relay.on("disconnected", () => this.caughtUp.delete(relay.url));
    relay.on("protocolError", (e) => this.emit("relayError", relay.url, e));
    relay.start();
  }

  private async catchUpFrom(relay: RelayClient) {
    if (!relay.connected) return;
    const key = cursorKey(relay);
    const since = this.cursors.get(key);
    // A relay whose numbering is behind our cursor was reset (restarted with an
    // empty store, one too old to name its instance): its seqs start again at 1,
    // so read it from the start. Behind what it has told us on this connection,
    // not only in its hello: live frames move our cursor past the hello's latest.
    const reset = relay.hello !== null && Math.max(relay.hello.latest, this.heard.get(relay.url) ?? 0) < since;
    if (reset) this.seeded.delete(key);
    let events = 0;
    const count = (kind: string) => void (kind === "event" && events++);
    const batch = this.session.crypto.verifyMany ? new CatchUpBatch(this.session, (f) => this.before(f, false), (out, f) => count(this.settled(out, f)), () => this.closed) : null;
    let r;
    try {
      r = await relay.fetch(this.session.tags, reset ? 0 : since, (f) => (batch ? batch.push(f) : count(this.ingest(f, false))));
    } finally {
      // Every fetched frame is settled (stored, folded by the layer above) before the cursor moves past it.
      await batch?.done();
    }
    if (r.latest > (this.heard.get(relay.url) ?? 0)) this.heard.set(relay.url, r.latest);
    if (r.prunedOldest !== undefined) this.emit("pruned", relay.url, r.prunedOldest);
    if (reset || r.latest > this.cursors.get(key)) this.cursors.set(key, r.latest);
    this.caughtUp.add(relay.url);
    // A store that holds fewer of our events than we do, read from its start (new, or restarted
    // empty; nothing pruned) while we hold the log: re-post it there, as when moving a group, so
    // members who only know this relay lose nothing. Events, not frames: heads we announced there
    // since it came back are no history, and a post resent on reconnect is not the whole log.
    if ((reset || since === 0) && !this.seeded.has(key) && !this.moving.has(relay.url) && events < this.session.log.size && r.prunedOldest === undefined && this.session.log.size > 0 && (relay.hello?.oldest ?? 0) <= 1) {
      this.seeded.add(key);
      this.emit("reseeding", relay.url, this.session.log.size);
      await postLog(relay, this.session);
    }
  }

  private async fetchSide(relay: RelayClient, tags: string[]): Promise<void> {
    await relay.subscribe(tags);
    await relay.fetch(tags, 0, (f) => this.ingest(f, false));
  }

  /** What the frame was, for a caller counting what a fetch brought. */
  private ingest(f: RelayFrame, live: boolean): "event" | "control" | "dropped" | "side" | "closed" {
    const early = this.before(f, live);
    if (early) return early;
    return this.settled(this.session.receive(f.tag, f.blob), f);
  }

  /** What a frame does before the session sees it; a kind when that is all it does. */
  private before(f: RelayFrame, live: boolean): "side" | "closed" | null {
    if (this.closed) return "closed";
    if (this.side.has(f.tag)) return this.emit("side", f), "side";
    if (f.seq > (this.heard.get(f.relay) ?? 0)) this.heard.set(f.relay, f.seq);
    if (live && this.caughtUp.has(f.relay)) {
      const relay = this.relays.get(f.relay);
      const key = relay ? cursorKey(relay) : f.relay;
      if (f.seq > this.cursors.get(key)) this.cursors.set(key, f.seq);
    }
    return null;
  }

  /** What the session made of a frame, passed on. */
  private settled(out: ReceiveOutcome, f: RelayFrame): "event" | "control" | "dropped" {
    switch (out.type) {
      case "dropped":
        this.emit("dropped", out, f);
        return "dropped";
      case "control":
        this.repair.onControl(out.control);
        return "control";
      case "event":
        if ((out.status === "pending" || out.status === "delivered") && out.equivocation) this.emit("equivocation", out.equivocation);
        if (out.status === "delivered") this.emit("events", out.delivered);
        if (out.status === "pending") this.repair.schedule(this.o.repairDelayMs);
        return "event";
    }
  }

  /** Resolves as soon as one relay holds the frame; the others keep trying in the background. */
  private postEverywhere(f: OutFrame, mustLand: boolean): Promise<void> {
    return postToAll([...this.relays.values()], f, mustLand, (url, e) => this.emit("relayError", url, e));
  }
}

/**
 * A catch-up's frames, settled in batches through `receiveMany` (signatures
 * checked on the crypto port's worker pool) in the order the relay sent them:
 * each frame's outcome is handed on exactly as `ingest` would, and `done`
 * waits until every frame pushed so far is settled.
 */
class CatchUpBatch {
  private frames: RelayFrame[] = [];
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly session: GroupSession,
    private readonly before: (f: RelayFrame) => string | null,
    private readonly settled: (out: ReceiveOutcome, f: RelayFrame) => void,
    private readonly closed: () => boolean,
  ) {}

  push(f: RelayFrame): void {
    if (this.before(f) !== null) return;
    this.frames.push(f);
    if (this.frames.length >= CATCH_UP_BATCH) this.flush();
  }

  done(): Promise<void> {
    this.flush();
    return this.chain;
  }

  private flush(): void {
    if (this.frames.length === 0) return;
    const frames = this.frames;
    this.frames = [];
    this.chain = this.chain.then(() => this.session.receiveMany(frames, { each: (out, i) => this.settled(out, frames[i]!), stop: this.closed }).then(() => undefined));
  }
}

/** Frames a catch-up hands to the pool at once: a few of receiveMany's verify batches. */
const CATCH_UP_BATCH = 1024;
