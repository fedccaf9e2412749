// Mirrors each pursuance's accepted announcements into its public rooms (the
// config's `announce.rooms` and those added with `!announce room add`). Every
// public room has its own queue, apart from the pursuance's room queues: a
// room that is gone or a homeserver that is down is retried with backoff and
// holds up nothing else. A room added later gets every past announcement, in
// order; the ledger in the database keeps a restart from posting any twice.
import type { PublicAnnouncement } from "../../pursuance/announcement-proof.js";
import { RoomUnreachableError, type AnnounceStorePort, type PublicRoomsPort } from "./ports.js";
import { announcementMessage, atomFeed } from "./render.js";

export interface AnnounceSource {
  groupId: string;
  pursuanceId: string;
  name(): string;
  /** Accepted announcements in log order, with proofs; empty until the log is loaded. */
  announcements(skip?: (id: string) => boolean): PublicAnnouncement[];
}

export interface AnnounceMirrorDeps {
  store: AnnounceStorePort;
  rooms: PublicRoomsPort;
  /** Aliases from the config for a pursuance id. */
  configured(pursuanceId: string): readonly string[];
  /** First retry delay and the cap (default 1 s and 5 min). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  log(level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void;
}

/** A Matrix room alias, #local:server, as people type it. */
export const ALIAS = /^#[^:\s]+:[A-Za-z0-9.-]+(?::\d+)?$/;

export class AliasError extends Error {
  constructor(readonly value: string) {
    super(`${JSON.stringify(value)} is not a room alias (#name:server)`);
    this.name = "AliasError";
  }
}

class Target {
  chain: Promise<void> = Promise.resolve();
  queued = false;
  failures = 0;
  timer: NodeJS.Timeout | null = null;
  posted: Set<string> | null = null;
  gone = false;
  constructor(
    readonly groupId: string,
    readonly alias: string,
  ) {}
}

export class AnnounceMirror {
  private readonly sources = new Map<string, AnnounceSource>();
  private readonly targets = new Map<string, Target>();
  private readonly added = new Map<string, string[]>();
  private closed = false;
  /** Announcements posted to public rooms, and failed tries (metrics). */
  posted = 0;
  failures = 0;

  constructor(private readonly d: AnnounceMirrorDeps) {}

  register(src: AnnounceSource): void {
    this.sources.set(src.groupId, src);
    this.kick(src.groupId);
  }

  /** The Atom feed of a pursuance's announcements, by pursuance id; null for one not hosted here. */
  feed(pursuanceId: string, selfUrl: string | null): string | null {
    const src = this.source(pursuanceId);
    return src ? atomFeed(pursuanceId, src.name(), src.announcements(), selfUrl) : null;
  }

  source(pursuanceId: string): AnnounceSource | undefined {
    return [...this.sources.values()].find((s) => s.pursuanceId === pursuanceId);
  }

  /** Something changed in a pursuance: every public room of it looks for announcements it lacks. */
  kick(groupId: string): void {
    if (this.closed) return;
    void this.aliases(groupId)
      .then((aliases) => {
        for (const alias of aliases) this.target(groupId, alias);
        for (const t of this.targets.values()) if (t.groupId === groupId) this.schedule(t);
      })
      .catch((e: Error) => this.d.log("error", "cannot list a pursuance's public rooms", { group: groupId.slice(0, 12), error: e.message }));
  }

  /** The config's rooms and the added ones, without repeats. */
  async aliases(groupId: string): Promise<string[]> {
    const src = this.sources.get(groupId);
    let added = this.added.get(groupId);
    if (!added) {
      added = await this.d.store.announceRooms(groupId);
      this.added.set(groupId, added);
    }
    return [...new Set([...(src ? this.d.configured(src.pursuanceId) : []), ...added])];
  }

  /** `!announce room add`: the room gets every past announcement, then each new one. */
  async add(groupId: string, alias: string, by: string): Promise<boolean> {
    if (!ALIAS.test(alias)) throw new AliasError(alias);
    // Made ready now, so a room the bridge can never reach is refused here, in the user's words,
    // instead of being accepted and retried forever in the log. Other failures (the homeserver
    // down, say) are retried by the mirror as before.
    const src = this.sources.get(groupId);
    if (src) {
      const { name, topic } = roomTexts(src);
      await this.d.rooms.ensurePublicRoom(alias, name, topic).catch((e: unknown) => {
        if (e instanceof RoomUnreachableError) throw e;
      });
    }
    const fresh = await this.d.store.addAnnounceRoom(groupId, alias, by);
    this.added.set(groupId, await this.d.store.announceRooms(groupId));
    this.kick(groupId);
    return fresh;
  }

