// Who is who, as the fold and its views judge it: fingerprints, a member's own
// Matrix link, vouches checked against the key, changed keys called out, and
// the same verdicts and hash in every delivery order.
import { beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { BodyError, encodeBody } from "../src/pursuance/events.js";
import { parseBody } from "../src/pursuance/events-parse.js";
import { fingerprint, writtenFingerprint } from "../src/pursuance/fingerprint.js";
import { canonicalState } from "../src/pursuance/state-hash.js";
import { claimHistory, memberLinkedTo, trustWarning, whois, type CheckedLinks } from "../src/pursuance/identity.js";
import { converge, expectApplied, expectRejected, History } from "./helpers/history.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});

/** Key ↔ Matrix id pairings a viewer checked (the bridge: confirmed by that account, or a key it holds for it). */
const checked = (...pairs: Array<[string, string]>): CheckedLinks => ({ confirmed: new Set(pairs.map(([m, id]) => `${m} ${id}`)), held: new Map() });

function world(seed: number) {
  const h = new History(crypto, seed);
  const F = h.member("founder");
  const A = h.member("alice");
  const S = h.member("seed");
  h.genesis(F);
  h.addMember(F, A, "admin");
  h.addMember(F, S, "seedling");
  return { h, F, A, S };
}

describe("fingerprints", () => {
  it("are 8 groups of 5 digits, a function of the key alone, and differ between keys", () => {
    const { h, A, S } = world(1);
    const fa = fingerprint(crypto, A.hex);
    expect(fa).toMatch(/^[0-9]{5}( [0-9]{5}){7}$/);
    expect(fingerprint(crypto, A.hex)).toBe(fa);
    expect(fingerprint(crypto, S.hex)).not.toBe(fa);
    // Typed with dashes, line breaks or no spaces, it reads the same; a digit short, it does not.
    expect(writtenFingerprint(fa.replace(/ /g, "-"))).toBe(fa);
    expect(writtenFingerprint(fa.replace(/ /g, ""))).toBe(fa);
    expect(writtenFingerprint(`${fa.slice(0, 23)}\n${fa.slice(24)}`)).toBe(fa);
    expect(writtenFingerprint(fa.slice(1))).toBeNull();
    expect(h.events.length).toBeGreaterThan(0);
  });
});

describe("identity.link and member.verify in the fold", () => {
  it("a vouch with the right digits applies; wrong digits, oneself, a stranger or a non-member are refused, in every order", () => {
    const { h, F, A, S } = world(2);
    const outsider = h.member("outsider");
    const good = h.emit(F, { t: "member.verify", member: A.hex, fingerprint: fingerprint(crypto, A.hex) });
    const wrong = h.emit(S, { t: "member.verify", member: A.hex, fingerprint: fingerprint(crypto, S.hex) });
    const self = h.emit(A, { t: "member.verify", member: A.hex, fingerprint: fingerprint(crypto, A.hex) });
    const stranger = h.emit(F, { t: "member.verify", member: outsider.hex, fingerprint: fingerprint(crypto, outsider.hex) });
    const link = h.emit(A, { t: "identity.link", matrix: "@alice:example.test" });
    const byOutsider = h.emit(outsider, { t: "identity.link", matrix: "@outsider:example.test" }, "tips");
    const f = converge(crypto, h, 24, 2);
    expectApplied(f, good);
    expectRejected(f, wrong, /fingerprint does not match/);
    expectRejected(f, self, /cannot vouch for their own key/);
    expectRejected(f, stranger, /no such member/);
    expectApplied(f, link);
    expectRejected(f, byOutsider, /not a member/);
    expect([...(f.state.verifications.get(A.hex) ?? [])]).toEqual([F.hex]);
    expect(f.state.links.get(A.hex)).toBe("@alice:example.test");
    expect(memberLinkedTo(f.state, "@alice:example.test")).toBe(A.hex);
    expect(memberLinkedTo(f.state, "@outsider:example.test")).toBeNull();
  });

  it("a removed member's vouches stop counting, and an unlink removes the link", () => {
    const { h, F, A, S } = world(3);
    h.emit(S, { t: "member.verify", member: A.hex, fingerprint: fingerprint(crypto, A.hex) });
    h.emit(A, { t: "identity.link", matrix: "@alice:example.test" });
    h.remove(F, S);
    h.emit(A, { t: "identity.link", matrix: "" });
    // Once removed, it can neither link nor vouch.
    const link = h.emit(S, { t: "identity.link", matrix: "@seed:example.test" })!;
    const vouch = h.emit(S, { t: "member.verify", member: F.hex, fingerprint: fingerprint(crypto, F.hex) })!;
    const f = converge(crypto, h, 12, 3);
    const row = whois(crypto, f.state, claimHistory(f.applied), A.hex);
    expect(row.verifiedBy).toEqual([]);
    expect(row.matrix).toBeNull();
    expectRejected(f, link, /not a member/);
    expectRejected(f, vouch, /not a member/);
  });

  it("malformed bodies are refused at the edge with the field named", () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ t: "identity.link", matrix: "alice" }, /Matrix user id/],
      [{ t: "identity.link", matrix: "@alice:example.test\nalice removed bob" }, /Matrix user id/],
      [{ t: "identity.link", matrix: 7 }, /matrix/],
      [{ t: "member.verify", member: "zz", fingerprint: "1" }, /member/],
      [{ t: "member.verify", member: "a".repeat(64), fingerprint: "12345 67890" }, /fingerprint/],
    ];
    for (const [body, why] of bad) {
      const bytes = new TextEncoder().encode(JSON.stringify(body));
      expect(() => parseBody(bytes), JSON.stringify(body)).toThrow(BodyError);
      expect(() => parseBody(bytes)).toThrow(why);
    }
    const ok = { t: "member.verify" as const, member: "a".repeat(64), fingerprint: "12345 67890 12345 67890 12345 67890 12345 67890" };
    expect(parseBody(encodeBody(ok))).toEqual(ok);
  });
});

