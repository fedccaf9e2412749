// The rooms of one pursuance: every room bound to it (a main room, a second
// room someone bound later, …) and the per-role rooms made for restricted work.
// One pursuance, many rooms; one custodial identity per person whatever room
// they type in. Also who is in each room right now (joined or invited), since
// that decides what the room may show.
import type { BridgeStorePort, MatrixPort } from "./ports.js";
import type { Present } from "./room-visibility.js";

/**
 * How long a room's member list is reused. Every membership event the
 * appservice receives for the room drops it at once (HostedPursuance.membershipChanged),
 * so this only bounds how stale it can be if that event is late or lost:
 * a newcomer is at most this long behind in making the room show less.
 */
const PEOPLE_TTL_MS = 2_000;

export type PursuanceRoom = { roomId: string; kind: "bound" } | { roomId: string; kind: "role"; role: string };

export interface RoomSetDeps {
  store: BridgeStorePort;
  matrix: MatrixPort;
  userPrefix: string;
}

export class RoomSet {
  readonly bound = new Set<string>();
  private readonly roleRooms = new Map<string, string>();
  private loadedRoles = false;
  /** Who was in each room, and when we asked: every mirror pass and reply needs it, and the homeserver's answer is the room's whole state. */
  private readonly people = new Map<string, { at: number; users: string[] }>();

  constructor(
    private readonly deps: RoomSetDeps,
    readonly groupId: string,
  ) {}

  /** The bridge's own users (bot and ghosts) are never audience. */
  ours(user: string): boolean {
    return user === this.deps.matrix.botUserId || user.startsWith(`@${this.deps.userPrefix}`);
  }

  has(roomId: string): boolean {
    return this.bound.has(roomId) || [...this.roleRooms.values()].includes(roomId);
  }

  private async loadRoles(roles: readonly string[]): Promise<void> {
    if (this.loadedRoles) return;
    for (const r of roles) {
      const id = await this.deps.store.roleRoom(this.groupId, r);
      if (id) this.roleRooms.set(r, id);
    }
    this.loadedRoles = true;
  }

  async roleRoom(role: string): Promise<string | null> {
    return this.roleRooms.get(role) ?? (await this.deps.store.roleRoom(this.groupId, role));
  }

  /** Make the role's room if it does not exist (the bot at power level 100, the only one who may invite). */
  async ensureRoleRoom(role: string, pursuanceName: string): Promise<string> {
    const have = await this.roleRoom(role);
    if (have) {
      this.roleRooms.set(role, have);
      return have;
    }
    const id = await this.deps.matrix.createRoom(`${pursuanceName} · ${role}`, `Members holding the "${role}" role in ${pursuanceName}: its restricted tasks show here. Membership follows the role.`);
    await this.deps.store.setRoleRoom(this.groupId, role, id);
    this.roleRooms.set(role, id);
    return id;
  }

  /** Bound rooms first (in binding order), then role rooms by role name. */
  async all(roles: readonly string[]): Promise<PursuanceRoom[]> {
    await this.loadRoles(roles);
    const out: PursuanceRoom[] = [...this.bound].map((roomId) => ({ roomId, kind: "bound" as const }));
    for (const role of [...this.roleRooms.keys()].sort()) out.push({ roomId: this.roleRooms.get(role)!, kind: "role", role });
    return out;
  }

  /** A membership event for the room arrived: the next look asks the homeserver again. */
  forget(roomId: string): void {
    this.people.delete(roomId);
  }

  /** Who is in the room now (joined or invited), each with their member id here if the bridge holds one. */
  async present(roomId: string, memberFor: (user: string) => string | null): Promise<Present[]> {
    let hit = this.people.get(roomId);
    if (!hit || Date.now() - hit.at > PEOPLE_TTL_MS) {
      hit = { at: Date.now(), users: (await this.deps.matrix.members(roomId)).filter((u) => !this.ours(u)).sort() };
      this.people.set(roomId, hit);
    }
    return hit.users.map((user) => ({ user, member: memberFor(user) }));
  }
}
