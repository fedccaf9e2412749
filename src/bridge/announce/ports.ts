// What the public-announcement mirror needs from storage and from Matrix: kept
// apart from ports.ts so the pursuance's own rooms and the public rooms share nothing.

export interface AnnounceStorePort {
  /** Public rooms added by `!announce room add` for a pursuance (by group id). */
  announceRooms(groupId: string): Promise<string[]>;
  /** False when the alias was already there. */
  addAnnounceRoom(groupId: string, alias: string, addedBy: string): Promise<boolean>;
  /** False when the alias was not there. */
  removeAnnounceRoom(groupId: string, alias: string): Promise<boolean>;
  /** Announcement ids already posted to a public room (by alias). */
  announcePosted(groupId: string, alias: string): Promise<Set<string>>;
  markAnnouncePosted(groupId: string, alias: string, eventId: string, matrixEventId: string): Promise<void>;
}

/** A message as posted to a public room: both bodies and the proof as custom content. */
export interface PublicMessage {
  plain: string;
  html: string;
  /** Extra content keys (the proof under org.pursuance.announcement). */
  extra: Record<string, unknown>;
  txnId: string;
}

/**
 * A public room the bridge can never reach as asked (no such room on another server, or an alias
 * outside the bridge's namespace): trying again will not help, the user must act. Carries the alias.
 */
export class RoomUnreachableError extends Error {
  constructor(readonly alias: string, message: string) {
    super(message);
    this.name = "RoomUnreachableError";
  }
}

export interface PublicRoomsPort {
  /**
   * The room behind an alias, made ready for the public: created when it does
   * not exist (on our own server), joined, world-readable, guests may join, in
   * the room directory, and only the bot may post. Returns the room id.
   */
  ensurePublicRoom(alias: string, name: string, topic: string): Promise<string>;
  send(roomId: string, msg: PublicMessage): Promise<string>;
  /** The room's topic, which the room directory shows beside its name (the pursuance's profile). */
  setTopic(roomId: string, topic: string): Promise<void>;
}
