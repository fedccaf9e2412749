// Who is who and what is said in public, once for both faces: vouch for a
// member's key by its written fingerprint, link (or unlink) one's key to a
// Matrix id, announce, set the public profile.
// Each face finds the member its own way (the bridge knows which Matrix
// account confirmed which key; the CLI can only read the log's claims).
import { ActionError } from "../pursuance/actions.js";
import { writtenFingerprint } from "../pursuance/fingerprint.js";
import { whois } from "../pursuance/identity.js";
import { memberName } from "../pursuance/views.js";
import { publish, type Env } from "./env.js";
import { UsageError } from "./errors.js";

/** The 40 digits of a fingerprint as typed (spaces, dashes or none), or a UsageError saying how to write it; `shown` names where it is shown. */
export function parseFingerprint(typed: string, shown: string): string {
  const fp = writtenFingerprint(typed);
  if (!fp) throw new UsageError(`a fingerprint is 40 digits (8 groups of 5), as ${shown} shows it`);
  return fp;
}

/** Publish that we checked `member`'s key: only when the digits are that key's fingerprint. */
export async function verifyMemberKey(env: Env, o: { member: string; fingerprint: string }): Promise<{ member: string; name: string }> {
  const c = env.client;
  const name = memberName(c.state, o.member);
  if (o.fingerprint !== whois(c.crypto, c.state, new Map(), o.member).fingerprint) {
    throw new ActionError(`that is not ${name}'s fingerprint: do not trust this key until you find out why (compare again, in person or on a call)`, o.fingerprint);
  }
  await publish(env, { t: "member.verify", member: o.member, fingerprint: o.fingerprint });
  return { member: o.member, name };
}

/** Claim (or, with "", drop the claim to) a Matrix id for our key; the account confirms it on the bridge. */
export async function linkMatrix(env: Env, o: { matrix: string }): Promise<void> {
  await publish(env, { t: "identity.link", matrix: o.matrix });
}

/** A signed public announcement. */
export async function announce(env: Env, o: { text: string }): Promise<{ id: string }> {
  return publish(env, { t: "announce", text: o.text.trim() });
}

/** What the pursuance says of itself in public: its mission, how to ask to join, its public rooms. */
export async function setProfile(env: Env, o: { mission: string; join: string; rooms: string[] }): Promise<void> {
  await publish(env, { t: "profile.set", mission: o.mission.trim(), join: o.join.trim(), rooms: o.rooms.map((r) => r.trim()) });
}
