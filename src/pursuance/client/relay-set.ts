// The relays one member's client uses: the log's list (relays.set) once it
// has one, else the configured ones, plus relays this member learned by hand
// until the log names them, plus relays held while a move posts its notice.
// Following the log never waits on a relay: a dead one must not hold anyone.
import type { Group } from "../../cwtch/group.js";
import type { RelayClient } from "../../cwtch/relay-client.js";
import { ActionError } from "../actions.js";
import type { PursuanceState } from "../state.js";
import type { ClientConfig } from "./core.js";

export interface RelaySetDeps {
  group: Group;
  /** The client's config, which this keeps in step with the log (relays, extraRelays). */
  config: ClientConfig;
  connect(url: string): RelayClient;
  log?: (message: string) => void;
  state(): PursuanceState;
}

export class RelaySet {
  /** Relays this client adds itself (a change it publishes): it copies the whole history there; followers only connect. */
  private readonly moveTo = new Set<string>();
  private readonly moves = new Map<string, Promise<void>>();
  /** Kept connected whatever the log says (a move's notice is being posted there). */
  readonly held = new Set<string>();

  constructor(private readonly d: RelaySetDeps) {}

  get relays(): string[] {
    return this.d.state().relays ?? this.d.config.relays;
  }

  /** The list after `change`, or an ActionError naming why the change makes no sense. */
  next(change: { add: string } | { remove: string }): string[] {
    const now = this.relays;
    if ("add" in change) {
      if (now.includes(change.add)) throw new ActionError(`relay already configured: ${change.add}`, change.add);
      return [...now, change.add];
    }
    if (!now.includes(change.remove)) throw new ActionError(`no such relay: ${change.remove}`, change.remove);
    if (now.length === 1) throw new ActionError("cannot remove the last relay", change.remove);
    return now.filter((u) => u !== change.remove);
  }

  /**
   * Run `publish` (the relays.set) while `adding` is marked as ours to fill:
   * following the log then copies the history there. `copied` settles when it is.
   */
  async moving(adding: string | null, publish: () => Promise<string[]>): Promise<{ relays: string[]; copied: Promise<void> }> {
    if (adding !== null) this.moveTo.add(adding);
    let relays: string[];
    try {
      relays = await publish();
    } finally {
      if (adding !== null) this.moveTo.delete(adding);
    }
    return { relays, copied: (adding !== null ? this.moves.get(adding) : undefined) ?? Promise.resolve() };
  }

  async connectConfigured(): Promise<void> {
    const { group, config } = this.d;
    for (const url of [...config.relays, ...(config.extraRelays ?? [])]) if (!group.relayUrls.includes(url)) await group.addRelay(this.d.connect(url));
  }

  async use(url: string): Promise<void> {
    const { group, config } = this.d;
    if (!this.relays.includes(url) && !config.extraRelays?.includes(url)) config.extraRelays = [...(config.extraRelays ?? []), url];
    if (!group.relayUrls.includes(url)) await group.addRelay(this.d.connect(url));
  }

  follow(): void {
    const { group, config } = this.d;
    const want = this.d.state().relays;
    if (want === null) return;
    const extra = (config.extraRelays ?? []).filter((u) => !want.includes(u));
    if (extra.length > 0) config.extraRelays = extra;
    else delete config.extraRelays;
    const keep = new Set([...want, ...extra, ...this.held]);
    for (const url of want) {
      if (group.relayUrls.includes(url)) continue;
      const move = group.addRelay(this.d.connect(url), { moveHistory: this.moveTo.has(url) });
      move.catch((e: Error) => this.d.log?.(`relay ${url}: ${e.message}`));
      this.moves.set(url, move);
    }
    for (const url of group.relayUrls) if (!keep.has(url)) group.removeRelay(url);
    if (want.join("\n") !== config.relays.join("\n")) config.relays.splice(0, config.relays.length, ...want);
  }
}
