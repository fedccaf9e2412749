// `pursuance client link …`: links to other pursuances, tasks sent over them
// with the speaker's attestation, and answers that flow back.
import { LINK_STATUSES, type LinkStatus } from "../pursuance/events.js";
import { acceptLink, answerTask, confirmPeerSpeaker, offerLink, sendTask } from "../pursuance/client/links.js";
import { LinkTokenError } from "../pursuance/link.js";
import { findLink, findReceived, memberName } from "../pursuance/views.js";
import type { SubCommand } from "./client-context.js";
import { arg, withClient } from "./client-context.js";
import { UsageError } from "./usage.js";

const SUBS = ["offer", "accept", "list", "send", "inbox", "sent", "answer", "speaker"];

export const LINK_COMMANDS: Record<string, SubCommand> = {
  link: {
    usage: 'link offer --roles R[,R…] | link accept TOKEN | link list | link send LINK "title" [--body TEXT] | link sent | link inbox | link answer ID accepted|declined|done [--note TEXT] | link speaker LINK KEY',
    summary: "links to other pursuances: offer one (prints a token to hand over), accept one, send a task over it, answer tasks sent to us",
    options: { roles: { type: "string" }, body: { type: "string" }, note: { type: "string" } },
    async run(p, io) {
      const sub = arg(p, 0, `one of ${SUBS.join(", ")}`);
      if (!SUBS.includes(sub)) throw new UsageError(`unknown link command ${JSON.stringify(sub)} (${SUBS.join(", ")})`);
      const roles = ((p.values.roles as string | undefined) ?? "").split(",").map((r) => r.trim()).filter((r) => r !== "");
      if (sub === "offer" && roles.length === 0) throw new UsageError('link offer needs --roles: our roles that may send tasks over the link (e.g. --roles admin)');
      const status = sub === "answer" ? arg(p, 2, LINK_STATUSES.join(", ")) : "";
      if (sub === "answer" && !(LINK_STATUSES as readonly string[]).includes(status)) throw new UsageError(`answer must be one of ${LINK_STATUSES.join(", ")}, not ${JSON.stringify(status)}`);
      await withClient(p, io, async (c) => {
        const s = c.state;
        if (sub === "offer") {
          io.err(`link offered; hand this token to the other pursuance (it lets its holder post on the link's channel):`);
          return io.out(await offerLink(c, roles));
        }
        if (sub === "accept") {
          let l;
          try {
            l = await acceptLink(c, arg(p, 1, "the link token"));
          } catch (e) {
            if (e instanceof LinkTokenError) throw new UsageError(e.message);
            throw e;
          }
          return io.out(`linked with ${l.peerName} (${l.peer}); they may send tasks from: ${l.roles.join(", ")}`);
        }
        if (sub === "list") {
          const rows = [...s.peers.values()];
          if (p.values.json) return io.out(JSON.stringify(rows.map(({ seed: _seed, helloProof: _proof, ...r }) => r), null, 2));
          if (rows.length === 0) return io.out("no links");
          for (const l of rows) io.out(`${l.link.slice(0, 16)}  ${l.side.padEnd(8)} ${l.peer ? `${l.peerName} (${l.peer.slice(0, 12)})` : "waiting for the other side"}  roles: ${l.roles.join(", ")}  speaker: ${memberName(s, l.speaker)}`);
          return;
        }
        if (sub === "send") {
          const l = findLink(c.state, arg(p, 1, "the link (id prefix or the other side's name)"));
          const id = await sendTask(c, l, arg(p, 2, "the title"), (p.values.body as string | undefined) ?? "");
          io.err(`sent to ${l.peerName}; it goes out with our speaker's attestation (${memberName(s, l.speaker)}'s client must be online)`);
          return io.out(id);
        }
        if (sub === "speaker") {
          // Out of band: their previous speaker was removed and will not hand over; we confirmed the new one with them.
          const l = findLink(c.state, arg(p, 1, "the link (id prefix or the other side's name)"));
          const key = arg(p, 2, "the other side's new speaker (64 hex characters)");
          if (!/^[0-9a-f]{64}$/.test(key)) throw new UsageError(`a speaker is a 64-character hex key, not ${JSON.stringify(key)}`);
          await confirmPeerSpeaker(c, l, key);
          return io.out(`${l.peerName}'s speaker is now ${key}; attestations by ${l.peerSpeaker ?? "the previous one"} are refused from here on`);
        }
        if (sub === "answer") {
          const [id, t] = findReceived(c.state, arg(p, 1, "the task's id (see 'link inbox')"));
          await answerTask(c, id, t, status as LinkStatus, (p.values.note as string | undefined) ?? "");
          return io.out(`${status} ${t.title}`);
        }
        const map = sub === "inbox" ? s.received : s.sent;
        const rows = [...map.entries()].map(([id, t]) => ({ id, ...t, peer: s.peers.get(t.link)?.peerName ?? "" }));
        if (p.values.json) return io.out(JSON.stringify(rows, null, 2));
        if (rows.length === 0) return io.out(sub === "inbox" ? "no tasks received" : "no tasks sent");
        for (const r of rows) io.out(`${r.id.slice(0, 16)}  ${r.status.padEnd(8)} ${sub === "inbox" ? "from" : "to"} ${r.peer}: ${r.title}${r.note ? ` — ${r.note}` : ""}`);
      });
    },
  },
};
