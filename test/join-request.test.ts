// Asking to join (issue 11): an outsider holding only the public request
// address asks; members carry the request into the log; an entitled member
// admits it (the requester's client joins) or refuses it with a reason that
// reaches the requester. The fold refuses forged, replayed, over-limit and
// closed-door requests and answers by members without the right, identically
// in every delivery order; a stranger holding the address cannot answer in
// the pursuance's name.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toB64, toHex } from "../src/cwtch/bytes.js";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { BodyError } from "../src/pursuance/events.js";
import { parseBody } from "../src/pursuance/events-parse.js";
import {
  decodeRequestAddress,
  encodeRequestAddress,
  makeAnswer,
  mintRequestStamp,
  openAnswer,
  requestAddress,
  requestChannel,
  signRequest,
  type RequestMessage,
} from "../src/pursuance/join-request.js";
import { ok, run, startCli, startRelayProcess, type CliProcess } from "./helpers/cli.js";
import { converge, expectApplied, expectRejected, History, type HMember } from "./helpers/history.js";

let crypto: Crypto;
beforeAll(async () => {
  crypto = await loadCrypto();
});

describe("join requests in the fold", () => {
  const pending = (h: History, carrier: HMember, requester: HMember, pursuance: string, o: { name?: string; ts?: number; sig?: string; stampFor?: string } = {}) => {
    const content = { name: o.name ?? requester.name, message: "let me help", ts: o.ts ?? 1_000 };
    const sig = o.sig ?? signRequest(crypto, requester.kp, pursuance, content, h.state().requestPolicy?.answerKey ?? "");
    // The stamp is made for the pursuance it is carried into unless said otherwise, so the signature is what a misaddressed request fails.
    return h.emit(carrier, { t: "request.pending", requester: requester.hex, ...content, sig, stamp: mintRequestStamp(crypto, o.stampFor ?? pursuance, requester.hex, sig, 4) });
  };
  const opening = (holders: HMember[], limit: number, seed = toB64(crypto.randomBytes(32))) => {
    const answerSeed = crypto.randomBytes(32);
    const holderBoxes = Object.fromEntries(holders.map((m) => [m.hex, toB64(crypto.sealTo(answerSeed, m.kp.publicKey))]));
    return { t: "requests.set" as const, open: true, seed, limit, work: 4, answerKey: toHex(crypto.signKeyPair(answerSeed).publicKey), holders: holderBoxes };
  };

  it("opened by an inviter only; forged, replayed, over-limit and closed-door requests refused; answers need the right and a fitting invite", () => {
    const h = new History(crypto, 21);
    const F = h.member("founder");
    const S = h.member("seed");
    const [R1, R2, R3, R4, R5] = ["r1", "r2", "r3", "r4", "r5"].map((n) => h.member(n)) as [HMember, HMember, HMember, HMember, HMember];
    const g = h.genesis(F);
    h.addMember(F, S, "seedling");
    const seed = toB64(crypto.randomBytes(32));
    const openBySeedling = h.emit(S, opening([S], 2, seed));
    const open = h.emit(F, opening([F], 2, seed));
    // Any member may carry a request in; the requester's signature is what counts.
    const p1 = pending(h, S, R1, g.id);
    const forged = pending(h, F, R2, g.id, { sig: signRequest(crypto, R3.kp, g.id, { name: "r2", message: "let me help", ts: 1_000 }, h.state().requestPolicy?.answerKey ?? "") });
    const otherPursuance = pending(h, F, R2, "ab".repeat(32), { stampFor: g.id });
    const replay = pending(h, F, R1, g.id, { ts: 2_000 });
    const p2 = pending(h, F, R2, g.id);
    const overLimit = pending(h, F, R3, g.id);
    const member = pending(h, F, S, g.id);
    // Answers: a seedling may not; an admission must name an unused invite of its author's, for its role.
    const bySeedling = h.emit(S, { t: "request.answer", requester: R1.hex, admit: false, reason: "no" });
    const { event: inv, secret } = h.invite(F, "admin");
    const { event: seedInv } = h.invite(F, "admin");
    void seedInv;
    const wrongRole = h.emit(F, { t: "request.answer", requester: R1.hex, admit: true, role: "seedling", invite: secret.publicKey, reason: "" });
    // r1's join cites only the invite, so it is concurrent with the admission that records it: both stand in every order.
    const j1 = h.join(R1, secret);
    const admit = h.emit(F, { t: "request.answer", requester: R1.hex, admit: true, role: "admin", invite: secret.publicKey, reason: "" }, "own");
    const again = h.emit(F, { t: "request.answer", requester: R1.hex, admit: false, reason: "changed my mind" });
    const refuse = h.emit(F, { t: "request.answer", requester: R2.hex, admit: false, reason: "not now" });
    const unknown = h.emit(F, { t: "request.answer", requester: R4.hex, admit: false, reason: "who?" });
    const close = h.emit(F, { t: "requests.set", open: false, limit: 2 });
    const closed = pending(h, F, R5, g.id);

    const f = converge(crypto, h, 20, 21);
    expectRejected(f, openBySeedling, /member\.invite/);
    expectApplied(f, open);
    expectApplied(f, p1);
    expectRejected(f, forged, /signature/);
    expectRejected(f, otherPursuance, /signature/);
    expectRejected(f, replay, /already asked/);
    expectApplied(f, p2);
    expectRejected(f, overLimit, /too many pending requests \(limit 2\)/);
    expectRejected(f, member, /is or was a member/);
    expectRejected(f, bySeedling, /member\.invite/);
    expectApplied(f, inv);
    expectRejected(f, wrongRole, /not its invite's/);
    expectApplied(f, admit);
    expectApplied(f, j1);
    expectRejected(f, again, /already admitted/);
    expectApplied(f, refuse);
    expectRejected(f, unknown, /no request/);
    expectApplied(f, close);
    expectRejected(f, closed, /off/);
    const s = f.state;
    expect(s.joinRequests.get(R1.hex)).toMatchObject({ status: "admitted", role: "admin", invite: secret.publicKey, answeredBy: F.hex, carriedBy: S.hex });
    expect(s.joinRequests.get(R2.hex)).toMatchObject({ status: "refused", reason: "not now", answeredBy: F.hex });
    expect(s.requestPolicy).toMatchObject({ open: false, seed, limit: 2, work: 4 });
  });

  it("malformed request events are refused at the edge, naming the field", () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ t: "requests.set", open: true, limit: 5 }, /seed/],
      [{ t: "requests.set", open: true, seed: "abc", limit: 5, work: 99, answerKey: "ab".repeat(32), holders: { ["ab".repeat(32)]: "abc" } }, /work/],
      [{ t: "requests.set", open: true, seed: "abc", limit: 5, work: 4, answerKey: "ab".repeat(32), holders: {} }, /holder/],
      [{ t: "request.pending", requester: "ab".repeat(32), name: "n", message: "", ts: 1, sig: "00".repeat(64) }, /stamp/],
      [{ t: "request.drop", requesters: [] }, /requesters/],
      [{ t: "requests.set", open: true, seed: "abc", limit: 0 }, /limit/],
      [{ t: "requests.set", open: "yes", limit: 5 }, /open/],
      [{ t: "request.pending", requester: "x", name: "n", message: "", ts: 1, sig: "00".repeat(64) }, /requester/],
      [{ t: "request.pending", requester: "ab".repeat(32), name: "n".repeat(101), message: "", ts: 1, sig: "00".repeat(64) }, /name/],
      [{ t: "request.pending", requester: "ab".repeat(32), name: "n", message: "", ts: 1.5, sig: "00".repeat(64) }, /ts/],
      [{ t: "request.answer", requester: "ab".repeat(32), admit: true, reason: "" }, /role/],
    ];
    for (const [body, why] of bad) {
      const bytes = new TextEncoder().encode(JSON.stringify(body));
      expect(() => parseBody(bytes), JSON.stringify(body).slice(0, 60)).toThrow(BodyError);
      expect(() => parseBody(bytes)).toThrow(why);
    }
  });
});

