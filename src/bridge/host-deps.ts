// What hosting a pursuance needs from the bridge (hosted-pursuance.ts and the
// mirror it drives, room-mirror.ts).
import type { Crypto } from "../cwtch/crypto.js";
import type { PursuanceClient } from "../pursuance/client/client.js";
import type { BridgeStorePort, MatrixPort } from "./ports.js";

export interface HostDeps {
  crypto: Crypto;
  store: BridgeStorePort;
  matrix: MatrixPort;
  userPrefix: string;
  /** rooms.perRole: a room for every role from the start (otherwise made when restricted work needs one). */
  perRoleRooms?: boolean;
  /** Deadline of one step in this room's queue (a command or a mirror pass); default 30 s. */
  stepTimeoutMs?: number;
  /** Tries to post one event before the mirror skips it (default 5). */
  maxPostAttempts?: number;
  /** Called whenever the mirror is asked to run (the log or a room changed): the public-announcement mirror listens. */
  onChanged?: () => void;
  /** After each mirror pass: tell hosted members of tasks given to them (assignment-notices.ts). */
  notices?: { pass(clients: ReadonlyMap<string, PursuanceClient>, pursuanceName: string): Promise<void> };
  log(level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void;
}
