// rooms.perRole: a room per role of a pursuance, whose Matrix membership
// follows the role's (for the Matrix users this bridge hosts): granted the
// role, invited; revoked or removed, kicked with the reason. Rooms are made
// by room-bindings.ts (all at once with rooms.perRole, else on demand).
import type { PursuanceState } from "../pursuance/state.js";
import type { MatrixPort } from "./ports.js";

export interface RoleRoomDeps {
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

/** Invite who should be in a role's room and kick who should not; true if anything changed. */
export async function syncRoleRoom(d: RoleRoomDeps, pursuanceName: string, role: string, room: string, want: readonly string[]): Promise<boolean> {
  const ours = (u: string) => u === d.matrix.botUserId || u.startsWith(`@${d.userPrefix}`);
  const have = (await d.matrix.members(room)).filter((u) => !ours(u));
  let changed = false;
  for (const u of want)
    if (!have.includes(u)) {
      await d.matrix.invite(room, u);
      changed = true;
    }
  for (const u of have)
    if (!want.includes(u)) {
      await d.matrix.kick(room, u, `no longer holds the "${role}" role in ${pursuanceName}`);
      changed = true;
    }
  return changed;
}
