// What a Matrix member hears in their direct chat besides assignments: a
// mention once when a task of theirs falls due within a day, and the daily
// digest of their open work due within 14 days and what changed on it since
// the last one, at the hour they chose (`!digest`). Built by the shared rules
// (usecases/notices.ts): never a task they may not read, never in a room;
// never twice after a restart (the store keeps what went, and the send's
// transaction id lets the homeserver drop a resend after a crash between).
import type { PursuanceClient } from "../pursuance/client/client.js";
import type { TaskView } from "../pursuance/views.js";
import { esc } from "../bot/reply.js";
import { DEFAULT_DIGEST, digestDue, type DigestSchedule } from "../usecases/digest-schedule.js";
import { labelsText } from "../usecases/labels.js";
import { digest, dueSoon, type Digest } from "../usecases/notices.js";
import type { BridgeStorePort, MatrixPort } from "./ports.js";

export interface DigestDeps {
  store: Pick<BridgeStorePort, "said" | "sayOnce" | "digest" | "lastDigest" | "digestSent">;
  matrix: Pick<MatrixPort, "send">;
  directRoom(matrixUser: string): Promise<string>;
  now(): number;
  log?(level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void;
}

export class DailyDigests {
  /** When each user's last digest of each pursuance went, as read or written here (this process alone writes it). */
  private readonly last = new Map<string, number | null>();

  constructor(private readonly d: DigestDeps) {}

  async pass(clients: ReadonlyMap<string, PursuanceClient>, pursuanceName: string): Promise<void> {
    for (const [user, c] of clients) {
      try {
        // Days are the member's: "due within a day" and the digest's day count in their zone.
        const schedule = (await this.d.store.digest(user)) ?? DEFAULT_DIGEST;
        await this.dueSoon(user, c, pursuanceName, schedule.tz);
        await this.digest(user, c, pursuanceName, schedule);
      } catch (e) {
        // One member's direct chat that fails must not keep the others from theirs.
        this.d.log?.("warn", "a member's digest or due-soon mention failed", { user, error: (e as Error).message });
      }
    }
  }

  private async dueSoon(user: string, c: PursuanceClient, name: string, zone: string): Promise<void> {
    const soon = dueSoon({ client: c, now: this.d.now, zone });
    if (soon.length === 0) return;
    let dm: string | null = null;
    for (const v of soon) {
      // Once per task and due date: moved to another day, it is told again.
      const what = `due ${v.id} ${v.due}`;
      dm ??= await this.d.directRoom(user);
      if (await this.d.store.said(dm, user, what)) continue;
      const line = `⏰ In ${name}, task #${v.num} is due ${v.due}: ${v.title}${labelsText(v)}.`;
      const h = `⏰ In ${esc(name)}, task <b>#${v.num}</b> is due <b>${esc(v.due ?? "")}</b>: <strong>${esc(v.title ?? "")}</strong>${esc(labelsText(v))}.`;
      await this.d.matrix.send(dm, { plain: line, html: h, notice: true, txnId: `due.${v.id.slice(0, 24)}.${v.due}.${c.me.slice(0, 16)}` });
      await this.d.store.sayOnce(dm, user, what);
    }
  }

  private async digest(user: string, c: PursuanceClient, name: string, schedule: DigestSchedule): Promise<void> {
    const now = this.d.now();
    const key = `${user}\n${c.config.groupId}`;
    let last = this.last.get(key);
    if (last === undefined) this.last.set(key, (last = await this.d.store.lastDigest(user, c.config.groupId)));
    const day = digestDue(schedule, now, last);
    if (day === null) return;
    // The first digest covers the last day; later ones, everything since the one before.
    const d = digest({ client: c, now: this.d.now, zone: schedule.tz }, last ?? now - 86_400_000);
    if (d.due.length > 0 || d.changed.length > 0) {
      const dm = await this.d.directRoom(user);
      await this.d.matrix.send(dm, { ...render(d, name, day), notice: true, txnId: `digest.${day}.${c.config.groupId.slice(0, 16)}.${c.me.slice(0, 16)}` });
    }
    // Nothing to say is still the day's digest: the next one counts from here.
    await this.d.store.digestSent(user, c.config.groupId, now);
    this.last.set(key, now);
  }
}

function item(v: TaskView): { plain: string; html: string } {
  const due = v.due ? ` (due ${v.due})` : "";
  const meta = labelsText(v);
  return {
    plain: `#${v.num} ${v.title}${due} [${v.status}]${meta}`,
    html: `<b>#${v.num}</b> ${esc(v.title ?? "")}${esc(due)} [${esc(v.status)}]${esc(meta)}`,
  };
}

export function render(d: Digest, name: string, day: string): { plain: string; html: string } {
  const due = d.due.map(item);
  const changed = d.changed.map(item);
  const plain = [
    `🗓 ${name}, ${day}: your digest (!digest off to stop, !digest at HH:MM [TZ] to move it)`,
    ...(due.length > 0 ? ["Due within 14 days:", ...due.map((i) => `• ${i.plain}`)] : []),
    ...(changed.length > 0 ? ["Changed since the last digest:", ...changed.map((i) => `• ${i.plain}`)] : []),
  ].join("\n");
  const list = (items: Array<{ html: string }>) => `<ul>${items.map((i) => `<li>${i.html}</li>`).join("")}</ul>`;
  const html = [
    `🗓 <b>${esc(name)}</b>, ${esc(day)}: your digest (<code>!digest off</code> to stop, <code>!digest at HH:MM [TZ]</code> to move it)`,
    ...(due.length > 0 ? [`<p>Due within 14 days:</p>${list(due)}`] : []),
    ...(changed.length > 0 ? [`<p>Changed since the last digest:</p>${list(changed)}`] : []),
  ].join("");
  return { plain, html };
}
