// A single-use invite a new member can paste. Since v2 it is only a
// capability to join: where the group lives (relays, group id), the invite
// seed that signs the joiner in (and from which the rendezvous secret is
// derived), the invite event the join cites, the epoch number the join is
// signed in, and when it expires. It carries no group or role key: those
// reach the new member after the join, sealed to their identity key (see
// rendezvous.ts). Whoever holds it can still join once before it expires or
// is revoked: treat it like a one-time password.
import { fromB64, toB64 } from "../cwtch/bytes.js";
import { MAX_TS } from "./events.js";

export const INVITE_PREFIX = "pursuance:invite/";
export const INVITE_VERSION = 2;

export interface Invite {
  v: 2;
  name: string;
  pursuanceId: string;
  groupId: string;
  relays: string[];
  role: string;
  inviteSeed: Uint8Array;
  /** The invite event's id: the join cites it, so every client folds the join after the invite. */
  inviteEvent: string;
  /** The group epoch (a number, not a key) the join is signed in, so members can carry it into the log. */
  epoch: number;
  /** ms since 1970; a join later than this is refused. */
  expires: number;
}

export class InviteError extends Error {
  constructor(message: string, readonly value: unknown) {
    super(message);
    this.name = "InviteError";
  }
}

/** `pursuance:invite/` + base64url(JSON {v, n, p, g, r, o, s, i, e, x}): see test/vectors/README.md. */
export function encodeInvite(i: Invite): string {
  const json = JSON.stringify({
    v: INVITE_VERSION,
    n: i.name,
    p: i.pursuanceId,
    g: i.groupId,
    r: i.relays,
    o: i.role,
    s: toB64(i.inviteSeed),
    i: i.inviteEvent,
    e: i.epoch,
    x: i.expires,
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
  if (typeof v !== "object" || v === null) throw new InviteError("invite is damaged (not an object)", v);
  if (v.v === 1) throw new InviteError("this is an old invite (v1, which carried keys): ask for a new one", v.v);
  if (v.v !== INVITE_VERSION) throw new InviteError("unsupported invite version", v.v);
  const str = (x: unknown, what: string) => {
    if (typeof x !== "string") throw new InviteError(`invite ${what} missing`, x);
    return x;
  };
  const pursuanceId = str(v.p, "pursuance id");
  const groupId = str(v.g, "group id");
  const inviteEvent = str(v.i, "invite event id");
  if (!HEX64.test(pursuanceId) || !HEX64.test(groupId) || !HEX64.test(inviteEvent)) throw new InviteError("invite ids are malformed", { pursuanceId, groupId, inviteEvent });
  if (!Array.isArray(v.r) || v.r.length === 0 || !v.r.every((u) => typeof u === "string" && /^wss?:\/\//.test(u))) {
    throw new InviteError("invite needs at least one ws:// or wss:// relay", v.r);
  }
  if (typeof v.e !== "number" || !Number.isInteger(v.e) || v.e < 0 || v.e > 0xffffffff) throw new InviteError("invite epoch must be a 32-bit unsigned integer", v.e);
  if (typeof v.x !== "number" || !Number.isSafeInteger(v.x) || v.x < 0 || v.x > MAX_TS) throw new InviteError(`invite expiry must be a time in ms (0..${MAX_TS})`, v.x);
  let seed: Uint8Array;
  try {
    seed = fromB64(str(v.s, "seed"));
  } catch {
    throw new InviteError("invite seed is not base64url", v.s);
  }
  if (seed.length !== 32) throw new InviteError("invite seed must be 32 bytes", seed.length);
  return { v: 2, name: str(v.n, "name"), pursuanceId, groupId, relays: v.r as string[], role: str(v.o, "role"), inviteSeed: seed, inviteEvent, epoch: v.e, expires: v.x };
}
