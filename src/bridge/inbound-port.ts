// What inbound handling needs of the bridge, and nothing more: the bridge
// implements it (bridge.ts), the inbound files take it, so neither reaches
// into the other's fields and the imports point one way.
import type { AnnounceMirror } from "./announce/mirror.js";
import type { MatrixEvent } from "./appservice-http.js";
import type { BridgeE2ee } from "./e2ee/e2ee.js";
import type { HostedPursuance } from "./hosted-pursuance.js";
import type { BridgeStorePort, MatrixPort } from "./ports.js";
import type { BridgeLimits, BridgeSettings } from "./settings.js";
import type { PursuanceClient } from "../pursuance/client/client.js";
import type { Invite } from "../pursuance/invite.js";
import type { RequestAddress } from "../pursuance/join-request.js";

/** Tries per inbound event in this run, and how many were given up (the bridge's metrics read `dropped`). */
export class InboundStats {
  private readonly failures = new Map<string, number>();
  /** Encrypted events waiting for their room key, outside their room's queue → until when (ms). */
  private readonly keyWait = new Map<string, number>();
  private given = 0;

  /** Events given up on in this run. */
  get dropped(): number {
    return this.given;
  }

  /** The event was handled: its tries and key wait are forgotten. */
  handled(eventId: string): void {
    this.failures.delete(eventId);
    this.keyWait.delete(eventId);
  }

  /** One more failed try of the event; returns how many there were. */
  failed(eventId: string): number {
    const tries = (this.failures.get(eventId) ?? 0) + 1;
    this.failures.set(eventId, tries);
    return tries;
  }

  /** The event was given up on (answered with the reason, marked done). */
  gaveUp(eventId: string): void {
    this.failures.delete(eventId);
    this.given++;
  }

  /** Until when an encrypted event waits for its room key, if it has begun to wait. */
  keyWaitUntil(eventId: string): number | undefined {
    return this.keyWait.get(eventId);
  }

  /** Until when an encrypted event waits for its room key: set at its first try, `waitMs` from then. */
  keyDeadline(eventId: string, waitMs: () => number): number {
    let until = this.keyWait.get(eventId);
    if (until === undefined) this.keyWait.set(eventId, (until = Date.now() + waitMs()));
    return until;
  }
}

export interface InboundHost {
  readonly s: Pick<BridgeSettings, "log" | "relays" | "inviteRelays" | "permissionFor">;
  readonly matrix: MatrixPort;
  readonly store: BridgeStorePort;
  readonly e2ee: BridgeE2ee | null;
  readonly limits: BridgeLimits;
  readonly inbound: InboundStats;
  /** The bridge is stopping: nothing more is queued (what is stored and not done resumes next run). */
  readonly stopping: boolean;
  readonly announce: Pick<AnnounceMirror, "add" | "remove" | "status">;
  enqueue(roomId: string, fn: () => Promise<void>): void;
  refusesRoom(roomId: string): Promise<boolean>;
  pursuanceOfRoom(roomId: string): HostedPursuance | undefined;
  directRoom(userId: string): Promise<string>;
  createPursuance(roomId: string, sender: string, name: string, displayName: string): Promise<PursuanceClient>;
  joinPursuance(roomId: string, sender: string, invite: Invite, displayName: string): Promise<PursuanceClient>;
  requestToJoin(roomId: string, sender: string, addr: RequestAddress, message: string, displayName: string): Promise<string>;
}

/** The tag a command's events carry, so its effect is recognised after a crash. */
export const viaOf = (e: MatrixEvent) => `matrix:${e.event_id}`;
