// What the bridge needs from storage and from Matrix, as small interfaces.
// src/store implements the first over PostgreSQL/PGlite; src/bridge/appservice.ts
// implements the second with matrix-bot-sdk against a real homeserver.
import type { DigestSchedule } from "../usecases/digest-schedule.js";

export interface RoomBinding {
  roomId: string;
  groupId: string;
  pursuanceId: string;
  name: string;
  relays: string[];
  boundBy: string;
}

export interface StoredIdentity {
  matrixUser: string;
  groupId: string;
  memberId: string;
  /** nonce ‖ XChaCha20-Poly1305(secret key) under the bridge's identity key. */
  sealedSecret: Uint8Array;
}

/** "lock": only the line saying a task exists; "withheld": decided not to post here (no Matrix event). */
export type PostedKind = "task" | "lock" | "comment" | "notice" | "withheld";

export interface PostedEvent {
  groupId: string;
  eventId: string;
  roomId: string;
  matrixEventId: string | null;
  kind: PostedKind;
  taskId: string | null;
}

export interface BridgeStorePort {
  bindRoom(b: RoomBinding): Promise<void>;
  rooms(): Promise<RoomBinding[]>;
  room(roomId: string): Promise<RoomBinding | null>;
  putIdentity(i: StoredIdentity): Promise<void>;
  identities(groupId: string): Promise<StoredIdentity[]>;
  /** Record that a pursuance event is in the room (idempotent). */
  markPosted(p: PostedEvent): Promise<void>;
  /** Everything the mirror did for a pursuance, in every room. */
  posted(groupId: string): Promise<PostedEvent[]>;
  /** The message that shows a task in full in a room (its thread root), if posted there. */
  taskMessage(groupId: string, taskId: string, roomId: string): Promise<string | null>;
  taskForMessage(roomId: string, matrixEventId: string): Promise<string | null>;
  /** Store an inbound Matrix event before acknowledging it; false if it was stored before. */
  claimInbound(eventId: string, roomId: string, event: string): Promise<boolean>;
  markInboundDone(eventId: string): Promise<void>;
  /** Events stored but not yet handled (a crash came between), oldest first. */
  pendingInbound(): Promise<string[]>;
  /** The room kept for one role of a pursuance (rooms.perRole), if made. */
  roleRoom(groupId: string, role: string): Promise<string | null>;
  setRoleRoom(groupId: string, role: string, roomId: string): Promise<void>;
  /** The bot's direct chat with a Matrix user, if made. */
  directRoom(matrixUser: string): Promise<string | null>;
  setDirectRoom(matrixUser: string, roomId: string): Promise<void>;
  /** Record that `what` was said to `userId` in a room; false if it was said before. */
  sayOnce(roomId: string, userId: string, what: string): Promise<boolean>;
  /** Whether `what` was recorded for `userId` in a room (sayOnce), without recording it. */
  said(roomId: string, userId: string, what: string): Promise<boolean>;
  /** A Matrix user's digest schedule; null: never set (the default applies). */
  digest(matrixUser: string): Promise<DigestSchedule | null>;
  setDigest(matrixUser: string, schedule: DigestSchedule): Promise<void>;
  /** When the user's last digest of this pursuance went (ms), or null. */
  lastDigest(matrixUser: string, groupId: string): Promise<number | null>;
  /** Record a digest sent at `at` (ms), so a restart does not send the day's again. */
  digestSent(matrixUser: string, groupId: string, at: number): Promise<void>;
  ghostName(userId: string): Promise<string | null>;
  setGhostName(userId: string, name: string): Promise<void>;
  /** `!pursuance request` waits, kept until answered so a restart goes on waiting (one per user and room). */
  putJoinRequest(r: PendingJoinRequest): Promise<void>;
  dropJoinRequest(roomId: string, matrixUser: string): Promise<void>;
  joinRequests(): Promise<PendingJoinRequest[]>;
}

export interface PendingJoinRequest {
  roomId: string;
  matrixUser: string;
  /** The request address as given (`pursuance:request/…`). */
  address: string;
  message: string;
  displayName: string;
}

/** A message as the bridge sends it: both bodies, optionally in a task's thread. */
export interface OutMessage {
  plain: string;
  html: string;
  notice?: boolean;
  /** Root event of the thread to post in (a task's message). */
  thread?: string;
  /** Where the whole text is when the message must be cut to fit (e.g. "!task show 3"). */
  more?: string;
  /** Deterministic transaction id, so a retry after a crash is deduplicated by the homeserver. */
  txnId?: string;
  /** May go into an unencrypted room even under encryption.require (the notice saying the room is refused). */
  mayBePlain?: boolean;
}

/** A file message: `url` for a room in clear, `file` (url inside, encrypted bytes) for an encrypted one. */
export interface OutFile {
  name: string;
  size: number;
  mimetype: string;
  url?: string;
  file?: Record<string, unknown>;
  thread?: string;
  txnId?: string;
}

export interface MatrixPort {
  readonly botUserId: string;
  readonly domain: string;
  /** Put bytes in the homeserver's media repository (as the bot); returns the mxc:// url. */
  upload(bytes: Uint8Array, name: string, contentType: string): Promise<string>;
  /** An mxc:// url's bytes (authenticated media), refused past maxBytes. */
  download(mxc: string, maxBytes: number): Promise<Uint8Array>;
  /** Send a file message (m.file), in a thread if given. */
  sendFile(roomId: string, f: OutFile, userId?: string): Promise<string>;
  /** Send as the bot (userId undefined) or as a ghost in our namespace. Returns the event id. */
  send(roomId: string, msg: OutMessage, userId?: string): Promise<string>;
  react(roomId: string, eventId: string, key: string): Promise<void>;
  /** Make sure a ghost exists, has this display name and is in the room. */
  ensureGhost(roomId: string, userId: string, displayName: string): Promise<void>;
  displayName(roomId: string, userId: string): Promise<string>;
  joinRoom(roomId: string): Promise<void>;
  /** Invite a Matrix user to the room as the bot (already-joined users are not an error). */
  invite(roomId: string, userId: string): Promise<void>;
  /** A private room made by the bot (at power level 100; only it may invite); returns its id. */
  createRoom(name: string, topic: string): Promise<string>;
  /** A direct chat (is_direct) between the bot and one user; returns its id. */
  createDirectRoom(userId: string): Promise<string>;
  /** Redact an event as the bot (needs the power to redact others' events). */
  redact(roomId: string, eventId: string, reason: string): Promise<void>;
  /** The bot's power level in a room and the level redacting others needs. */
  botPower(roomId: string): Promise<{ mine: number; redact: number; stateDefault: number }>;
  /** Set who may see history (m.room.history_visibility). */
  setHistoryVisibility(roomId: string, visibility: "joined" | "invited" | "shared"): Promise<void>;
  /** Joined and invited members of a room. */
  members(roomId: string): Promise<string[]>;
  kick(roomId: string, userId: string, reason: string): Promise<void>;
}
