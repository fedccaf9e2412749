// What a group (group.ts) is given and what it tells its host: its options,
// its events, and each relay's status.
import type { Equivocation } from "./event-log.js";
import type { CursorPort } from "./group-cursors.js";
import type { GroupSession, ReceiveOutcome } from "./group-session.js";
import type { SignedEvent } from "./message.js";
import type { RelayClient, RelayFrame } from "./relay-client.js";

export interface GroupOptions {
  session: GroupSession;
  relays?: RelayClient[];
  cursors?: CursorPort;
  /** Wait this long after a gap appears before asking, since reordered frames often arrive anyway. */
  repairDelayMs?: number;
  /** While gaps remain, ask again this often. */
  repairIntervalMs?: number;
  /** Do not re-post one event more often than this (want floods cost us nothing then). */
  repostCooldownMs?: number;
}

export interface GroupEvents {
  events: [SignedEvent[]];
  equivocation: [Equivocation];
  dropped: [ReceiveOutcome & { type: "dropped" }, RelayFrame];
  relayError: [string, Error];
  pruned: [string, number];
  reseeding: [string, number];
  /** A frame under a side-channel tag (see watchSide), undecrypted. */
  side: [RelayFrame];
}

export interface RelayStatus {
  url: string;
  connected: boolean;
  cursor: number;
}
