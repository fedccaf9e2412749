// Invite expiry and revocation as the fold judges them: every client, every
// delivery order, the same verdict with the same reason.
import { beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { inviteBody, joinBody } from "../src/pursuance/actions.js";
import { BodyError, encodeBody, type Body } from "../src/pursuance/events.js";
import { parseBody } from "../src/pursuance/events-parse.js";
import { converge, expectApplied, expectRejected, type HMember, ladder, memoVerifyCrypto, History } from "./helpers/history.js";

let base: Crypto;
let crypto: Crypto;
beforeAll(async () => {
  base = await loadCrypto();
  crypto = memoVerifyCrypto(base);
});

function world(seed: number) {
  return ladder(base, seed, { A: ["admin", "admin"], R: ["recruiter", "recruiter"], S: ["seedling", "seedling"] });
}

/** A keyless invite by `by` for `role`, made at `at` and expiring `ttl` ms later. */
function invite(h: History, by: HMember, role: string, ttl: number | null, at = 1_800_000_000_000) {
  let seed!: Uint8Array;
  const expires = ttl === null ? null : at + ttl;
  const ev = h.emit(
    by,
    (s) => {
      const r = inviteBody(by.actor, s, role, expires === null ? {} : { expires });
      seed = r.secret.seed;
      return r.body;
    },
    "tips",
    { ts: at },
  )!;
  return { ev, seed, expires, id: (ev.body as { invite: string }).invite };
}

function join(h: History, m: HMember, seed: Uint8Array, ts?: number) {
  return h.emit(m, joinBody(m.actor, h.genesisId!, seed, m.name), "tips", ts !== undefined ? { ts } : {})!;
}

describe("invite expiry", () => {
  it("a join whose ts is after the expiry is rejected; one at or before it is applied", () => {
    const { h, F } = world(1);
    const late = invite(h, F, "change agent", 60_000);
    const ok = invite(h, F, "change agent", 60_000);
    const J1 = h.member("j1");
    const J2 = h.member("j2");
    const e1 = join(h, J1, late.seed, late.expires! + 1);
    const e2 = join(h, J2, ok.seed, ok.expires!);
    const f = converge(crypto, h, 8);
    expectRejected(f, e1, /invite expired at \d{4}-\d\d-\d\dT/);
    expectApplied(f, e2);
    expect(f.state.members.has(J1.hex)).toBe(false);
    expect(f.state.invites.get(late.id)!.usedBy).toBeNull();
    expect(f.state.invites.get(ok.id)!.usedBy).toBe(J2.hex);
  });

  it("an invite without an expiry (an older log) still admits late joins", () => {
    const { h, F } = world(2);
    const old = invite(h, F, "change agent", null);
    const J = h.member("j");
    const j = join(h, J, old.seed, 9_000_000_000_000);
    expectApplied(converge(crypto, h, 4), j);
  });

  it("an invite that expires before it is made is rejected", () => {
    const { h, F } = world(3);
    const bad = h.emit(F, (s) => ({ ...inviteBody(F.actor, s, "seedling").body, expires: 1 }) as Body)!;
    expectRejected(converge(crypto, h, 4), bad, /expires .* before it is made/);
  });
});

describe("invite revocation", () => {
  it("a join after its invite is revoked is rejected with 'invite revoked'", () => {
    const { h, F } = world(4);
    const inv = invite(h, F, "change agent", 3_600_000);
    const id = (inv.ev.body as { invite: string }).invite;
    const rev = h.emit(F, { t: "invite.revoke", invite: id })!;
    const J = h.member("j");
    const j = join(h, J, inv.seed);
    const f = converge(crypto, h, 8);
    expectApplied(f, rev);
    expectRejected(f, j, /^invite revoked$/);
    expect(f.state.invites.get(id)!.revokedBy).toBe(F.hex);
    expect(f.state.members.has(J.hex)).toBe(false);
  });

  it("the inviter or anyone who outranks the role with member.invite may revoke; nobody else; never twice, never a used invite", () => {
    const { h, F, A, R, S } = world(5);
    // Admin invites a recruiter-ranked role (recruiter): the recruiter (rank 60, not above 60) cannot revoke it.
    const inv1 = invite(h, A, "recruiter", 3_600_000);
    const id1 = (inv1.ev.body as { invite: string }).invite;
    const byPeer = h.emit(R, { t: "invite.revoke", invite: id1 })!;
    const bySeedling = h.emit(S, { t: "invite.revoke", invite: id1 })!;
    const byFounder = h.emit(F, { t: "invite.revoke", invite: id1 })!;
    const again = h.emit(A, { t: "invite.revoke", invite: id1 })!;
    // The recruiter's own invite: it may revoke it (the inviter), the admin may too, but only once.
    const inv2 = invite(h, R, "seedling", 3_600_000);
    const id2 = (inv2.ev.body as { invite: string }).invite;
    const J = h.member("j");
    join(h, J, inv2.seed);
    const used = h.emit(R, { t: "invite.revoke", invite: id2 })!;
    const inv3 = invite(h, R, "seedling", 3_600_000);
    const id3 = (inv3.ev.body as { invite: string }).invite;
    const own = h.emit(R, { t: "invite.revoke", invite: id3 })!;
    const unknown = h.emit(F, { t: "invite.revoke", invite: "cd".repeat(32) })!;
    const f = converge(crypto, h, 8);
    expectRejected(f, byPeer, /does not outrank role "recruiter"/);
    expectRejected(f, bySeedling, /lacks capability member\.invite/);
    expectApplied(f, byFounder);
    expectRejected(f, again, /already revoked/);
    expectRejected(f, used, /already used by/);
    expectApplied(f, own);
    expectRejected(f, unknown, /unknown invite/);
  });

  it("invite.revoke and the new invite fields are validated at the edge; older invites still decode", () => {
    const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
    expect(() => parseBody(enc({ t: "invite.revoke", invite: "xyz" }))).toThrow(BodyError);
    expect(parseBody(enc({ t: "invite.revoke", invite: "ab".repeat(32), extra: 1 }))).toEqual({ t: "invite.revoke", invite: "ab".repeat(32) });
    expect(() => parseBody(enc({ t: "invite", invite: "ab".repeat(32), role: "seedling", expires: "soon" }))).toThrow(/expires/);
    expect(() => parseBody(enc({ t: "invite", invite: "ab".repeat(32), role: "seedling", expires: -1 }))).toThrow(/expires/);
    expect(() => parseBody(enc({ t: "invite", invite: "ab".repeat(32), role: "seedling", rendezvous: "AAAA" }))).toThrow(/rendezvous/);
    const old = { t: "invite", invite: "ab".repeat(32), role: "seedling", groupKeyId: "00".repeat(16), roleKeyIds: ["11".repeat(16)] };
    expect(parseBody(enc(old))).toEqual(old);
    const b = parseBody(encodeBody({ t: "invite", invite: "ab".repeat(32), role: "seedling", expires: 5, rendezvous: "A".repeat(43) }));
    expect(b).toEqual({ t: "invite", invite: "ab".repeat(32), role: "seedling", expires: 5, rendezvous: "A".repeat(43) });
  });
});
