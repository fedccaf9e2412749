// What a CLI member is told without asking: tasks newly given to them and
// their tasks due within a day, on the next command that syncs (`sync`), once; and `digest`, their open work due
// within 14 days and what changed on it since the last digest.
import type { PursuanceClient } from "../pursuance/client/client.js";
import type { TaskView } from "../pursuance/views.js";
import { digest, DIGEST_DUE, dueSoon, newAssignments } from "../usecases/notices.js";
import { withClient, type Io, type SubCommand } from "./client-context.js";
import type { Home } from "./home.js";

const line = (v: TaskView) => `#${v.num} ${v.title}${v.due ? ` (due ${v.due})` : ""} [${v.status}]`;

/**
 * Tell the member of tasks given to them since they were last told, and of
 * their tasks due within a day (once per task and due date, in this
 * machine's days); remember what was told.
 */
export function tellAssignments(c: PursuanceClient, home: Home, io: Io): void {
  const n = home.notices();
  const told = new Set(n.told);
  const reader = { client: c, now: () => c.ports.now(), zone: Intl.DateTimeFormat().resolvedOptions().timeZone };
  const fresh = newAssignments(reader, told);
  for (const v of fresh) io.out(`assigned to you: ${line(v)}`);
  const due = dueSoon(reader).filter((v) => !told.has(`due:${v.id}:${v.due}`));
  for (const v of due) io.out(`due within a day: ${line(v)}`);
  if (fresh.length + due.length === 0) return;
  home.saveNotices({ ...n, told: [...n.told, ...fresh.map((v) => v.id), ...due.map((v) => `due:${v.id}:${v.due}`)] });
}

export const NOTICE_COMMANDS: Record<string, SubCommand> = {
  digest: {
    usage: "digest [--json]",
    summary: `your open tasks due within ${DIGEST_DUE} (overdue first) and what changed on your tasks since your last digest`,
    async run(p, io) {
      await withClient(p, io, async (c, s) => {
        const n = s.home.notices();
        const now = c.ports.now();
        // The member's days are this machine's: due dates count in its time zone.
        const d = digest({ client: c, now: () => now, zone: Intl.DateTimeFormat().resolvedOptions().timeZone }, n.lastDigest);
        s.home.saveNotices({ ...n, lastDigest: now });
        if (p.values.json) return io.out(JSON.stringify({ due: d.due, changed: d.changed, since: d.since }, null, 2));
        io.out(d.due.length > 0 ? `due within ${DIGEST_DUE}:` : `nothing of yours due within ${DIGEST_DUE}`);
        for (const v of d.due) io.out(`  ${line(v)}`);
        const since = n.lastDigest === 0 ? "ever" : `since ${new Date(n.lastDigest).toISOString().slice(0, 16).replace("T", " ")} UTC`;
        io.out(d.changed.length > 0 ? `changed ${since}:` : `no change on your tasks ${since}`);
        for (const v of d.changed) io.out(`  ${line(v)}${v.comments.length > 0 ? ` — ${v.comments.length} comment${v.comments.length === 1 ? "" : "s"}` : ""}`);
      });
    },
  },
};
