// Names that cannot be borrowed (docs/protocol.md, "Who is who"): a vouched
// member's name taken by another key is called out whatever the newcomer's
// join cites, a look-alike of the name is the name, names with invisible or
// reordering characters are refused at the edge, and a key the bridge holds
// for a Matrix user is that user's confirmed link. Every verdict is the same
// in every arrival order (one event at a time, in batches, all at once).
import { beforeAll, describe, expect, it } from "vitest";
import { whoisCommand } from "../src/bot/whois-commands.js";
import type { Invocation } from "../src/bot/command-spec.js";
import type { BoundContext } from "../src/bot/context.js";
import { TrustWarnings } from "../src/bridge/trust-warnings.js";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import type { PursuanceClient } from "../src/pursuance/client/client.js";
import { ActionError, genesisBody, joinBody } from "../src/pursuance/actions.js";
import { BodyError, type Body } from "../src/pursuance/events.js";
import { parseBody } from "../src/pursuance/events-parse.js";
import { fingerprint } from "../src/pursuance/fingerprint.js";
import { openRequestMessage, requestChannelKeys, sealRequestMessage } from "../src/pursuance/join-request.js";
import { toB64 } from "../src/cwtch/bytes.js";
import type { Fold } from "../src/pursuance/fold.js";
import { checkLinks, claimHistory, whois, type CheckedLinks } from "../src/pursuance/identity.js";
import { converge, deliver, expectRejected, History, randomCausalOrder, randomChunks, Rng, type HMember } from "./helpers/history.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});

/** The changed-key flags on these members, after checking every delivery order folds to the same hash and the same flags. */
function flagsInEveryOrder(h: History, who: HMember[], seed: number, orders = 12, checked?: CheckedLinks) {
  const ref = converge(crypto, h, orders, seed);
  const verdicts = (f: Fold) => who.map((m) => whois(crypto, f.state, claimHistory(f.applied), m.hex, checked).changed);
  const want = verdicts(ref);
  const rng = new Rng(seed + 1000);
  for (let i = 0; i < orders; i++) {
    const order = randomCausalOrder(h.events, rng);
    const chunks = i % 3 === 0 ? order.map((e) => [e]) : i % 3 === 1 ? randomChunks(order, rng, 5) : [order];
    expect(verdicts(deliver(crypto, chunks, h.genesisId).fold), `delivery ${i}`).toEqual(want);
  }
  return { f: ref, flags: want };
}

const vouch = (h: History, by: HMember, m: HMember) => h.emit(by, { t: "member.verify", member: m.hex, fingerprint: fingerprint(crypto, m.hex) });

describe("a vouched member's name taken by another key is called out, whatever the join cites", () => {
  it("an impostor joining a month after alice was removed, by an invite made before she joined, is flagged", () => {
    const h = new History(crypto, 61);
    const F = h.member("founder");
    h.genesis(F);
    // Two invite links made at once, before either is used; a join cites only its invite (as the client's signJoin does).
    const i1 = h.invite(F, "admin");
    const i2 = h.invite(F, "admin");
    const A = h.member("alice");
    h.join(A, i1.secret, [i1.event]);
    vouch(h, F, A);
    h.remove(F, A, "tips", "left the org");
    const M = h.member("mallory");
    M.name = "alice";
    h.join(M, i2.secret, [i2.event]);
    const { f, flags } = flagsInEveryOrder(h, [M], 61);
    expect(f.state.members.has(M.hex)).toBe(true);
    expect(flags[0]).toEqual([{ what: "name", value: "alice", earlier: [A.hex] }]);
  });

  it("two keys that took one vouched name concurrently flag each other, and neither does once nobody vouches", () => {
    for (const seed of [62, 63, 64]) {
      const h = new History(crypto, seed);
      const F = h.member("founder");
      h.genesis(F);
      const V = h.member("voucher");
      h.addMember(F, V, "admin");
      const K = h.member("kim");
      const K2 = h.member("kim-2");
      K2.name = "Kim";
      const i1 = h.invite(F, "seedling");
      const i2 = h.invite(F, "seedling");
      const at = h.tips();
      h.join(K, i1.secret, at);
      h.join(K2, i2.secret, at);
      vouch(h, V, K);
      vouch(h, V, K2);
      let { flags } = flagsInEveryOrder(h, [K, K2], seed, 9);
      expect(flags, `${seed}`).toEqual([
        [{ what: "name", value: "kim", earlier: [K2.hex] }],
        [{ what: "name", value: "Kim", earlier: [K.hex] }],
      ]);
      // The only voucher leaves: the basis is gone, and so are both flags.
      h.remove(F, V);
      ({ flags } = flagsInEveryOrder(h, [K, K2], seed, 9));
      expect(flags, `${seed}`).toEqual([[], []]);
    }
  });
});

