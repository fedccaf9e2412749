// Tells a Matrix member, in their direct chat with the bot, of a task given
// to them (or to a role they hold), and composes the due-soon mentions and
// the daily digest (daily-digest.ts): once, across restarts (the bridge store
// remembers; the send's transaction id lets the homeserver drop a resend after
// a crash between the two). Built from the member's own client by the shared
// rule (usecases/notices.ts): never a task they may not read, never in a room.
import type { PursuanceClient } from "../pursuance/client/client.js";
import type { TaskView } from "../pursuance/views.js";
import { esc } from "../bot/reply.js";
import { newAssignments } from "../usecases/notices.js";
import { DailyDigests } from "./daily-digest.js";
import type { BridgeStorePort, MatrixPort } from "./ports.js";

export interface NoticeDeps {
  store: Pick<BridgeStorePort, "said" | "sayOnce" | "digest" | "lastDigest" | "digestSent">;
  matrix: Pick<MatrixPort, "send">;
  /** The user's direct chat with the bot (made if none). */
  directRoom(matrixUser: string): Promise<string>;
  log(level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void;
  now(): number;
}

export class AssignmentNotices {
  /** Per Matrix user and pursuance, the tasks known told (the store is asked once per task). */
  private readonly told = new Map<string, Set<string>>();
  /** Due-soon mentions and the daily digest (daily-digest.ts), on the same passes. */
  private readonly daily: DailyDigests;

  constructor(private readonly d: NoticeDeps) {
    this.daily = new DailyDigests(d);
  }

  async pass(clients: ReadonlyMap<string, PursuanceClient>, pursuanceName: string): Promise<void> {
    await this.assignments(clients, pursuanceName);
    await this.daily.pass(clients, pursuanceName);
  }

  private async assignments(clients: ReadonlyMap<string, PursuanceClient>, pursuanceName: string): Promise<void> {
    for (const [user, c] of clients) {
      // One member's direct chat that fails must not keep the others from their notices.
      await this.tell(user, c, pursuanceName).catch((e: Error) => this.d.log("warn", "a member's assignment notice failed", { user, error: e.message }));
    }
  }

  private async tell(user: string, c: PursuanceClient, pursuanceName: string): Promise<void> {
    const key = `${user}\n${c.id}`;
    let told = this.told.get(key);
    if (!told) this.told.set(key, (told = new Set()));
    const fresh = newAssignments({ client: c, now: this.d.now }, told);
    if (fresh.length === 0) return;
    const dm = await this.d.directRoom(user);
    for (const v of fresh) {
      const what = `assigned ${v.id}`;
      if (!(await this.d.store.said(dm, user, what))) {
        await this.d.matrix.send(dm, { ...message(v, pursuanceName), notice: true, txnId: `assigned.${v.id.slice(0, 32)}.${c.me.slice(0, 16)}` });
        await this.d.store.sayOnce(dm, user, what);
      }
      told.add(v.id);
    }
  }
}

function message(v: TaskView, pursuance: string): { plain: string; html: string } {
  const due = v.due ? ` (due ${v.due})` : "";
  return {
    plain: `📌 In ${pursuance}, task #${v.num} is yours: ${v.title}${due}. Reply in its thread to comment; !task show ${v.num} for the whole task.`,
    html: `📌 In ${esc(pursuance)}, task <b>#${v.num}</b> is yours: <strong>${esc(v.title ?? "")}</strong>${esc(due)}. Reply in its thread to comment; <code>!task show ${v.num}</code> for the whole task.`,
  };
}
