// `pursuance client relay list|add|remove|move|recover|use`: where the
// pursuance lives. add/remove/move/recover are signed relays.set events that
// every member's client follows (refused without relays.change); `use` is
// this client's own, for a member told by hand where a recovered pursuance is.
import { ActionError } from "../pursuance/actions.js";
import type { PursuanceClient } from "../pursuance/client/client.js";
import { moveRelays, recoverOnto, type CopyProgress } from "../pursuance/client/relocate.js";
import type { SubCommand } from "./client-context.js";
import { arg, syncWithProgress, timeoutOf, unanswered, withClient, type Io, type Parsed } from "./client-context.js";
import { UsageError } from "./usage.js";

function url(p: Parsed, i: number): string {
  const u = arg(p, i, "a relay URL");
  if (!/^wss?:\/\/\S+$/.test(u)) throw new UsageError(`${JSON.stringify(u)} is not a ws:// or wss:// URL`);
  return u;
}

/** "re-posting to URL: N of M frames" on stderr, at most once a second (and at the end). */
function progress(io: Io): (p: CopyProgress) => void {
  let last = 0;
  return (p) => {
    if (p.done < p.total && Date.now() - last < 1000) return;
    last = Date.now();
    io.err(`re-posting to ${p.relay}: ${p.done} of ${p.total} frames`);
  };
}

/** Reach `u` too and catch up there; true when the log itself (a move or recovery by someone else) names it. */
async function learnFrom(c: PursuanceClient, u: string, p: Parsed, io: Io): Promise<boolean> {
  if (c.relays.includes(u)) return false;
  await c.useRelay(u);
  await syncWithProgress(c, io, timeoutOf(p));
  return c.relays.includes(u);
}

/** Relays the member named that do not answer: their URLs, and what happened in the message. */
export class RelayDownError extends Error {
  constructor(
    readonly urls: readonly string[],
    message: string,
  ) {
    super(message);
    this.name = "RelayDownError";
  }
}

export const RELAY_COMMANDS: Record<string, SubCommand> = {
  relay: {
    usage: "relay list | add URL [--force] | remove URL | move URL [URL…] | recover URL | use URL",
    summary: "where the pursuance lives: add/move copy the history there (add checks first that the relay answers; --force adds one that is down on purpose); recover rebuilds a lost pursuance on a new relay from this copy",
    options: { force: { type: "boolean" } },
    async run(p, io) {
      const sub = arg(p, 0, "list, add, remove, move, recover or use");
      if (!["list", "add", "remove", "move", "recover", "use"].includes(sub)) throw new UsageError(`unknown relay command ${JSON.stringify(sub)}`);
      const urls = sub === "list" ? [] : sub === "move" ? p.positionals.slice(1).map((_, i) => url(p, i + 1)) : [url(p, 1)];
      if (sub === "move" && urls.length === 0) throw new UsageError("missing a relay URL");
      // Checked before anything is opened or signed: every member would follow the log to a dead address.
      const down = sub === "add" ? (await unanswered(p, urls))[0] : undefined;
      if (down && !p.values.force) throw new RelayDownError([down.url], `${down.url} does not answer: ${down.detail}; nothing changed (to add it anyway, while it is down on purpose: relay add ${down.url} --force)`);
      await withClient(p, io, async (c) => {
        if (sub === "list") {
          for (const r of c.group.status().relays) {
            const own = c.config.extraRelays?.includes(r.url) ? "  (this client only)" : "";
            io.out(`${r.url}  ${r.connected ? "connected" : "down"}  cursor ${r.cursor}${own}`);
          }
          return;
        }
        const u = urls[0]!;
        if (sub === "use") {
          const named = await learnFrom(c, u, p, io);
          return io.out(named ? `the pursuance lives on ${u} (its log says so): following it` : `using ${u} as well, for this client only`);
        }
        if (sub === "add" && down) {
          // Forced: nothing there to learn from or copy to now; followers copy the history when it answers.
          await c.changeRelays({ add: u });
          return io.out(`added ${u}; it does not answer now (${down.detail}), so members' clients copy the history there when it does`);
        }
        if (sub === "add") {
          // Told by hand where a moved or recovered pursuance went: its log may already say so.
          if (await learnFrom(c, u, p, io)) return io.out(`the pursuance lives on ${u} (its log says so): following it`);
          const reason = c.refusal({ t: "relays.set", relays: [...c.relays, u] });
          if (reason) {
            // Refused: nothing changes, not even for this client.
            c.config.extraRelays = c.config.extraRelays?.filter((x) => x !== u);
            if (c.config.extraRelays?.length === 0) delete c.config.extraRelays;
            c.followRelays();
            throw new ActionError(`${reason} (to use ${u} for this client only: pursuance client relay use ${u})`, u);
          }
          const { copied } = await c.changeRelays({ add: u });
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutOf(p))));
          const ok = await Promise.race([copied.then(() => true, () => false), late]).finally(() => clearTimeout(timer));
          if (!ok) return io.out(`added ${u}; it does not answer, so members' clients copy the history there when it does`);
          return io.out(`added ${u} and re-posted ${c.session.log.size} events`);
        }
        if (sub === "remove") {
          await c.changeRelays({ remove: u });
          return io.out(`removed ${u}`);
        }
        if (sub === "move") {
          const r = await moveRelays(c, urls, { onProgress: progress(io) });
          const n = Object.values(r.copied).reduce((a, b) => a + b, 0);
          return io.out(`moved to ${r.relays.join(", ")}: re-posted ${n} frames; the notice is on ${r.noticeOn.length} relays (${r.noticeOn.join(", ")})`);
        }
        const r = await recoverOnto(c, u, { onProgress: progress(io) });
        if (r.id) return io.out(`recovered ${r.copied} events onto ${u}; every member who reaches it follows (relays.set ${r.id})`);
        io.out(`copied ${r.copied} events onto ${u}, but did not name it for everyone (${r.refused}); members reach it with: pursuance client relay add ${u}`);
      });
    },
  },
};
