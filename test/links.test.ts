// Links between pursuances (issue 11): a task sent from A to B is taken in B
// only with A's speaker's attestation, for a role the link allows, once; a
// forged attestation, a disallowed role, a replay and a tampered event are
// refused identically in every delivery order. Through the real CLI, with two
// relay processes per pursuance and three members' processes on each side: the task
// reaches every B member; A moves all its relays mid-conversation and B's
// answer still flows back to every A member; a seedling or a revoked admin
// in A cannot send.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toB64, toHex } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto, type SignKeyPair } from "../src/cwtch/crypto.js";
import { signEvent } from "../src/cwtch/message.js";
import { encodeBody, type Body } from "../src/pursuance/events.js";
import { decodeLinkToken, linkId, signAttest } from "../src/pursuance/link.js";
import { ok, run, startCli, startRelayProcess } from "./helpers/cli.js";
import { converge, expectApplied, expectRejected, History } from "./helpers/history.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});

/** An event signed on the other side (A): B's fold checks only its signature and body, and the attestation. */
function foreign(author: SignKeyPair, seq: number, body: Body): { id: string; b64: string; bytes: Uint8Array } {
  const ev = signEvent(crypto, { group: crypto.randomBytes(32), epoch: 0, author: author.publicKey, seq, prev: seq === 1 ? new Uint8Array(32) : crypto.randomBytes(32), ts: 1_000 + seq, deps: [], body: encodeBody(body) }, author.secretKey);
  return { id: toHex(ev.id), b64: toB64(ev.bytes), bytes: ev.bytes };
}

