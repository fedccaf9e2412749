// When a client duty runs: the designated member at once, the others after a
// fallback delay if it is still needed; one run of a duty at a time.
import { ActionError } from "../actions.js";
import type { ClientCore } from "./core.js";

export type { DutyState } from "./core.js";
import { rankOf, type PursuanceState } from "../state.js";


const DEFAULT_FALLBACK_MS = 20_000;

/** The member expected to act first: highest rank, then smallest id. */
export function designated(s: PursuanceState, candidates: string[]): string | undefined {
  return [...candidates].sort((a, b) => rankOf(s, b) - rankOf(s, a) || (a < b ? -1 : 1))[0];
}

/** Whether this client acts first: `preferred` (who started the thing) while still a member, else the designated one of `candidates`. */
export function actsFirst(c: ClientCore, preferred: string, candidates: string[]): boolean {
  return c.state.members.has(preferred) ? preferred === c.me : designated(c.state, candidates) === c.me;
}

export function schedule(c: ClientCore, key: string, first: boolean, stillNeeded: () => boolean, act: () => Promise<unknown>): void {
  if (c.duty.inflight.has(key) || c.duty.timers.has(key)) return;
  const run = () => {
    c.duty.timers.delete(key);
    if (!stillNeeded()) return;
    c.duty.inflight.add(key);
    act()
      .catch((e: Error) => {
        // Losing a race (a stale rotation) is normal; anything else is worth a line.
        if (!(e instanceof ActionError) || !/stale|needs no rotation|already/.test(e.message)) c.ports.log?.(`duty ${key}: ${e.message}`);
      })
      .finally(() => c.duty.inflight.delete(key));
  };
  if (first) {
    // Held under its key until it runs: two frames in one batch must not both queue it.
    c.duty.timers.set(key, { cancel: () => {} });
    return void queueMicrotask(run);
  }
  const ms = c.opts.fallbackDutyMs ?? DEFAULT_FALLBACK_MS;
  c.duty.timers.set(key, c.ports.setTimer(run, ms, true));
}
