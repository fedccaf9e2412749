// Catching up: fetch from every relay, tell peers our heads, ask for gaps,
// and wait until nothing has been missing or arriving for a quiet spell.
import type { Group } from "../../cwtch/group.js";
import type { ClientPorts } from "../ports.js";

export interface SyncProgress {
  events: number;
  pending: number;
  gaps: number;
  relaysConnected: number;
}

export interface SyncOptions {
  timeoutMs?: number;
  quietMs?: number;
}

/** What `catchUp` needs of the client. */
export interface Syncing {
  readonly ports: ClientPorts;
  readonly group: Group;
  flushed(): Promise<void>;
  sendUnsent(): Promise<void>;
  sleep(ms: number): Promise<void>;
  /** Tell the host how far we are. */
  report(p: SyncProgress): void;
  /** Everything delivered is stored: let the cursors move past it. */
  settled(): Promise<void>;
  /** Look at the duties once more (some fall due with no new event). */
  tick(): void;
}

export function progressOf(group: Group): SyncProgress {
  const st = group.status();
  return {
    events: st.events,
    pending: st.pending,
    gaps: st.gaps.ids.length + st.gaps.ranges.length,
    relaysConnected: st.relays.filter((r) => r.connected).length,
  };
}

export async function catchUp(c: Syncing, o: SyncOptions): Promise<SyncProgress> {
  const now = () => c.ports.now();
  const deadline = now() + (o.timeoutMs ?? 15_000);
  const quiet = o.quietMs ?? 400;
  const connectBy = now() + Math.min(o.timeoutMs ?? 15_000, 10_000);
  while (now() < connectBy && progressOf(c.group).relaysConnected === 0) await c.sleep(50);
  await c.group.catchUp();
  // With every relay down a post waits for the relay's whole timeout: the heads go out when one answers.
  const heads = c.group.announceHeads().catch(() => {});
  if (progressOf(c.group).relaysConnected > 0) await Promise.all([heads, c.sendUnsent()]);
  let last = -1;
  let stableSince = now();
  for (;;) {
    await c.flushed();
    const p = progressOf(c.group);
    c.report(p);
    if (p.events !== last || p.pending > 0 || p.gaps > 0) {
      if (p.gaps > 0) await c.group.requestRepair().catch(() => 0);
      last = p.events;
      stableSince = now();
    }
    if (now() - stableSince >= quiet || now() >= deadline) {
      await c.settled();
      c.tick();
      return p;
    }
    await c.sleep(100);
  }
}
