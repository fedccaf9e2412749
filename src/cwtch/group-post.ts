// A group's posts (group.ts): a frame to all its relays, done once one relay
// holds it (the others keep trying in the background), failing only when none
// did; and the whole log to one relay.
import type { GroupSession, OutFrame } from "./group-session.js";
import type { RelayClient } from "./relay-client.js";

/**
 * Resolves as soon as one relay holds the frame; the others keep trying in the background.
 * Each relay's failure goes to `onError`; with `mustLand`, none holding it is a NoRelayAcceptedError.
 */
export function postToAll(relays: RelayClient[], f: OutFrame, mustLand: boolean, onError: (url: string, e: Error) => void): Promise<void> {
  const posts = relays.map((r) =>
    r.post(f.tag, f.blob).catch((e: Error) => {
      onError(r.url, e);
      throw e;
    }),
  );
  return Promise.any(posts).then(
    () => undefined,
    (e: unknown) => {
      if (mustLand) throw new NoRelayAcceptedError(e instanceof AggregateError ? (e.errors as Error[]) : []);
    },
  );
}

/** A post no relay acknowledged before its deadline; says which relays and why, each. */
export class NoRelayAcceptedError extends Error {
  constructor(readonly failures: Error[]) {
    super(`no relay accepted the frame (${failures.length} tried)${failures.length > 0 ? `: ${failures.map((f) => f.message).join("; ")}` : ""}`);
    this.name = "NoRelayAcceptedError";
  }
}

/** Post the whole log to one relay, in order, each event freshly sealed (moving a group there, or seeding its empty store). */
export async function postLog(relay: RelayClient, session: GroupSession): Promise<void> {
  for (const ev of session.log.events()) {
    const f = session.frameFor(ev);
    await relay.post(f.tag, f.blob);
  }
}