describe("the request address and answers", () => {
  it("an answer counts only when signed with the address's answer key and sealed to the requester", () => {
    const seed = crypto.randomBytes(32);
    const answer = crypto.signKeyPair();
    const addr = decodeRequestAddress(encodeRequestAddress(requestAddress(crypto, seed, toHex(answer.publicKey), 20, "Open Archive", "cd".repeat(32), "ef".repeat(32), ["ws://127.0.0.1:1"])));
    const me = crypto.signKeyPair();
    const other = crypto.signKeyPair();
    const ch = requestChannel(crypto, seed, answer);
    const real = makeAnswer(crypto, ch, toHex(me.publicKey), { admit: false, reason: "not now", by: "founder" }) as Extract<RequestMessage, { k: "answer" }>;
    expect(openAnswer(crypto, addr, me, real)).toEqual({ admit: false, reason: "not now", by: "founder" });
    // Someone holding only the address (anyone) forges a refusal with a key of its own.
    const forger = requestChannel(crypto, crypto.randomBytes(32), crypto.signKeyPair());
    const forged = makeAnswer(crypto, { keys: ch.keys, answer: forger.answer }, toHex(me.publicKey), { admit: false, reason: "go away", by: "founder" }) as Extract<RequestMessage, { k: "answer" }>;
    expect(openAnswer(crypto, addr, me, forged)).toBeNull();
    // Addressed to someone else: not ours to open.
    expect(openAnswer(crypto, addr, other, real)).toBeNull();
    // A swapped box under a real signature fails the signature.
    const otherBox = (makeAnswer(crypto, forger, toHex(me.publicKey), { admit: false, reason: "x", by: "y" }) as { box: string }).box;
    const swapped = { ...real, box: otherBox };
    expect(openAnswer(crypto, addr, me, swapped)).toBeNull();
    // What is left: whoever held an answer key (a holder later removed) still signs answers that a
    // requester holding that old address accepts; an address made after the rotation does not.
    const rotated = decodeRequestAddress(encodeRequestAddress(requestAddress(crypto, crypto.randomBytes(32), toHex(crypto.signKeyPair().publicKey), 20, "Open Archive", "cd".repeat(32), "ef".repeat(32), ["ws://127.0.0.1:1"])));
    expect(openAnswer(crypto, addr, me, real)).not.toBeNull();
    expect(openAnswer(crypto, rotated, me, real)).toBeNull();
    // Bad addresses name what is wrong.
    expect(() => decodeRequestAddress("pursuance:invite/abc")).toThrow(/not a request address/);
    expect(() => decodeRequestAddress("pursuance:request/!!!")).toThrow(/does not decode/);
    expect(() => decodeRequestAddress("pursuance:request/" + toB64(new TextEncoder().encode(JSON.stringify({ ...addr, relays: [] }))))).toThrow(/malformed/);
  });
});

