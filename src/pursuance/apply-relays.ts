// relays.set: where the pursuance lives, decided in the log like everything
// else, so every client (and a bridge after a restart) follows one list, and
// a member without the right cannot move the pursuance for the others.
import { reject, requireCap, requireMember, type PEvent } from "./apply-common.js";
import type { Body } from "./events.js";
import type { PursuanceState } from "./state.js";

/** The capability a relays.set needs: relays.change, or rules.change under rules written before it existed. */
export function relaysCap(s: PursuanceState): "relays.change" | "rules.change" {
  const known = Object.values(s.rules.roles).some((d) => (d.caps as string[]).includes("relays.change"));
  return known ? "relays.change" : "rules.change";
}

export function applyRelaysSet(s: PursuanceState, e: PEvent, b: Extract<Body, { t: "relays.set" }>): void {
  requireMember(s, e.author);
  requireCap(s, e.author, relaysCap(s));
  if (b.relays.length === 0) reject("a pursuance needs at least one relay");
  s.relays = [...b.relays];
}
