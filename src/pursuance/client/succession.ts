// Succession duties: the leader keeps the escrow of the top role's keys in
// step with those keys, the quorum and the successors (escrow.ts); a newly
// crowned leader combines the shares its voters sent and then says, with a
// key share to itself, that it holds the top role's current key.
import { sealScopes } from "../actions.js";
import type { ClientCore } from "./core.js";
import { schedule } from "./duty-schedule.js";
import { escrowBody, escrowStale, missingEscrowed, recoverEscrow } from "../escrow.js";
import { topRole } from "../rules.js";

export function runSuccessionDuties(c: ClientCore): void {
  const s = c.state;
  if (s.leader !== c.me) return;
  const top = topRole(s.rules);
  const k = s.keys.get(top);
  if (!k) return;
  if (missingEscrowed(c.actor, s).length > 0) {
    schedule(c, `recover:${s.escrow!.keyIds.at(-1)}`, true, () => c.state.leader === c.me && missingEscrowed(c.actor, c.state).length > 0, async () => {
      const learnt = recoverEscrow(c.actor, c.state, c.fold.applied);
      if (learnt.length === 0) return c.ports.log?.("crowned, but the votes carry too few escrow shares to recover the top role's keys yet");
      const cur = c.state.keys.get(top);
      if (cur && !cur.holders.has(c.me) && c.ring.get(cur.keyId)) {
        await c.publish({ t: "keys.share", to: c.me, keys: sealScopes(c.actor, [top], c.me).filter((r) => r.keyId === cur.keyId) });
      }
    });
  }
  if (escrowStale(s) && k.history.every((id) => c.ring.get(id))) {
    const tag = `${k.history.at(-1)}:${s.rules.succession.quorum}:${[...s.members.keys()].length}`;
    schedule(c, `escrow:${tag}`, true, () => c.state.leader === c.me && escrowStale(c.state), async () => {
      const body = escrowBody(c.actor, c.state);
      if (body) await c.publish(body);
    });
  }
}
