// What the mirror did in each room of a pursuance, in memory (the store holds
// the same rows, so a restarted bridge resumes without posting twice).
import type { PostedEvent } from "./ports.js";

export class RoomLedger {
  /** Events handled here: notices posted or withheld, comments posted. */
  readonly done = new Set<string>();
  /** Tasks shown in full here → their message (the thread root). */
  readonly full = new Map<string, string>();
  /** Tasks shown here only as "🔒 exists". */
  readonly lock = new Set<string>();

  record(p: Pick<PostedEvent, "eventId" | "kind" | "matrixEventId" | "taskId">): void {
    if (p.kind === "task") this.full.set(p.eventId, p.matrixEventId ?? "");
    else if (p.kind === "lock") this.lock.add(p.eventId);
    else this.done.add(p.eventId);
  }
}

export class Ledgers {
  private readonly byRoom = new Map<string, RoomLedger>();
  of(roomId: string): RoomLedger {
    let l = this.byRoom.get(roomId);
    if (!l) this.byRoom.set(roomId, (l = new RoomLedger()));
    return l;
  }
}
