// No window after a removal: a client never writes new content under a key
// that someone who lost their entitlement still holds. Before a write it
// rotates every key the write would use that needs rotation (and that it may
// rotate); after a write that takes someone's key away it rotates at once, in
// the same call, rather than leaving it to a duty. See docs/protocol.md.
import { ActionError, rotateBody, type Actor } from "./actions.js";
import type { Body } from "./events.js";
import { entitled, type PursuanceState } from "./state.js";

/** What this needs of a client: a narrow port, so it imports no client. */
export interface FreshnessPort {
  readonly me: string;
  readonly state: PursuanceState;
  readonly actor: Actor;
  /** Publish as is (no freshness step: this is what the step itself uses). */
  publishNow(body: Body): Promise<unknown>;
  /** Duty keys in flight, shared with client/duties.ts so a rotation is not done twice. */
  readonly inflight: Set<string>;
  sleep(ms: number): Promise<void>;
}

/** Events that can leave a key with someone no longer entitled to it. */
const TAKES_KEYS = new Set<Body["t"]>(["remove", "role.revoke", "role.delete", "role.amend", "leave", "keys.undelegate", "keys.unreadable", "leader.transfer"]);

/** Key scopes a body's bytes or content are encrypted under: the group key (every frame), and a new task's readers. */
export function scopesUsedBy(body: Body): string[] {
  if (body.t === "task.create") return ["group", ...body.readers];
  return ["group"];
}

/** Rotate each of `scopes` that needs it and that we may rotate. Returns the scopes still needing rotation. */
export async function rotateWhereDue(p: FreshnessPort, scopes: Iterable<string>): Promise<string[]> {
  const stuck: string[] = [];
  for (const scope of new Set(scopes)) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const k = p.state.keys.get(scope);
      if (!k || !k.needsRotation) break;
      if (!entitled(p.state, p.me).includes(scope)) break;
      const duty = `rotate:${scope}:${k.keyId}`;
      if (p.inflight.has(duty)) {
        // A duty is already rotating it: wait for that (bounded), then look again.
        for (let i = 0; i < 100 && p.inflight.has(duty); i++) await p.sleep(50);
        continue;
      }
      p.inflight.add(duty);
      try {
        await p.publishNow(rotateBody(p.actor, p.state, scope).body);
      } catch (e) {
        // Someone else's rotation landed first: look again.
        if (!(e instanceof ActionError) || !/stale|needs no rotation|not new/.test(e.message)) throw e;
      } finally {
        p.inflight.delete(duty);
      }
    }
    if (p.state.keys.get(scope)?.needsRotation) stuck.push(scope);
  }
  return stuck;
}

/** Before a write: every key it uses must be fresh, or the write waits. */
export async function freshenFor(p: FreshnessPort, body: Body): Promise<void> {
  if (body.t === "keys.rotate" || body.t === "keys.share" || body.t === "keys.unreadable" || body.t === "genesis" || body.t === "join") return;
  const stuck = await rotateWhereDue(p, scopesUsedBy(body));
  // Content for readers whose key a former holder still has: hold it until a rotation lands.
  if (stuck.length > 0 && body.t !== "leave" && !TAKES_KEYS.has(body.t)) {
    throw new ActionError(`the ${stuck.map((s) => `"${s}"`).join(", ")} key must rotate first (a member lost it) and we may not rotate it: try again once a holder has`, stuck);
  }
}

/** After a write that takes keys away: rotate what we can, now. */
export async function rotateAfter(p: FreshnessPort, body: Body): Promise<void> {
  if (!TAKES_KEYS.has(body.t) || !p.state.members.has(p.me)) return;
  await rotateWhereDue(p, [...p.state.keys.keys()]);
}