describe("a look-alike of a vouched name is that name; invisible and reordering characters are refused at the edge", () => {
  function withAlice(seed: number) {
    const h = new History(crypto, seed);
    const F = h.member("founder");
    h.genesis(F);
    const A = h.member("alice");
    h.addMember(F, A, "admin");
    vouch(h, F, A);
    return { h, F, A };
  }

  it("Cyrillic, Greek, full-width, digit and accent look-alikes of alice are flagged; a different name is not", () => {
    const looks = ["\u0430lice", "\u03b1lice", "ＡＬＩＣＥ", "a1ice", "AIice", "al\u0456ce", "ali\u0441e", "alic\u0435", "àlice", "a|ice"];
    let seed = 70;
    for (const name of looks) {
      const { h, F, A } = withAlice(++seed);
      const M = h.member("mallory");
      M.name = name;
      h.addMember(F, M, "admin");
      const { flags } = flagsInEveryOrder(h, [M, A], seed, 3);
      expect(flags, JSON.stringify(name)).toEqual([[{ what: "name", value: name, earlier: [A.hex] }], []]);
    }
    const { h, F } = withAlice(90);
    const M = h.member("alicia");
    h.addMember(F, M, "admin");
    expect(flagsInEveryOrder(h, [M], 90, 3).flags).toEqual([[]]);
  });

  it("a name with a zero-width, bidi-override, other format or control character is refused by the decoder, and the fold goes on", () => {
    const bad = ["alice\u200b", "\u202ealice", "al\u200dice", "alice\u2066", "ali\u00adce", "alice\u0007", "al\nice", "alice\u2028", "\ufeffalice", "alice\u034f"];
    for (const name of bad) {
      for (const body of [
        { t: "join", invite: "a".repeat(64), proof: "b".repeat(128), name },
        { t: "request.pending", requester: "a".repeat(64), name, message: "hi", ts: 1, sig: "c".repeat(128), stamp: "x" },
      ]) {
        const bytes = new TextEncoder().encode(JSON.stringify(body));
        expect(() => parseBody(bytes), `${body.t} ${JSON.stringify(name)}`).toThrow(BodyError);
        expect(() => parseBody(bytes), `${body.t} ${JSON.stringify(name)}`).toThrow(/name must not contain invisible, control or text-direction characters/);
      }
    }
    // A join request carrying one is refused where the frame is opened, with the reason kept for status --json.
    const keys = requestChannelKeys(crypto, new Uint8Array(32).fill(7));
    const frame = (name: string) => toB64(sealRequestMessage(crypto, keys, { k: "request", requester: "a".repeat(64), sig: "s", stamp: "x", name, message: "hi", ts: 1 }).blob);
    expect(openRequestMessage(crypto, keys, frame("\u202ealice"))).toEqual({ ok: false, reason: expect.stringMatching(/request whose name must not contain invisible, control or text-direction characters \(U\+202E\)/) });
    expect(openRequestMessage(crypto, keys, frame("alice")).ok).toBe(true);
    // Our own client refuses to sign such a name.
    const { h, F } = withAlice(91);
    const M = h.member("mallory");
    const inv = h.invite(F, "admin");
    expect(() => joinBody(M.actor, h.genesisId!, inv.secret.seed, "alice\u200b")).toThrow(ActionError);
    expect(() => genesisBody(M.actor, { name: "p", founderName: "\u202ealice" })).toThrow(/text-direction/);
    // In the log (another client signed it): the join is refused with the reason, the joiner is no member, and what follows still folds.
    for (const k of h.inviteKeys.get(inv.secret.publicKey) ?? []) M.ring.add(k.scope, k.key);
    const join = h.emit(M, { ...(joinBody(M.actor, h.genesisId!, inv.secret.seed, "alice") as Extract<Body, { t: "join" }>), name: "alice\u200b" }, [inv.event]);
    const S = h.member("sam");
    h.addMember(F, S, "seedling");
    const f = converge(crypto, h, 9, 91);
    expectRejected(f, join, /invisible, control or text-direction/);
    expect(f.state.members.has(M.hex)).toBe(false);
    expect(f.state.members.has(S.hex)).toBe(true);
  });
});

