// A single-use invite a new member can paste: where the group lives (relays),
// how to read it (group id, epoch keys, the offered role's keys) and the
// invite key that signs the joiner in. Whoever holds it can join once: treat
// it like a password.
import { fromB64, toB64 } from "../cwtch/bytes.js";

export const INVITE_PREFIX = "pursuance:invite/";

export interface Invite {
  v: 1;
  name: string;
  pursuanceId: string;
  groupId: string;
  relays: string[];
  role: string;
  inviteSeed: Uint8Array;
  keys: Array<{ scope: string; key: Uint8Array }>;
}

export class InviteError extends Error {
  constructor(message: string, readonly value: unknown) {
    super(message);
    this.name = "InviteError";
  }
}

export function encodeInvite(i: Invite): string {
  const json = JSON.stringify({
    v: 1,
    n: i.name,
    p: i.pursuanceId,
    g: i.groupId,
    r: i.relays,
    o: i.role,
    s: toB64(i.inviteSeed),
    k: i.keys.map((k) => [k.scope, toB64(k.key)]),
  });
  return INVITE_PREFIX + Buffer.from(json).toString("base64url");
}

const HEX64 = /^[0-9a-f]{64}$/;

export function decodeInvite(s: string): Invite {
  const t = s.trim();
  if (!t.startsWith(INVITE_PREFIX)) throw new InviteError(`an invite starts with "${INVITE_PREFIX}"`, t.slice(0, 40));
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(Buffer.from(t.slice(INVITE_PREFIX.length), "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    throw new InviteError("invite is damaged (not base64url JSON): was it copied whole?", t.length);
  }
  if (v.v !== 1) throw new InviteError("unsupported invite version", v.v);
  const str = (x: unknown, what: string) => {
    if (typeof x !== "string") throw new InviteError(`invite ${what} missing`, x);
    return x;
  };
  const pursuanceId = str(v.p, "pursuance id");
  const groupId = str(v.g, "group id");
  if (!HEX64.test(pursuanceId) || !HEX64.test(groupId)) throw new InviteError("invite ids are malformed", { pursuanceId, groupId });
  if (!Array.isArray(v.r) || v.r.length === 0 || !v.r.every((u) => typeof u === "string" && /^wss?:\/\//.test(u))) {
    throw new InviteError("invite needs at least one ws:// or wss:// relay", v.r);
  }
  if (!Array.isArray(v.k)) throw new InviteError("invite keys missing", v.k);
  const keys = v.k.map((e) => {
    if (!Array.isArray(e) || typeof e[0] !== "string" || typeof e[1] !== "string") throw new InviteError("bad invite key entry", e);
    const key = fromB64(e[1]);
    if (key.length !== 32) throw new InviteError("invite key must be 32 bytes", e[0]);
    return { scope: e[0], key };
  });
  const seed = fromB64(str(v.s, "seed"));
  if (seed.length !== 32) throw new InviteError("invite seed must be 32 bytes", seed.length);
  return { v: 1, name: str(v.n, "name"), pursuanceId, groupId, relays: v.r as string[], role: str(v.o, "role"), inviteSeed: seed, keys };
}