describe("changed keys and warnings", () => {
  it("a second key under a vouched member's name, or claiming a Matrix id confirmed for another key, is called out; only vouches clear an unverified key", () => {
    const { h, F, A } = world(4);
    h.emit(A, { t: "identity.link", matrix: "@alice:example.test" });
    h.emit(F, { t: "member.verify", member: A.hex, fingerprint: fingerprint(crypto, A.hex) });
    h.remove(F, A);
    // Alice's name comes back with another key (a rejoin, or an impostor), and it claims her Matrix id.
    const B = h.member("alice-again");
    B.name = "alice";
    h.addMember(F, B, "admin");
    h.emit(B, { t: "identity.link", matrix: "@alice:example.test" });
    const f = converge(crypto, h, 12, 4);
    // The bridge saw @alice confirm A's key: B's claim on it is called out there.
    const row = whois(crypto, f.state, claimHistory(f.applied), B.hex, checked([A.hex, "@alice:example.test"]));
    expect(row.changed.map((c) => [c.what, c.value, c.earlier])).toEqual([
      ["name", "alice", [A.hex]],
      ["matrix", "@alice:example.test", [A.hex]],
    ]);
    expect(trustWarning(row, f.state)).toMatch(/different key than the one that held the name alice/);
    // The CLI cannot see confirmations: from the log alone it calls out only the name.
    expect(whois(crypto, f.state, claimHistory(f.applied), B.hex).changed.map((c) => c.what)).toEqual(["name"]);
  });

  it("an unverified admin is warned about until a member vouches; the lowest role never is", () => {
    const { h, F, A, S } = world(5);
    let f = converge(crypto, h, 4, 5);
    expect(trustWarning(whois(crypto, f.state, claimHistory(f.applied), A.hex), f.state)).toMatch(/no member ranked at least as high has verified this key/);
    expect(trustWarning(whois(crypto, f.state, claimHistory(f.applied), S.hex), f.state)).toBeNull();
    h.emit(F, { t: "member.verify", member: A.hex, fingerprint: fingerprint(crypto, A.hex) });
    f = converge(crypto, h, 4, 5);
    expect(trustWarning(whois(crypto, f.state, claimHistory(f.applied), A.hex), f.state)).toBeNull();
  });

  it("the lowest role cannot silence the warning about an admin's key: only a vouch by a member ranked at least as high does; whois still lists every vouch", () => {
    const { h, F, A, S } = world(10);
    h.emit(S, { t: "member.verify", member: A.hex, fingerprint: fingerprint(crypto, A.hex) });
    let f = converge(crypto, h, 4, 10);
    let row = whois(crypto, f.state, claimHistory(f.applied), A.hex);
    expect(row.verifiedBy).toEqual([S.hex]);
    expect(trustWarning(row, f.state)).toMatch(/no member ranked at least as high has verified this key/);
    h.emit(F, { t: "member.verify", member: A.hex, fingerprint: fingerprint(crypto, A.hex) });
    f = converge(crypto, h, 4, 10);
    row = whois(crypto, f.state, claimHistory(f.applied), A.hex);
    expect(trustWarning(row, f.state)).toBeNull();
  });

  it("logs without these events hash as before: the canonical state names links and vouches only once used", () => {
    const { h, F, A } = world(6);
    let f = converge(crypto, h, 2, 6);
    expect(Object.keys(canonicalState(f.state) as object)).not.toContain("links");
    expect(Object.keys(canonicalState(f.state) as object)).not.toContain("verifications");
    const before = f.hash();
    h.emit(F, { t: "member.verify", member: A.hex, fingerprint: fingerprint(crypto, A.hex) });
    f = converge(crypto, h, 2, 6);
    expect(Object.keys(canonicalState(f.state) as object)).toContain("verifications");
    expect(f.hash()).not.toBe(before);
  });
});