describe("a key the bridge holds for a Matrix user is that user's confirmed link, log link or not", () => {
  const ALICE = "@alice:example.test";
  const clientOf = (f: Fold) => ({ state: f.state, crypto, fold: f }) as unknown as PursuanceClient;

  it("a seedling claiming the Matrix id of a custodial admin who never linked is flagged in !whois and the room's notice", async () => {
    const h = new History(crypto, 95);
    const F = h.member("founder");
    h.genesis(F);
    const A = h.member("alice");
    h.addMember(F, A, "admin");
    const M = h.member("mallory");
    h.addMember(F, M, "seedling");
    h.grant(F, M, "admin");
    vouch(h, F, M);
    h.emit(M, { t: "identity.link", matrix: ALICE });
    const hosted: Record<string, string> = { [A.hex]: ALICE };
    const port = { hosts: (m: string) => hosted[m] ?? null, confirmed: async () => false };
    const f = converge(crypto, h, 9, 95);
    const links = await checkLinks(f.state, [M.hex], port);
    const { flags } = flagsInEveryOrder(h, [M, A], 95, 6, links);
    expect(flags).toEqual([[{ what: "matrix", value: ALICE, earlier: [A.hex] }], []]);
    // !whois on the bridge, and asked by the Matrix id it names the key it holds.
    const identity = { ...port, confirm: async () => {}, view: () => null };
    const ask = async (who: string) => {
      const inv = { opt: (n: string) => (n === "who" ? who : undefined) } as unknown as Invocation;
      const r = await whoisCommand(inv, { client: clientOf(f), identity, resolveUser: () => null } as unknown as BoundContext);
      return r.kind === "ok" ? r.plain : JSON.stringify(r);
    };
    expect(await ask("mallory")).toMatch(/⚠ the Matrix id @alice:example.test is confirmed for another key/);
    expect(await ask("alice")).not.toContain("⚠");
    expect(await ask(ALICE)).toMatch(/^alice — admin/);
    // The room is told once that mallory acts with alice's Matrix id.
    const sent: string[] = [];
    const said = new Set<string>();
    const store = { sayOnce: async (a: string, b: string, c: string) => (said.has(`${a}|${b}|${c}`) ? false : (said.add(`${a}|${b}|${c}`), true)) };
    const room = new TrustWarnings(store as never, { send: async (_r: string, m: { plain: string }) => void sent.push(m.plain) } as never, port.hosts, port.confirmed);
    await room.warn(clientOf(f), "!room:example.test", M.hex);
    await room.warn(clientOf(f), "!room:example.test", A.hex);
    expect(sent).toEqual([expect.stringMatching(/^⚠ mallory .* different key than the one that held the Matrix id @alice:example.test before/)]);
  });
});
