// VALID means "someone holding announce in this pursuance signed this": a copy
// carries the signed role chain from the genesis to its announcer, and the
// verifier replays it. Each copy below is one an attacker can make from what a
// deplatformed pursuance leaves in public (its genesis, its members' signed
// events) and their own keys; each goes through the real CLI verifier, as the
// export file, the room message the bridge renders (body and JSON content) and
// the Atom feed entry. Real relay, real clients, real libsodium.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromHex, toHex } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto, type SignKeyPair } from "../src/cwtch/crypto.js";
import { decodeAndVerify, signEvent, type SignedEvent } from "../src/cwtch/message.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { makeProof, MATRIX_PROOF_KEY, proofBlock, publicAnnouncements, type AnnouncementProof, type PublicAnnouncement } from "../src/pursuance/announcement-proof.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { encodeBody, type Body } from "../src/pursuance/events.js";
import { grantBody } from "../src/pursuance/actions.js";
import { foldAll } from "../src/pursuance/fold.js";
import { roleChain } from "../src/pursuance/role-chain.js";
import { History } from "./helpers/history.js";
import { decodeInvite, encodeInvite } from "../src/pursuance/invite.js";
import { runVerifyAnnouncement } from "../src/cli/announce-command.js";
import { announcementMessage, atomFeed } from "../src/bridge/announce/render.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

let crypto0: Crypto;
beforeAll(async () => {
  crypto0 = await loadCrypto();
});

async function cli(text: string, ...args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await runVerifyAnnouncement(["-", ...args], { out: (l) => void (out += l + "\n"), err: (l) => void (out += l + "\n") }, () => text);
  return { code, out };
}

/** The copies a reader may hold of one item: export file, room message body, room message JSON, feed. */
function copies(name: string, pursuanceId: string, a: PublicAnnouncement): Record<string, string> {
  const m = announcementMessage(name, a);
  return {
    export: JSON.stringify({ ...a.proof, text: a.text, ts: a.ts, authorName: a.authorName }, null, 2),
    body: m.plain,
    content: JSON.stringify({ msgtype: "m.text", body: m.plain, format: "org.matrix.custom.html", formatted_body: m.html, ...m.extra }),
    feed: atomFeed(pursuanceId, name, [a], null),
  };
}

function flipByte(b64: string, at: number): string {
  const bytes = Buffer.from(b64, "base64");
  bytes[at]! ^= 0x01;
  return bytes.toString("base64");
}

