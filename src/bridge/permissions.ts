// Bridge permissions from config: who may use the bridge at all, before the
// pursuance's own rules judge the member. Keys are "*", a server name, or a
// full user id; the most specific matching key wins (user id > server name >
// "*"), so a user entry can lower as well as raise what their server grants.
// Levels are additive: admin includes manage includes commands.
import { PERMISSION_LEVELS, normalisePermissionKey, splitUserId, type PermissionLevel } from "./config/config.js";

export type PermissionOrNone = "none" | PermissionLevel;

const RANK: Record<PermissionOrNone, number> = { none: 0, commands: 1, manage: 2, admin: 3 };

/** What `userId` may do on this bridge; "none" when nothing matches or the id is malformed. */
export function permissionFor(permissions: Readonly<Record<string, PermissionLevel>>, userId: string): PermissionOrNone {
  const parts = splitUserId(userId);
  if (!parts) return "none";
  const exact = permissions[normalisePermissionKey(userId)] ?? permissions[userId];
  if (exact) return exact;
  const domain = parts[1].toLowerCase();
  const byDomain = permissions[domain];
  if (byDomain) return byDomain;
  return permissions["*"] ?? "none";
}

/** True when `have` includes `need` (admin ⊇ manage ⊇ commands). */
export function permits(have: PermissionOrNone, need: PermissionLevel): boolean {
  return RANK[have] >= RANK[need];
}

/** Homeservers where anyone can sign up: a domain key there is as open as "*". */
export const OPEN_REGISTRATION_SERVERS: readonly string[] = [
  "matrix.org",
  "envs.net",
  "tchncs.de",
  "nitro.chat",
  "converser.eu",
  "matrix.im",
  "kde.org",
  "mozilla.org",
  "gitter.im",
  "unredacted.org",
  "systemli.org",
  "fairydust.space",
];

function isLocalName(domain: string): boolean {
  const host = domain.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return host === "localhost" || host.endsWith(".localhost") || /^127\./.test(host) || host === "::1";
}

/**
 * Loud warnings for permissions left open: "*" granting manage or admin
 * (anyone on any federated server), admin granted to a whole server, or
 * manage granted to a server anyone can sign up on. Empty when nothing is open.
 */
export function openPermissionWarnings(permissions: Readonly<Record<string, PermissionLevel>>): string[] {
  const warnings: string[] = [];
  const star = permissions["*"];
  if (star && permits(star, "manage")) {
    warnings.push(
      `WARNING: permissions["*"] is "${star}": ANY Matrix user on ANY federated homeserver may ${star === "admin" ? "administer this bridge" : "manage pursuances on this bridge"}. ` +
        `Grant "${star}" to your own user ids or domain instead, and keep "*" at "commands" at most.`,
    );
  }
  for (const [who, level] of Object.entries(permissions)) {
    if (who === "*" || who.startsWith("@") || isLocalName(who)) continue;
    const open = OPEN_REGISTRATION_SERVERS.includes(who.toLowerCase());
    if (level === "admin") {
      warnings.push(
        `WARNING: permissions["${who}"] is "admin": EVERY user on ${who} administers this bridge` +
          (open ? `, and anyone can sign up on ${who}: this is as open as "*".` : `; if anyone can register an account on ${who}, anyone can take the bridge over.`) +
          ` Grant "admin" to individual user ids instead.`,
      );
    } else if (level === "manage" && open) {
      warnings.push(
        `WARNING: permissions["${who}"] is "manage": anyone can sign up on ${who}, so anyone may manage pursuances on this bridge. Grant "manage" to individual user ids instead.`,
      );
    }
  }
  if (!Object.values(permissions).some((l) => PERMISSION_LEVELS.includes(l))) {
    warnings.push("WARNING: permissions grants nothing to anyone: nobody can use this bridge.");
  }
  return warnings;
}