describe("links in the fold (the receiving side)", () => {
  it("takes an attested task once; refuses forged attestations, disallowed roles, replays and tampered events; answers need task.create", () => {
    const h = new History(crypto, 31);
    const F = h.member("bea");
    const S = h.member("seed");
    h.genesis(F);
    h.addMember(F, S, "seedling");
    const aSpeaker = crypto.signKeyPair();
    const aAdmin = crypto.signKeyPair();
    const aOther = crypto.signKeyPair();
    const seed = crypto.randomBytes(32);
    const link = linkId(crypto, seed);
    const accept: Body = { t: "link.accept", link, seed: toB64(seed), peer: "ab".repeat(32), name: "Alpha", relays: ["ws://127.0.0.1:1"], speaker: toHex(aSpeaker.publicKey), roles: ["admin"] };
    const bySeedling = h.emit(S, accept);
    const accepted = h.emit(F, accept);

    const task = foreign(aAdmin, 5, { t: "task.send", link, title: "Check the contract", body: "pages 3-9" });
    const good = h.emit(F, { t: "link.receive", link, ev: task.b64, role: "admin", attest: signAttest(crypto, aSpeaker, link, task.id, "admin", 0) });
    const replay = h.emit(S, { t: "link.receive", link, ev: task.b64, role: "admin", attest: signAttest(crypto, aSpeaker, link, task.id, "admin", 0) });
    const t2 = foreign(aOther, 2, { t: "task.send", link, title: "forged", body: "" });
    const forged = h.emit(F, { t: "link.receive", link, ev: t2.b64, role: "admin", attest: signAttest(crypto, aOther, link, t2.id, "admin", 0) });
    const t3 = foreign(aOther, 3, { t: "task.send", link, title: "from a seedling", body: "" });
    const disallowed = h.emit(F, { t: "link.receive", link, ev: t3.b64, role: "seedling", attest: signAttest(crypto, aSpeaker, link, t3.id, "seedling", 0) });
    // The attestation names the role: the same signature claimed for another role fails.
    const relabelled = h.emit(F, { t: "link.receive", link, ev: t3.b64, role: "admin", attest: signAttest(crypto, aSpeaker, link, t3.id, "seedling", 0) });
    const t4 = foreign(aAdmin, 6, { t: "task.send", link, title: "tampered", body: "" });
    const bytes = Uint8Array.from(t4.bytes);
    bytes[bytes.length - 70]! ^= 1;
    const tampered = h.emit(F, { t: "link.receive", link, ev: toB64(bytes), role: "admin", attest: signAttest(crypto, aSpeaker, link, t4.id, "admin", 0) });
    const otherLink = foreign(aAdmin, 7, { t: "task.send", link: "cd".repeat(32), title: "elsewhere", body: "" });
    const wrongLink = h.emit(F, { t: "link.receive", link, ev: otherLink.b64, role: "admin", attest: signAttest(crypto, aSpeaker, link, otherLink.id, "admin", 0) });

    const answerBySeedling = h.emit(S, { t: "link.status", link, send: task.id, status: "declined", note: "" });
    const answer = h.emit(F, { t: "link.status", link, send: task.id, status: "accepted", note: "on it" });

    const f = converge(crypto, h, 20, 31);
    expectRejected(f, bySeedling, /rules\.change/);
    expectApplied(f, accepted);
    expectApplied(f, good);
    expectRejected(f, replay, /already received/);
    expectRejected(f, forged, /not by the other side's speaker/);
    expectRejected(f, disallowed, /may not send over this link/);
    expectRejected(f, relabelled, /not by the other side's speaker/);
    expectRejected(f, tampered, /does not verify/);
    expectRejected(f, wrongLink, /neither a task sent, an answer over this link, nor a move/);
    expectRejected(f, answerBySeedling, /task\.create/);
    expectApplied(f, answer);
    expect(f.state.received.get(task.id)).toMatchObject({ from: toHex(aAdmin.publicKey), role: "admin", title: "Check the contract", status: "accepted", note: "on it" });
    expect(f.state.received.size).toBe(1);
  });

  it("a token that does not match its seed, or is cut short, is refused naming why", () => {
    expect(() => decodeLinkToken(crypto, "pursuance:invite/x")).toThrow(/not a link token/);
    expect(() => decodeLinkToken(crypto, "pursuance:link/%%%")).toThrow(/does not decode/);
    const seed = crypto.randomBytes(32);
    const t = { v: 1, link: "00".repeat(32), seed: toB64(seed), key: toB64(crypto.randomBytes(32)), pursuanceId: "ab".repeat(32), name: "A", relays: ["ws://x:1"], speaker: "cd".repeat(32), roles: ["admin"] };
    expect(() => decodeLinkToken(crypto, "pursuance:link/" + toB64(new TextEncoder().encode(JSON.stringify(t))))).toThrow(/does not match its seed/);
  });
});

describe("a task across a link, through the CLI (2 pursuances, 3 members and 2 relay processes each)", () => {
  const relays: Array<{ url: string; proc: ChildProcess }> = [];
  const dirs: string[] = [];
  const home = (name: string) => {
    const d = mkdtempSync(join(tmpdir(), `link-${name}-`));
    dirs.push(d);
    return ["--home", d, "--timeout", "8s"];
  };
  beforeAll(async () => {
    for (let i = 0; i < 6; i++) relays.push(await startRelayProcess());
  });
  afterAll(() => {
    for (const r of relays) r.proc.kill("SIGTERM");
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function found(name: string, founder: string[], r: [string, string]): Promise<string> {
    const id = (await ok(["client", "create", name, "--relay", r[0], ...founder])).match(/[0-9a-f]{64}/)![0];
    await ok(["client", "relay", "add", r[1], ...founder]);
    return id;
  }
  async function add(inviter: string[], h: string[], role: string): Promise<void> {
    const invite = await ok(["client", "invite", "--role", role, ...inviter]);
    const joining = startCli(["client", "join", invite, ...h.slice(0, 2), "--timeout", "60s"]);
    try {
      await joining.waitStderr(/asked to join/);
      await ok(["client", "sync", ...inviter]);
      const r = await joining.done;
      expect(r.code, r.stderr).toBe(0);
    } finally {
      joining.proc.kill("SIGKILL");
    }
  }
  const json = async <T>(args: string[]) => JSON.parse(await ok(args)) as T;
  type Row = { id: string; status: string; title: string; note: string; peer: string };

  it("sent with the speaker's attestation, taken by every B member; A moves all its relays; answered back to every A member; a seedling and a revoked admin cannot send", async () => {
    const [ada, al, ann, bea, ben, bo] = ["ada", "al", "ann", "bea", "ben", "bo"].map(home) as [string[], string[], string[], string[], string[], string[]];
    for (const [n, h] of [["ada", ada], ["al", al], ["ann", ann], ["bea", bea], ["ben", ben], ["bo", bo]] as const) await ok(["client", "init", "--name", n, ...h.slice(0, 2)]);
    const aId = await found("Alpha", ada, [relays[0]!.url, relays[1]!.url]);
    const bId = await found("Beta", bea, [relays[2]!.url, relays[3]!.url]);
    await add(ada, al, "admin");
    await add(ada, ann, "seedling");
    await add(bea, ben, "admin");
    await add(bea, bo, "seedling");

    const token = await ok(["client", "link", "offer", "--roles", "admin", ...ada]);
    expect(await ok(["client", "link", "accept", token, ...bea])).toBe(`linked with Alpha (${aId}); they may send tasks from: admin`);
    await ok(["client", "sync", ...ada]); // our speaker takes Beta's hello
    const links = await json<Array<{ peer: string; peerName: string }>>(["client", "link", "list", "--json", ...al]);
    expect(links).toEqual([expect.objectContaining({ peer: bId, peerName: "Beta" })]);

    const sent = await ok(["client", "link", "send", "Beta", "Check the leaked contract", "--body", "pages 3-9", ...al]);
    await ok(["client", "sync", ...ada]); // the speaker attests it and posts it to Beta's relays
    await ok(["client", "sync", ...bea]); // Beta's speaker carries it in
    for (const h of [bea, ben, bo]) {
      const inbox = await json<Row[]>(["client", "link", "inbox", "--json", ...h]);
      expect(inbox).toEqual([expect.objectContaining({ id: sent, title: "Check the leaked contract", status: "sent", peer: "Alpha" })]);
    }

    // Alpha moves to two new relays mid-conversation, and its old ones go away; its speaker tells Beta where it lives now.
    await ok(["client", "relay", "move", relays[4]!.url, relays[5]!.url, ...ada]);
    for (const h of [al, ann]) await ok(["client", "sync", ...h]);
    for (const r of relays.slice(0, 2)) r.proc.kill("SIGTERM");
    await ok(["client", "sync", ...bea]);
    const moved = await json<Array<{ peerRelays: string[] }>>(["client", "link", "list", "--json", ...ben]);
    expect(moved[0]!.peerRelays.sort()).toEqual([relays[4]!.url, relays[5]!.url].sort());

    await ok(["client", "link", "answer", sent.slice(0, 12), "accepted", "--note", "on it", ...ben]);
    await ok(["client", "sync", ...bea]); // Beta's speaker attests the answer and posts it to Alpha's relays
    await ok(["client", "sync", ...ada]);
    for (const h of [ada, al]) {
      await ok(["client", "sync", ...h]);
      const out = await json<Row[]>(["client", "link", "sent", "--json", ...h]);
      expect(out).toEqual([expect.objectContaining({ id: sent, status: "accepted", note: "on it", peer: "Beta" })]);
    }
    for (const h of [bea, ben, bo]) await ok(["client", "sync", ...h]);
    const hashes = await Promise.all([bea, ben, bo].map(async (h) => (await json<{ stateHash: string; rejected: number }>(["client", "status", "--json", ...h]))));
    expect(new Set(hashes.map((x) => x.stateHash)).size).toBe(1);
    expect(hashes.map((x) => x.rejected)).toEqual([0, 0, 0]);

    // Not from a role the link allows: refused before anything is published, with the reason.
    const seedling = await run(["client", "link", "send", "Beta", "Let me in", ...ann]);
    expect(seedling.code).not.toBe(0);
    expect(seedling.stderr).toMatch(/holds no role the link allows \(admin\)/);
    // A stale right: al's admin role revoked in Alpha, then al tries again.
    await ok(["client", "role", "revoke", "al", "admin", ...ada]);
    await ok(["client", "sync", ...al]);
    const stale = await run(["client", "link", "send", "Beta", "One more", ...al]);
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toMatch(/holds no role the link allows/);
    await ok(["client", "sync", ...ada]);
    await ok(["client", "sync", ...bea]);
    expect(await json<Row[]>(["client", "link", "inbox", "--json", ...ben])).toHaveLength(1);
  }, 400_000);
});