describe("an unconfirmed claim casts no doubt on anyone (docs/protocol.md, Who is who)", () => {
  const ALICE = "@alice:example.test";

  it("a member's key claiming a Matrix id first does not brand its confirmed owner a different key, on the bridge or the CLI", () => {
    const { h, F, A, S } = world(7);
    h.emit(F, { t: "member.verify", member: A.hex, fingerprint: fingerprint(crypto, A.hex) });
    // The seedling's key claims alice's Matrix id before alice links it; only alice's is confirmed.
    h.emit(S, { t: "identity.link", matrix: ALICE });
    h.emit(A, { t: "identity.link", matrix: ALICE });
    const f = converge(crypto, h, 12, 7);
    const history = claimHistory(f.applied);
    const bridge = whois(crypto, f.state, history, A.hex, checked([A.hex, ALICE]));
    expect(bridge.changed).toEqual([]);
    expect(trustWarning(bridge, f.state)).toBeNull();
    const cli = whois(crypto, f.state, history, A.hex);
    expect(cli.changed).toEqual([]);
    // The claimant is the one called out, where the confirmation can be seen.
    expect(whois(crypto, f.state, history, S.hex, checked([A.hex, ALICE])).changed).toEqual([{ what: "matrix", value: ALICE, earlier: [A.hex] }]);
    expect(whois(crypto, f.state, history, S.hex).changed).toEqual([]);
  });

  it("a claimant that unlinks and is removed leaves no flag on the owner; an owner's flag on a claimant goes when the owner unlinks", () => {
    const { h, F, A, S } = world(8);
    h.emit(S, { t: "identity.link", matrix: ALICE });
    h.emit(A, { t: "identity.link", matrix: ALICE });
    h.emit(S, { t: "identity.link", matrix: "" });
    h.remove(F, S);
    let f = converge(crypto, h, 12, 8);
    for (const seen of [checked([A.hex, ALICE]), checked()]) expect(whois(crypto, f.state, claimHistory(f.applied), A.hex, seen).changed).toEqual([]);
    // The other way round: the owner's confirmed link is the basis of a flag on a later claimant, while it stands.
    const T = h.member("tom");
    h.addMember(F, T, "seedling");
    h.emit(T, { t: "identity.link", matrix: ALICE });
    f = converge(crypto, h, 12, 8);
    expect(whois(crypto, f.state, claimHistory(f.applied), T.hex, checked([A.hex, ALICE])).changed.map((c) => c.what)).toEqual(["matrix"]);
    h.emit(A, { t: "identity.link", matrix: "" });
    f = converge(crypto, h, 12, 8);
    expect(whois(crypto, f.state, claimHistory(f.applied), T.hex, checked([A.hex, ALICE])).changed).toEqual([]);
  });

  it("a name is called out only when a key some current member vouched for held it before; a later namesake brands no one earlier", () => {
    const { h, F, A } = world(9);
    // An earlier key nobody vouched for held the name "bob": the later bob is not branded.
    const B1 = h.member("bob");
    h.addMember(F, B1, "seedling");
    h.remove(F, B1);
    const B2 = h.member("bob-2");
    B2.name = "bob";
    h.addMember(F, B2, "seedling");
    let f = converge(crypto, h, 12, 9);
    expect(whois(crypto, f.state, claimHistory(f.applied), B2.hex).changed).toEqual([]);
    // A later namesake of alice: alice (earlier) is never flagged; the namesake is, while alice's vouch stands.
    const V = h.member("voucher");
    h.addMember(F, V, "admin");
    h.emit(V, { t: "member.verify", member: A.hex, fingerprint: fingerprint(crypto, A.hex) });
    const A2 = h.member("alice-2");
    A2.name = "alice";
    h.addMember(F, A2, "seedling");
    f = converge(crypto, h, 12, 9);
    expect(whois(crypto, f.state, claimHistory(f.applied), A.hex).changed).toEqual([]);
    expect(whois(crypto, f.state, claimHistory(f.applied), A2.hex).changed).toEqual([{ what: "name", value: "alice", earlier: [A.hex] }]);
    // The only vouch came from a member since removed: the basis is gone, and so is the flag.
    h.remove(F, V);
    f = converge(crypto, h, 12, 9);
    expect(whois(crypto, f.state, claimHistory(f.applied), A2.hex).changed).toEqual([]);
  });
  it("two keys that took one name concurrently: each is branded by the other, whichever the fold puts first (a joiner chooses its id)", () => {
    for (const seed of [41, 42, 43, 44]) {
      const h = new History(crypto, seed);
      const F = h.member("founder");
      h.genesis(F);
      const K = h.member("kim");
      const K2 = h.member("kim-2");
      K2.name = "kim";
      const i1 = h.invite(F, "seedling");
      const i2 = h.invite(F, "seedling");
      const at = h.tips();
      h.join(K, i1.secret, at);
      h.join(K2, i2.secret, at);
      h.emit(F, { t: "member.verify", member: K.hex, fingerprint: fingerprint(crypto, K.hex) });
      h.emit(F, { t: "member.verify", member: K2.hex, fingerprint: fingerprint(crypto, K2.hex) });
      const f = converge(crypto, h, 6, seed);
      // Neither took it strictly later: a name collision, flagged both ways (test/whois-names.test.ts for every order).
      for (const [m, other] of [[K, K2], [K2, K]] as const) expect(whois(crypto, f.state, claimHistory(f.applied), m.hex).changed, `${seed} ${m.name}`).toEqual([{ what: "name", value: "kim", earlier: [other.hex] }]);
    }
  });
});
