// Per-relay cursors of a group (group.ts): how far we have read each relay's
// store, keyed by the store itself so a relay back on a new store is read again.
import type { RelayClient } from "./relay-client.js";

/** Where per-relay cursors live (memory by default; a store can persist them). */
export interface CursorPort {
  get(relay: string): number;
  set(relay: string, seq: number): void;
}

export function memoryCursors(): CursorPort {
  const m = new Map<string, number>();
  return { get: (r) => m.get(r) ?? 0, set: (r, s) => void m.set(r, s) };
}

/**
 * A cursor belongs to one store's numbering: keyed by the relay's instance
 * (from its hello), a relay that came back on a new store starts from 0
 * instead of skipping what the new store numbered below our old cursor.
 */
export function cursorKey(relay: RelayClient): string {
  const inst = relay.hello?.instance;
  return inst ? `${relay.url}#${inst}` : relay.url;
}