  /** `!announce room remove`: no more posts there (what is there stays: it is signed and public). */
  async remove(groupId: string, alias: string): Promise<"removed" | "configured" | "absent"> {
    const src = this.sources.get(groupId);
    if (src && this.d.configured(src.pursuanceId).includes(alias)) return "configured";
    const had = await this.d.store.removeAnnounceRoom(groupId, alias);
    this.added.set(groupId, await this.d.store.announceRooms(groupId));
    const key = `${groupId}|${alias}`;
    const t = this.targets.get(key);
    if (t) {
      t.gone = true;
      if (t.timer) clearTimeout(t.timer);
      this.targets.delete(key);
    }
    return had ? "removed" : "absent";
  }

  /** Each public room of a pursuance with how far it is behind (for `!announce room list`). */
  async status(groupId: string): Promise<Array<{ alias: string; configured: boolean; behind: number; failing: number }>> {
    const src = this.sources.get(groupId);
    const conf = new Set(src ? this.d.configured(src.pursuanceId) : []);
    const all = src?.announcements() ?? [];
    const out = [];
    for (const alias of await this.aliases(groupId)) {
      const t = this.targets.get(`${groupId}|${alias}`);
      const posted = t?.posted ?? (await this.d.store.announcePosted(groupId, alias));
      out.push({ alias, configured: conf.has(alias), behind: all.filter((a) => !posted.has(a.id)).length, failing: t?.failures ?? 0 });
    }
    return out;
  }

  /** Resolves when every public room's queue is empty (tests). */
  async idle(): Promise<void> {
    for (const t of this.targets.values()) await t.chain;
  }

  async stop(): Promise<void> {
    this.closed = true;
    for (const t of this.targets.values()) if (t.timer) clearTimeout(t.timer);
    await Promise.all([...this.targets.values()].map((t) => t.chain));
  }

  private target(groupId: string, alias: string): Target {
    const key = `${groupId}|${alias}`;
    let t = this.targets.get(key);
    if (!t) this.targets.set(key, (t = new Target(groupId, alias)));
    return t;
  }

  private schedule(t: Target): void {
    if (t.queued || t.timer || t.gone || this.closed) return;
    t.queued = true;
    t.chain = t.chain
      .then(async () => {
        t.queued = false;
        await this.pass(t);
        t.failures = 0;
      })
      .catch((e: Error) => {
        t.failures++;
        this.failures++;
        const wait = Math.min(this.d.retryMaxMs ?? 300_000, (this.d.retryBaseMs ?? 1_000) * 2 ** (t.failures - 1));
        this.d.log("warn", "announcement mirror failed; retrying", { room: t.alias, tries: t.failures, retryInMs: wait, error: e.message });
        if (this.closed || t.gone || t.timer) return;
        t.timer = setTimeout(() => {
          t.timer = null;
          this.schedule(t);
        }, wait);
        t.timer.unref();
      });
  }

  private async pass(t: Target): Promise<void> {
    const src = this.sources.get(t.groupId);
    if (!src || t.gone || this.closed) return;
    t.posted ??= await this.d.store.announcePosted(t.groupId, t.alias);
    const posted = t.posted;
    const pending = src.announcements((id) => posted.has(id));
    if (pending.length === 0) return;
    const name = src.name();
    const texts = roomTexts(src);
    const roomId = await this.d.rooms.ensurePublicRoom(t.alias, texts.name, texts.topic);
    // In log order, one at a time: a failure leaves the rest for the retry, so the room never skips one.
    for (const a of pending) {
      if (t.gone || this.closed) return;
      const id = await this.d.rooms.send(roomId, announcementMessage(name, a));
      // The directory lists public rooms by name and topic: the profile is what people should see there.
      if (a.kind === "profile") await this.d.rooms.setTopic(roomId, `${name}: ${a.text.replace(/\n/g, " · ")} (pursuance ${src.pursuanceId})`);
      await this.d.store.markAnnouncePosted(t.groupId, t.alias, a.id, id);
      t.posted.add(a.id);
      this.posted++;
    }
  }
}

/** The public room's name and topic for a pursuance's announcements. */
function roomTexts(src: { name(): string; pursuanceId: string }): { name: string; topic: string } {
  const name = src.name();
  return { name: `${name}: announcements`, topic: `Signed public announcements of ${name} (pursuance ${src.pursuanceId}). Only the bridge posts here; check any of them with pursuance verify-announcement.` };
}
