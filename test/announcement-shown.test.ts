// A genuine, VALID announcement re-rendered by whoever serves the copy so that
// a reader sees words nobody signed: every part a reader can be shown is
// compared (body, HTML in every content form, the attribution line, links,
// markup, the feed entry's elements), and the verdict names the part. Real
// libsodium, real renderers, the verifier the CLI runs.
import { describe, expect, it } from "vitest";
import { toHex } from "../src/cwtch/bytes.js";
import { genesisBody } from "../src/pursuance/actions.js";
import { findCopies, makeProof, MATRIX_PROOF_KEY, verifyAnnouncement, type PublicAnnouncement } from "../src/pursuance/announcement-proof.js";
import { announcementMessage, atomFeed, exportIndex } from "../src/bridge/announce/render.js";
import { SignedWorld } from "./helpers/signed-world.js";

const TEXT = "Meet at relay 41276.\nDonate at https://good.example/donate";

async function honest() {
  const w = await SignedWorld.make();
  const F = w.signer();
  w.genesis = w.sign(F, genesisBody(F.actor, { name: "p", founderName: "founder" }));
  const ann = w.sign(F, { t: "announce", text: TEXT }, [w.genesis]);
  const pa: PublicAnnouncement = { id: toHex(ann.id), author: F.hex, authorName: "founder", ts: ann.ts, text: TEXT, proof: makeProof(ann, w.genesis, []) };
  const msg = announcementMessage("p", pa);
  const content = { msgtype: "m.text", body: msg.plain, format: "org.matrix.custom.html", formatted_body: msg.html, ...msg.extra };
  return { w, pa, msg, content };
}

function verdicts(w: SignedWorld, text: string) {
  return findCopies(text).map((c) => verifyAnnouncement(w.crypto, c.proof, {}, c.shown));
}
const statuses = (w: SignedWorld, text: string) => verdicts(w, text).map((v) => v.status);

describe("a copy shows only what was signed, in every part a reader sees", () => {
  it("honest renderings are VALID: message body, content, pointer-form content, feed, export page", async () => {
    const { w, pa, msg, content } = await honest();
    expect(statuses(w, msg.plain)).toEqual(["VALID"]);
    expect(statuses(w, JSON.stringify(content))).toEqual(["VALID"]);
    const pointer = { ...content, [MATRIX_PROOF_KEY]: { in: "body", pursuance: pa.proof.pursuance, announcer: pa.proof.announcer } };
    expect(statuses(w, JSON.stringify(pointer))).toEqual(["VALID"]);
    expect(statuses(w, atomFeed(pa.proof.pursuance, "p", [pa, { ...pa }], null))).toEqual(["VALID", "VALID"]);
    expect(statuses(w, exportIndex(pa.proof.pursuance, "p", [pa]))).toEqual(["VALID"]);
  });

  it("(i) content with the proof in the body (pointer form): a replaced HTML is ALTERED, naming the message HTML", async () => {
    const { w, pa, content } = await honest();
    const bad = { ...content, formatted_body: "<p>📣 <b>p</b>: Meet at relay 51276.<br>Donate at https://evil.example/donate</p>", [MATRIX_PROOF_KEY]: { in: "body", pursuance: pa.proof.pursuance, announcer: pa.proof.announcer } };
    const [v] = verdicts(w, JSON.stringify(bad));
    expect(v!.status).toBe("ALTERED");
    expect(v!.headline).toContain("message HTML");
  });

  it("(ii) words between the attribution line and the block are ALTERED, in the body, the content and the feed", async () => {
    const { w, pa, msg } = await honest();
    const i = msg.plain.indexOf("-----BEGIN");
    const plain = `${msg.plain.slice(0, i)}UPDATE: the relay moved to 51276.\n\n${msg.plain.slice(i)}`;
    for (const v of [...verdicts(w, plain), ...verdicts(w, JSON.stringify({ msgtype: "m.text", body: plain, ...msg.extra }))]) {
      expect(v.status).toBe("ALTERED");
      expect(v.headline).toContain("attribution line");
      expect(v.diff.join("\n")).toContain("+ UPDATE: the relay moved to 51276.");
    }
    const feed = atomFeed(pa.proof.pursuance, "p", [pa], null).replace("\n\n-----BEGIN", "\n\nUPDATE: relay 51276\n\n-----BEGIN");
    expect(statuses(w, feed)).toEqual(["ALTERED"]);
    // A name in the attribution that is not the announcer's is shown words too.
    const renamed = msg.plain.replace("— founder (key", "— founder says the relay moved to 51276 (key");
    expect(statuses(w, renamed)).toEqual(["ALTERED"]);
  });

  it("(iii) HTML whose link text is the signed URL but whose href is not: ALTERED", async () => {
    const { w, msg, content } = await honest();
    const html = msg.html.replace("https://good.example/donate", '<a href="https://evil.example/donate">https://good.example/donate</a>');
    const [v] = verdicts(w, JSON.stringify({ ...content, formatted_body: html }));
    expect(v!.status).toBe("ALTERED");
    expect(v!.headline).toContain("message HTML");
    expect(v!.diff).toContain('+ <a href="https://evil.example/donate">');
  });

  it("(iv) HTML hiding or adding words with markup (white text, an inline image) is ALTERED; so is an export page with a foreign link", async () => {
    const { w, pa, msg, content } = await honest();
    const html = msg.html.replace("41276", '<font color="#ffffff" data-mx-color="#ffffff">41276</font><img src="mxc://evil/relay51276" alt="">');
    expect(statuses(w, JSON.stringify({ ...content, formatted_body: html }))).toEqual(["ALTERED"]);
    const page = exportIndex(pa.proof.pursuance, "p", [pa]).replace("https://good.example/donate", '<a href="https://evil.example">https://good.example/donate</a>');
    expect(statuses(w, page)).toEqual(["ALTERED"]);
  });

  it("(v) a feed entry with an added <summary>, before or after its content, is ALTERED", async () => {
    const { w, pa } = await honest();
    const feed = atomFeed(pa.proof.pursuance, "p", [pa, { ...pa }], null);
    const before = feed.replace("<content", "<summary>Meet at relay 51276.</summary><content");
    expect(statuses(w, before)).toContain("ALTERED");
    const after = feed.replace("</content>", "</content><summary>Meet at relay 51276.</summary>");
    expect(statuses(w, after)).toContain("ALTERED");
    const [v] = verdicts(w, before);
    expect(v!.headline).toContain("feed entry");
  });
});
