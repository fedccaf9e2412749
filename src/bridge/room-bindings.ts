// The rooms of one pursuance: every room bound to it (a main room, a second
// room someone bound later, …) and the per-role rooms made for restricted work.
// One pursuance, many rooms; one custodial identity per person whatever room
// they type in. Also who is in each room right now (joined or invited), since
// that decides what the room may show.
import type { BridgeStorePort, MatrixPort } from "./ports.js";
import type { Present } from "./room-visibility.js";

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

  /** Who is in the room now (joined or invited), each with their member id here if the bridge holds one. */
  async present(roomId: string, memberFor: (user: string) => string | null): Promise<Present[]> {
    const users = (await this.deps.matrix.members(roomId)).filter((u) => !this.ours(u)).sort();
    return users.map((user) => ({ user, member: memberFor(user) }));
  }
}
