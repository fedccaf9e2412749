// rooms.perRole: a room per role of a pursuance, whose Matrix membership
// follows the role's (for the Matrix users this bridge hosts): granted the
// role, invited; revoked or removed, kicked with the reason.
import type { PursuanceState } from "../pursuance/state.js";
import type { BridgeStorePort, MatrixPort } from "./ports.js";

export interface RoleRoomDeps {
  store: BridgeStorePort;
  matrix: MatrixPort;
  userPrefix: string;
}

/** Matrix users who should be in each role's room: hosted members holding the role. */
export function desiredRoleMembers(s: PursuanceState, hostedMembers: ReadonlyMap<string, string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const role of Object.keys(s.rules.roles).sort()) {
    const users: string[] = [];
    for (const [memberId, user] of hostedMembers) if (s.members.get(memberId)?.roles.has(role)) users.push(user);
    out.set(role, users.sort());
  }
  return out;
}

export async function syncRoleRooms(d: RoleRoomDeps, groupId: string, s: PursuanceState, hostedMembers: ReadonlyMap<string, string>): Promise<void> {
  for (const [role, want] of desiredRoleMembers(s, hostedMembers)) {
    let room = await d.store.roleRoom(groupId, role);
    if (!room) {
      room = await d.matrix.createRoom(`${s.name} · ${role}`, `Members holding the "${role}" role in ${s.name}. Membership here follows the role.`);
      await d.store.setRoleRoom(groupId, role, room);
    }
    const ours = (u: string) => u === d.matrix.botUserId || u.startsWith(`@${d.userPrefix}`);
    const have = (await d.matrix.members(room)).filter((u) => !ours(u));
    for (const u of want) if (!have.includes(u)) await d.matrix.invite(room, u);
    for (const u of have) if (!want.includes(u)) await d.matrix.kick(room, u, `no longer holds the "${role}" role in ${s.name}`);
  }
}