describe("asking to join through the CLI (real relays, real processes)", () => {
  let relays: Array<{ url: string; proc: ChildProcess }> = [];
  const dirs: string[] = [];
  const home = (name: string) => {
    const d = mkdtempSync(join(tmpdir(), `req-${name}-`));
    dirs.push(d);
    return ["--home", d];
  };
  beforeAll(async () => {
    relays = [await startRelayProcess(), await startRelayProcess()];
  });
  afterAll(() => {
    for (const r of relays) r.proc.kill("SIGTERM");
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** `client request` as a waiting process, as a requester would leave it running. */
  const asking: CliProcess[] = [];
  const ask = (addr: string, h: string[], message: string) => {
    const p = startCli(["client", "request", addr, "--message", message, "--timeout", "90s", ...h]);
    asking.push(p);
    return p;
  };
  afterAll(() => asking.forEach((p) => p.proc.kill("SIGKILL")));

  it("admitted once (the requester joins), refused once (told why); both sides see the outcome; closed requests carry nothing", async () => {
    const F = home("founder");
    const C = home("carol");
    const D = home("dave");
    const E = home("erin");
    for (const [n, h] of [["founder", F], ["carol", C], ["dave", D], ["erin", E]] as const) await ok(["client", "init", "--name", n, ...h]);
    const id = (await ok(["client", "create", "Open Archive", "--relay", relays[0]!.url, ...F])).match(/[0-9a-f]{64}/)![0];
    await ok(["client", "relay", "add", relays[1]!.url, "--timeout", "5s", ...F]);
    // Closed by default: no address yet.
    expect((await run(["client", "requests", "address", "--timeout", "3s", ...F])).stderr).toMatch(/requests are closed/);
    const addr = await ok(["client", "requests", "open", "--limit", "5", "--work", "8", "--timeout", "3s", ...F]);
    expect(addr).toMatch(/^pursuance:request\//);
    expect(decodeRequestAddress(addr).relays.sort()).toEqual(relays.map((r) => r.url).sort());
    const bad = await run(["client", "request", "pursuance:request/garbage", ...C]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/request address/);

    // carol asks; the founder's client carries the request in; the founder admits her as admin.
    const carol = ask(addr, C, "I archive court records");
    await carol.waitStderr(/asked to join/, 90_000);
    await ok(["client", "sync", "--timeout", "5s", ...F]);
    const listed = JSON.parse(await ok(["client", "requests", "--json", "--timeout", "3s", ...F])) as Array<{ name: string; status: string; message: string }>;
    expect(listed).toEqual([expect.objectContaining({ name: "carol", status: "pending", message: "I archive court records" })]);
    await ok(["client", "admit", "carol", "--role", "admin", "--timeout", "5s", ...F]);
    // Her client joins with the invite it was sent; a member's client must be online to let her in.
    await carol.waitStderr(/joining/, 60_000);
    await ok(["client", "sync", "--timeout", "5s", ...F]);
    const c = await carol.done;
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout.trim()).toBe(`joined Open Archive (${id}) as admin`);

    // dave asks and is refused with a reason, which reaches him.
    const dave = ask(addr, D, "hi");
    await dave.waitStderr(/asked to join/, 90_000);
    await ok(["client", "sync", "--timeout", "5s", ...F]);
    await ok(["client", "refuse", "dave", "--reason", "we do not know you yet", "--timeout", "5s", ...F]);
    const d = await dave.done;
    expect(d.code, d.stderr).toBe(4);
    expect(d.stdout.trim()).toBe("refused by founder: we do not know you yet");

    // Both sides see the same outcomes: the founder, and carol now as a member.
    for (const h of [F, C]) {
      const rows = JSON.parse(await ok(["client", "requests", "--json", "--timeout", "5s", ...h])) as Array<{ name: string; status: string; role?: string; reason?: string }>;
      expect(rows.map((r) => [r.name, r.status, r.role ?? r.reason])).toEqual([
        ["carol", "admitted", "admin"],
        ["dave", "refused", "we do not know you yet"],
      ]);
    }
    const st = JSON.parse(await ok(["client", "status", "--json", "--timeout", "5s", ...C])) as { members: Array<{ name: string; roles: string[] }>; rejected: number };
    expect(st.members.find((m) => m.name === "carol")?.roles).toEqual(["admin"]);
    expect(st.rejected).toBe(0);

    // Closed: erin's request is never carried in, and she hears nothing.
    await ok(["client", "requests", "close", "--timeout", "5s", ...F]);
    const erin = await run(["client", "request", addr, "--timeout", "4s", ...E]);
    expect(erin.code).toBe(3);
    await ok(["client", "sync", "--timeout", "5s", ...F]);
    const after = JSON.parse(await ok(["client", "requests", "--json", "--timeout", "3s", ...F])) as unknown[];
    expect(after).toHaveLength(2);
  }, 480_000);
});