describe("announcement authority (real relay, real clients, real CLI verifier)", () => {
  let relay: RelayServer;
  let crypto: Crypto;
  let founder: PursuanceClient;
  let admin: PursuanceClient;
  let seed: PursuanceClient;
  let other: PursuanceClient;
  let adminId: SignKeyPair;
  let honest: PublicAnnouncement;
  let pin: string[];
  const name = "Open Records";

  /** An announcement as the attacker dresses it: the genuine genesis, a chain of its choosing. */
  function dressed(ev: SignedEvent, chain: SignedEvent[], text: string): PublicAnnouncement {
    const genesis = founder.session.log.get(founder.id)!;
    return { id: toHex(ev.id), author: toHex(ev.author), authorName: "x", ts: ev.ts, text, proof: makeProof(ev, genesis, chain) };
  }
  const chainOf = (p: AnnouncementProof): SignedEvent[] => (p.chain ?? []).map((b) => decodeAndVerify(crypto, new Uint8Array(Buffer.from(b, "base64"))) as SignedEvent);

  /** Sign an event in this pursuance's group as `who`, after its own latest event, without the fold's consent. */
  function forge(who: SignKeyPair, body: Body, after: SignedEvent | null): SignedEvent {
    return signEvent(
      crypto,
      { group: fromHex(founder.config.groupId), epoch: 0, author: who.publicKey, seq: after ? after.seq + 1 : 1, prev: after ? after.id : new Uint8Array(32), ts: Date.now(), deps: [fromHex(founder.id)], body: encodeBody(body) },
      who.secretKey,
    );
  }
  const lastOf = (c: PursuanceClient, who: string): SignedEvent | null => [...c.session.log.events()].filter((e) => toHex(e.author) === who).sort((x, y) => y.seq - x.seq)[0] ?? null;

  beforeAll(async () => {
    crypto = await loadCrypto();
    relay = await startRelay();
    const opts = { fallbackDutyMs: 500, repairDelayMs: 50, repairIntervalMs: 300 };
    founder = await PursuanceClient.create(await ports(), await identity(), { name, founderName: "ada", relays: [relay.url], ...opts });
    other = await PursuanceClient.create(await ports(), await identity(), { name: "Other Group", founderName: "eve", relays: [relay.url] });
    await other.publish({ t: "announce", text: "hello from elsewhere" });
    const invA = encodeInvite(await founder.createInvite("admin"));
    const invS = encodeInvite(await founder.createInvite("seedling"));
    adminId = await identity();
    admin = await PursuanceClient.join(await ports(), adminId, decodeInvite(invA), "bob", opts);
    seed = await PursuanceClient.join(await ports(), await identity(), decodeInvite(invS), "sam", opts);
    await until("three members everywhere", () => [founder, admin, seed].every((c) => c.state.members.size === 3), [founder, admin, seed]);
    await admin.publish({ t: "announce", text: "The new relay is relay 41276 at the usual host" });
    await until("founder sees the announcement", () => founder.state.announcements.length === 1, [founder, admin]);
    honest = publicAnnouncements(founder.state, founder.id, (id) => founder.session.log.get(id), undefined, founder.fold.applied)[0]!;
    pin = ["--pursuance", founder.id, "--founder", founder.me];
  }, 60_000);
  afterAll(async () => {
    for (const c of [founder, admin, seed, other]) c?.close();
    await relay?.close();
  });

  it("an honest announcement by an admin is VALID in every copy, and says what a copy cannot show", async () => {
    expect(honest.proof.chain?.length).toBeGreaterThan(0);
    for (const [kind, text] of Object.entries(copies(name, founder.id, honest))) {
      const r = await cli(text, ...pin);
      expect(r.code, `${kind}: ${r.out}`).toBe(0);
      expect(r.out, kind).toMatch(/^VALID announcement/m);
      expect(r.out, kind).toMatch(/held "admin", which may announce, as of event [0-9a-f]{12}/);
      expect(r.out, kind).toMatch(/a later removal cannot be seen from a copy/);
    }
  });

  it("(a) a key that was never a member: UNPROVEN, whatever chain it carries", async () => {
    const stranger = await identity();
    const ev = forge(stranger, { t: "announce", text: "We are moving: the new relay is relay 66666" }, null);
    for (const chain of [[], chainOf(honest.proof)]) {
      for (const [kind, text] of Object.entries(copies(name, founder.id, dressed(ev, chain, "We are moving: the new relay is relay 66666")))) {
        const r = await cli(text, ...pin);
        expect(r.code, `${kind}: ${r.out}`).not.toBe(0);
        expect(r.out, kind).toMatch(/^UNPROVEN: .*not a member/m);
        expect(r.out, kind).not.toMatch(/^VALID/m);
      }
    }
  });

  it("(b) a seedling's announcement, which the pursuance rejected: UNPROVEN, naming the missing capability", async () => {
    const ev = await seed.group.publish(encodeBody({ t: "announce", text: "Send donations to relay 66666" }));
    await until("the founder rejects it", () => founder.fold.verdict(toHex(ev.id)) != null, [founder, seed]);
    expect(founder.fold.verdict(toHex(ev.id))).toMatch(/announce/);
    const chain = [...founder.session.log.events()].filter((e) => [founder.id].includes(toHex(e.id)) === false && founder.fold.verdict(toHex(e.id)) === null && (toHex(e.author) === seed.me || /"t":"invite"/.test(new TextDecoder().decode(e.body))));
    for (const [kind, text] of Object.entries(copies(name, founder.id, dressed(ev, chain, "Send donations to relay 66666")))) {
      const r = await cli(text, ...pin);
      expect(r.code, `${kind}: ${r.out}`).not.toBe(0);
      expect(r.out, kind).toMatch(/^UNPROVEN: .*"seedling".*announce/m);
    }
  });

  it("(c) a removed admin's later announcement: a copy without a chain is UNPROVEN; with its old chain the verdict names how far the chain reaches", async () => {
    await founder.publish({ t: "remove", member: admin.me, reason: "left the group" });
    const ev = forge(adminId, { t: "announce", text: "Ignore the old relay; use relay 66666" }, lastOf(founder, admin.me));
    const bare = dressed(ev, [], "Ignore the old relay; use relay 66666");
    const r = await cli(proofBlock(bare.proof), ...pin);
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toMatch(/^UNPROVEN: .*no role chain/m);
    // The most an attacker can do: the chain that was true before the removal. The verdict says exactly that much.
    const old = dressed(ev, chainOf(honest.proof), "Ignore the old relay; use relay 66666");
    // The last event that gives a role, not the links to its join's witness that follow it.
    const gives = chainOf(honest.proof).filter((e) => /"t":"(role\.|invite"|join"|leader\.transfer)/.test(new TextDecoder().decode(e.body)));
    const head = toHex(gives.at(-1)!.id).slice(0, 12);
    const r2 = await cli(proofBlock(old.proof), ...pin);
    expect(r2.code, r2.out).toBe(0);
    expect(r2.out).toMatch(/^VALID announcement: /m);
    expect(r2.out).toMatch(new RegExp(`as of event ${head}.*\\n.*a later removal cannot be seen from a copy`));
  });

  it("(d) a profile whose 'To join' is an attacker's address, signed by a seedling: UNPROVEN", async () => {
    const ev = forge(await identity(), { t: "profile.set", mission: "Open data", join: "write to attacker@evil.test", rooms: [] }, null);
    const sev = await seed.group.publish(encodeBody({ t: "profile.set", mission: "Open data", join: "write to attacker@evil.test", rooms: [] }));
    const seedChain = [...founder.session.log.events()].filter((e) => founder.fold.verdict(toHex(e.id)) === null && toHex(e.id) !== founder.id && (toHex(e.author) === seed.me || /"t":"invite"/.test(new TextDecoder().decode(e.body))));
    for (const [e, chain] of [[ev, chainOf(honest.proof)], [sev, seedChain]] as const) {
      const p = dressed(e, chain, "");
      const r = await cli(JSON.stringify({ name, profile: p.proof }), ...pin);
      expect(r.code, r.out).not.toBe(0);
      expect(r.out).toMatch(/^UNPROVEN: /m);
      expect(r.out).not.toMatch(/^VALID/m);
    }
  });

  it("a copy whose visible text was changed above the signed block is ALTERED, showing the difference", async () => {
    for (const [kind, text] of Object.entries(copies(name, founder.id, honest))) {
      const changed = text.replace("relay 41276", "relay 51276");
      expect(changed, kind).not.toBe(text);
      const r = await cli(changed, ...pin);
      expect(r.code, `${kind}: ${r.out}`).not.toBe(0);
      expect(r.out, kind).toMatch(/^ALTERED: /m);
      expect(r.out, kind).toMatch(/- .*relay 41276/);
      expect(r.out, kind).toMatch(/\+ .*relay 51276/);
    }
    // Words added below the block are shown too.
    const { body, content } = copies(name, founder.id, honest);
    for (const [kind, text] of [["body", `${body!}\nUPDATE: use relay 51276 instead`], ["content", content!.replace(/-----END PURSUANCE ANNOUNCEMENT-----"/, '-----END PURSUANCE ANNOUNCEMENT-----\\nUPDATE: use relay 51276 instead"')]] as const) {
      expect(text, kind).toContain("UPDATE");
      const r = await cli(text, ...pin);
      expect(r.code, `${kind}: ${r.out}`).not.toBe(0);
      expect(r.out, kind).toMatch(/^ALTERED: .*text after the block/m);
      expect(r.out, kind).toMatch(/\+ UPDATE: use relay 51276 instead/);
    }
  });

  it("a tampered chain event, and a chain from another pursuance's genesis, are INVALID", async () => {
    const p = honest.proof;
    const tampered = { ...honest, proof: { ...p, chain: p.chain!.map((c, i) => (i === 0 ? flipByte(c, 40) : c)) } };
    const r = await cli(proofBlock(tampered.proof), ...pin);
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toMatch(/^INVALID: .*chain event 1/m);
    // The chain of another pursuance (its genesis and founder) behind this pursuance's announcement.
    const o = publicAnnouncements(other.state, other.id, (id) => other.session.log.get(id), undefined, other.fold.applied)[0]!;
    const otherGenesis = other.session.log.get(other.id)!;
    const mixed = { ...p, chain: [Buffer.from(otherGenesis.bytes).toString("base64"), ...(o.proof.chain ?? []), ...p.chain!] };
    const r2 = await cli(proofBlock(mixed), ...pin);
    expect(r2.code, r2.out).not.toBe(0);
    expect(r2.out).toMatch(/^INVALID: .*another (group|pursuance)/m);
    // The chain out of order (the join before the invite it redeems), and a chain missing the invite.
    const [inv, join] = p.chain!;
    const swapped = await cli(proofBlock({ ...p, chain: [join!, inv!] }), ...pin);
    expect(swapped.code, swapped.out).not.toBe(0);
    expect(swapped.out).toMatch(/^INVALID: chain event 1 cites chain event 2, which should come first/m);
    const partial = await cli(proofBlock({ ...p, chain: [join!] }), ...pin);
    expect(partial.code, partial.out).not.toBe(0);
    expect(partial.out).toMatch(/^UNPROVEN: chain event 1 \(join by [0-9a-f]{12}\) does not apply: unknown invite/m);
    // And a copy whose whole chain and genesis are another pursuance's, pinned to this one.
    const r3 = await cli(proofBlock(o.proof), ...pin);
    expect(r3.code).not.toBe(0);
    expect(r3.out).toMatch(/^INVALID: /m);
  });

  it("the proof stays small: the Matrix content of an admin's announcement", () => {
    const m = announcementMessage(name, honest);
    const size = Buffer.byteLength(JSON.stringify({ msgtype: "m.text", body: m.plain, format: "org.matrix.custom.html", formatted_body: m.html, ...m.extra }));
    expect(size).toBeLessThan(56_000);
    expect(MATRIX_PROOF_KEY in m.extra!).toBe(true);
  });
});

describe("a chain two admissions deep, through a role made later (real relay, real clients)", () => {
  let relay: RelayServer;
  const clients: PursuanceClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    await relay?.close();
  });

  it("a speaker admitted by an admin and granted a keyed role and a role the founder created is VALID; the proof names each step and stays small", async () => {
    relay = await startRelay();
    const opts = { fallbackDutyMs: 500, repairDelayMs: 50, repairIntervalMs: 300 };
    const f = await PursuanceClient.create(await ports(), await identity(), { name: "Deep", founderName: "ada", relays: [relay.url], ...opts });
    clients.push(f);
    await f.publish({ t: "role.create", role: "speaker", def: { rank: 50, caps: ["announce", "task.comment"], reads: "role" } });
    const a = await PursuanceClient.join(await ports(), await identity(), await f.createInvite("admin"), "bob", opts);
    clients.push(a);
    await until("admin in", () => a.state.members.has(a.me) && f.state.members.has(a.me), [f, a]);
    const c = await PursuanceClient.join(await ports(), await identity(), await a.createInvite("seedling"), "cy", opts);
    clients.push(c);
    await until("speaker in", () => [f, a, c].every((x) => x.state.members.size === 3), [f, a, c]);
    // A role with its own key first (the grant seals it): the replay checks authority, not keys.
    await a.publish(grantBody(a.actor, a.state, c.me, "change agent"));
    await a.publish(grantBody(a.actor, a.state, c.me, "speaker"));
    await until("grant seen", () => c.state.members.get(c.me)!.roles.has("speaker"), [a, c]);
    // The leader's word (leader-ack.ts): ada's client re-shares the speaker key to cy on its own.
    await until("leader's word", () => c.state.sealedBy.get(`speaker ${c.me}`) === f.me, [f, c]);
    await c.publish({ t: "announce", text: "Speaking for Deep" });
    await until("founder sees it", () => f.state.announcements.length === 1, [f, c]);
    const item = publicAnnouncements(f.state, f.id, (id) => f.session.log.get(id), undefined, f.fold.applied)[0]!;
    const kinds = (item.proof.chain ?? []).map((b) => JSON.parse(new TextDecoder().decode((decodeAndVerify(crypto0, new Uint8Array(Buffer.from(b, "base64"))) as SignedEvent).body)).t);
    // Each join with its witness: the inviter's key share sealed to the joiner (join-witness.ts); last, the leader's word.
    expect(kinds).toEqual(["role.create", "invite", "join", "keys.share", "invite", "join", "keys.share", "role.grant", "role.grant", "keys.share"]);
    const m = announcementMessage("Deep", item);
    const content = JSON.stringify({ msgtype: "m.text", body: m.plain, format: "org.matrix.custom.html", formatted_body: m.html, ...m.extra });
    const r = await cli(content, "--pursuance", f.id, "--founder", f.me);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^VALID announcement: .*held "speaker", which may announce/m);
    // Measured, for docs/protocol.md: the chain's bytes and the whole Matrix content.
    console.log(`chain of ${kinds.length} events: ${item.proof.chain!.join("").length} base64 chars; Matrix content ${Buffer.byteLength(content)} bytes`);
    expect(Buffer.byteLength(content)).toBeLessThan(56_000);

    // The longest text an announcement may carry, in 3-byte characters, with this chain: still one Matrix event, still VALID from its body.
    await c.publish({ t: "announce", text: "€".repeat(8000) });
    await until("founder sees the long one", () => f.state.announcements.length === 2, [f, c]);
    const long = publicAnnouncements(f.state, f.id, (id) => f.session.log.get(id), undefined, f.fold.applied)[1]!;
    const lm = announcementMessage("Deep", long);
    const lsize = Buffer.byteLength(JSON.stringify({ msgtype: "m.text", body: lm.plain, format: "org.matrix.custom.html", formatted_body: lm.html, ...lm.extra }));
    console.log(`longest announcement with this chain: Matrix content ${lsize} bytes`);
    expect(lsize).toBeLessThan(56_000);
    const fromBody = await cli(lm.plain, "--pursuance", f.id);
    expect(fromBody.code, fromBody.out).toBe(0);
    expect(fromBody.out).toMatch(/cut short: read the whole signed text/);
    const fromContent = await cli(JSON.stringify({ msgtype: "m.text", body: lm.plain, format: "org.matrix.custom.html", formatted_body: lm.html, ...lm.extra }), "--pursuance", f.id);
    expect(fromContent.code, fromContent.out).toBe(0);
    // A cut copy with other words before the mark is still ALTERED.
    expect((await cli(lm.plain.replace("€€€", "$$$"), "--pursuance", f.id)).out).toMatch(/^ALTERED: /m);
  }, 60_000);
});

describe("role chains do not grow with the pursuance (pure fold, 100 members)", () => {
  it("an admin's chain in a 100-member pursuance is its invite, its join and the join's witness; a member admitted by that admin adds three more", () => {
    const h = new History(crypto0, 7);
    const F = h.member("founder");
    h.genesis(F);
    const A = h.member("admin");
    h.addMember(F, A, "admin");
    // Each inviter goes on after its joiner's join: the join's witness (a client's key share does this).
    h.emit(F, { t: "announce", text: "welcome, admin" });
    for (let i = 0; i < 97; i++) h.addMember(i % 2 ? F : A, h.member(`m${i}`), i % 3 ? "seedling" : "change agent");
    const S = h.member("speaker");
    h.addMember(A, S, "seedling");
    h.emit(A, { t: "announce", text: "welcome, speaker" });
    h.emit(F, { t: "role.amend", role: "seedling", def: { rank: 20, caps: ["task.comment", "task.update", "announce"], reads: "assigned" } });
    const byAdmin = h.emit(A, { t: "announce", text: "from the admin" })!;
    const bySpeaker = h.emit(S, { t: "announce", text: "from a seedling, now allowed" })!;
    const f = foldAll(crypto0, h.events, h.genesisId);
    expect(f.state.members.size).toBe(100);
    expect(f.verdict(bySpeaker.id)).toBeNull();
    const kinds = (ids: string[]) => ids.map((id) => h.events.find((e) => e.id === id)!.body!.t);
    // The amend of "seedling" is not in the admin's chain: the admin was never invited to or granted it.
    expect(kinds(roleChain(f.applied, A.hex, byAdmin.id))).toEqual(["invite", "join", "announce"]);
    expect(kinds(roleChain(f.applied, S.hex, bySpeaker.id))).toEqual(["invite", "join", "announce", "invite", "join", "announce", "role.amend"]);
  });
});
