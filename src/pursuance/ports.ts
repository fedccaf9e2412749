// The only ways a PursuanceClient touches the world: given to it, never
// reached for. Tests pass fakes; the CLI and the bridge pass real ones.
import type { Crypto } from "../cwtch/crypto.js";
import type { RelayClient } from "../cwtch/relay-client.js";
import type { SetTimer } from "../cwtch/timer.js";

export interface StoredEvent {
  id: string;
  bytes: Uint8Array;
}

/** Durable state of one member in one pursuance. Implementations must not lose an acknowledged write. */
export interface ClientStorePort {
  loadEvents(): Promise<Uint8Array[]>;
  saveEvents(events: StoredEvent[]): Promise<void>;
  /** `outOfBand`: the key was handed over outside the log, so it stands whatever the log says (KeyCustody). */
  loadKeys(): Promise<Array<{ scope: string; key: Uint8Array; outOfBand?: boolean }>>;
  /** Saving a key again with `outOfBand` marks it so; a key once out of band stays so. */
  saveKey(scope: string, key: Uint8Array, outOfBand?: boolean): Promise<void>;
  loadCursors(): Promise<Record<string, number>>;
  saveCursor(relay: string, seq: number): Promise<void>;
  /** Document chunk frames kept here (attached or fetched): optional, a store without them fetches from relays only. */
  saveChunks?(frames: ReadonlyArray<{ tag: string; blob: Uint8Array }>): Promise<void>;
  /** Those of these tags kept here. */
  loadChunks?(tags: readonly string[]): Promise<Map<string, Uint8Array>>;
}

export interface ClientPorts {
  crypto: Crypto;
  /** Wall clock, ms. */
  now(): number;
  /** Open (but the client starts) a connection to one relay. */
  connect(url: string): RelayClient;
  store: ClientStorePort;
  /** Every wait of the client and its duties (`systemTimer` outside tests, which drive time). */
  setTimer: SetTimer;
  log?(message: string): void;
}

export function memoryStore(): ClientStorePort & { events: StoredEvent[] } {
  const events: StoredEvent[] = [];
  const ids = new Set<string>();
  const keys: Array<{ scope: string; key: Uint8Array; outOfBand: boolean }> = [];
  const cursors: Record<string, number> = {};
  const chunks = new Map<string, Uint8Array>();
  return {
    events,
    loadEvents: async () => events.map((e) => e.bytes),
    saveEvents: async (evs) => {
      for (const e of evs) if (!ids.has(e.id)) ids.add(e.id), events.push(e);
    },
    loadKeys: async () => [...keys],
    saveKey: async (scope, key, outOfBand) => {
      // One row per key, as the database keeps it (keyed by the key's id).
      const had = keys.find((k) => Buffer.compare(k.key, key) === 0);
      if (!had) keys.push({ scope, key, outOfBand: outOfBand === true });
      else if (outOfBand) had.outOfBand = true;
    },
    loadCursors: async () => ({ ...cursors }),
    saveCursor: async (relay, seq) => void (cursors[relay] = seq),
    saveChunks: async (frames) => void frames.forEach((f) => chunks.set(f.tag, f.blob)),
    loadChunks: async (tags) => new Map(tags.flatMap((t) => (chunks.has(t) ? [[t, chunks.get(t)!] as const] : []))),
  };
}
