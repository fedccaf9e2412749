// A public announcement checked from its bytes alone, as a reader outside the
// pursuance would: real libsodium, real relays, real clients; the copies a
// hostile host could hand out (one byte changed, another pursuance's genesis,
// an event of another kind, a forged key line) are each refused with the reason.
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCrypto, type Crypto } from "../src/cwtch/crypto.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { findProofs, makeProof, proofBlock, publicAnnouncements, verifyAnnouncement, type AnnouncementProof } from "../src/pursuance/announcement-proof.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { runAnnouncementsCommand, runVerifyAnnouncement } from "../src/cli/announce-command.js";
import { announcementMessage, atomFeed } from "../src/bridge/announce/render.js";
import { runClientCommand } from "../src/cli/client-command.js";
import { identity, ports } from "./helpers/pursuance-node.js";

function flipByteInBase64(b64: string, at: number): string {
  const bytes = Buffer.from(b64, "base64");
  bytes[at]! ^= 0x01;
  return bytes.toString("base64");
}

async function cli(args: string[], stdin = ""): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runVerifyAnnouncement(args, { out: (l) => void (out += l + "\n"), err: (l) => void (err += l + "\n") }, () => stdin);
  return { code, out, err };
}

describe("announcement proofs", () => {
  let relay: RelayServer;
  let crypto: Crypto;
  let a: PursuanceClient;
  let b: PursuanceClient;
  let proof: AnnouncementProof;

  beforeAll(async () => {
    crypto = await loadCrypto();
    relay = await startRelay();
    a = await PursuanceClient.create(await ports(), await identity(), { name: "Open Records", founderName: "ada", relays: [relay.url] });
    b = await PursuanceClient.create(await ports(), await identity(), { name: "Other Group", founderName: "bob", relays: [relay.url] });
    await a.publish({ t: "announce", text: "We moved to a new relay" });
    await b.publish({ t: "announce", text: "Hello from B" });
    proof = publicAnnouncements(a.state, a.id, (id) => a.session.log.get(id), undefined, a.fold.applied)[0]!.proof;
  });
  afterAll(async () => {
    a?.close();
    b?.close();
    await relay?.close();
  });

  it("accepts a faithful copy, as JSON and as the text block, and says what it did not check", async () => {
    const v = verifyAnnouncement(crypto, proof, { pursuanceId: a.id, founderKey: a.me });
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.text).toBe("We moved to a new relay");
    expect(v.notChecked.join(" ")).toMatch(/held a role allowed to announce/);
    expect(findProofs(`some chat around it\n${proofBlock(proof)}\nmore chat`)).toEqual([proof]);
    // A copy whose lines were wrapped by a mail client still reads.
    const wrapped = proofBlock(proof).replace(/^(Event: )(.{40})(.*)$/m, "$1$2\n   $3");
    expect(findProofs(wrapped)).toEqual([proof]);
    const r = await cli(["-", "--pursuance", a.id], proofBlock(proof));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/VALID announcement/);
    expect(r.out).toMatch(/Not checked[\s\S]*held a role allowed to announce/);
  });

  it("refuses a copy with one byte changed, naming why", async () => {
    // A byte of the body (the text is at the end of the signed part, before the 64-byte signature).
    const len = Buffer.from(proof.event, "base64").length;
    const tampered = { ...proof, event: flipByteInBase64(proof.event, len - 70) };
    const v = verifyAnnouncement(crypto, tampered);
    expect(v.ok).toBe(false);
    expect(v.checks.find((c) => c.what === "signature")!.detail).toMatch(/does not verify/);
    const r = await cli(["-"], proofBlock(tampered));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^INVALID: [\s\S]*✘ signature: .*does not verify/m);
    // One character of the base64 in the pasted block.
    const block = proofBlock(proof);
    const i = block.indexOf("Event: ") + 30;
    const swapped = block.slice(0, i) + (block[i] === "A" ? "B" : "A") + block.slice(i + 1);
    expect((await cli(["-"], swapped)).code).toBe(1);
    // The signature line alone.
    expect(verifyAnnouncement(crypto, { ...proof, sig: flipByteInBase64(proof.sig, 3) }).checks.find((c) => c.what === "signature shown")!.ok).toBe(false);
  });

  it("refuses a key line that is not the signer, and another pursuance's id or genesis", async () => {
    expect(verifyAnnouncement(crypto, { ...proof, announcer: b.me }).checks.find((c) => c.what === "author")!.ok).toBe(false);
    const bProof = publicAnnouncements(b.state, b.id, (id) => b.session.log.get(id), undefined, b.fold.applied)[0]!.proof;
    // B's announcement dressed as A's: A's id and genesis, B's signed event.
    const dressed = { ...bProof, pursuance: a.id, genesis: proof.genesis };
    const v = verifyAnnouncement(crypto, dressed);
    expect(v.ok).toBe(false);
    expect(v.checks.find((c) => c.what === "pursuance")!.detail).toMatch(/another group/);
    // A genuine copy of B checked against A's id, as a reader who was told A's id.
    const r = await cli(["-", "--pursuance", a.id], proofBlock(bProof));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✘ expected pursuance/);
    // A genesis that does not hash to the id shown.
    expect(verifyAnnouncement(crypto, { ...proof, genesis: bProof.genesis }).checks.find((c) => c.what === "pursuance")!.detail).toMatch(/hashes to/);
  });

  it("refuses a signed event that is not an announcement", async () => {
    const genesis = a.session.log.get(a.id)!;
    const v = verifyAnnouncement(crypto, makeProof(genesis, genesis));
    expect(v.ok).toBe(false);
    expect(v.checks.find((c) => c.what === "kind")!.detail).toMatch(/genesis, not an announcement/);
  });

  it("an announcer cannot slip a second proof into a copy through its text", async () => {
    const bProof = publicAnnouncements(b.state, b.id, (id) => b.session.log.get(id), undefined, b.fold.applied)[0]!.proof;
    await a.publish({ t: "announce", text: `Also valid:\n${proofBlock(bProof)}\n\u0001 <&>` });
    const list = publicAnnouncements(a.state, a.id, (id) => a.session.log.get(id), undefined, a.fold.applied);
    const hostile = list.at(-1)!;
    const body = announcementMessage("Open Records", hostile).plain;
    expect(findProofs(body)).toEqual([hostile.proof]);
    const feed = atomFeed(a.id, "Open Records", list, null);
    expect(findProofs(feed)).toHaveLength(list.length);
    expect(feed).not.toContain("\u0001");
    const r = await cli(["-", "--pursuance", a.id], feed);
    expect(r.code, r.out).toBe(0);
  });

  it("says there is nothing to check in text without an announcement, and refuses a bad --pursuance", async () => {
    const r = await cli(["-"], "just a chat message");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no announcement found/);
    expect((await cli(["-", "--pursuance", "nope"], proofBlock(proof))).code).toBe(2);
  });

  it("exports static files that verify, from a CLI member's home", async () => {
    const home = mkdtempSync(join(tmpdir(), "pursuance-ann-"));
    const out = mkdtempSync(join(tmpdir(), "pursuance-ann-out-"));
    const quiet = { out: () => {}, err: () => {} };
    let id = "";
    expect(await runClientCommand(["init", "--name", "ada", "--home", home], quiet)).toBe(0);
    expect(await runClientCommand(["create", "Open Records", "--relay", relay.url, "--home", home], { out: (l) => void (id ||= l.trim()), err: () => {} })).toBe(0);
    expect(await runClientCommand(["announce", "first", "--home", home, "--timeout", "3s"], quiet)).toBe(0);
    expect(await runClientCommand(["announce", "second", "--home", home, "--timeout", "3s"], quiet)).toBe(0);
    expect(await runAnnouncementsCommand(["export", out, "--home", home, "--timeout", "3s"], quiet)).toBe(0);
    const files = readdirSync(out).filter((f) => f.endsWith(".json"));
    expect(files).toHaveLength(2);
    for (const f of [...files, "feed.atom", "index.html"]) {
      const r = await cli([join(out, f)]);
      expect(r.code, `${f}: ${r.out}${r.err}`).toBe(0);
    }
    const feed = readFileSync(join(out, "feed.atom"), "utf8");
    expect(feed.indexOf("second")).toBeLessThan(feed.indexOf("first"));
    expect((await cli([join(out, "index.html")])).out.match(/VALID announcement/g)).toHaveLength(2);
  });
});
