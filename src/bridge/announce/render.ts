// Announcements as the public reads them: a Matrix message, an Atom feed, a
// static HTML page. Each carries the proof (announcement-proof.ts) so a reader
// can check it without trusting whoever served it.
import { keyInGroups, MATRIX_PROOF_KEY, proofBlock, type PublicAnnouncement } from "../../pursuance/announcement-proof.js";
import { CUT_MARK, shownText, TOO_LONG_HTML } from "../../pursuance/announcement-shown.js";
import type { PublicMessage } from "./ports.js";
import { esc } from "../mirror-render.js";
import { MAX_CONTENT_BYTES } from "../fit-message.js";

const shown = shownText;

// The whole message, not only the block: the verifier then also compares the words shown with the signed ones.
const HOW = "To check it without trusting this server, copy this whole message, text and block, into `pursuance verify-announcement -`.";

export function announcementMessage(pursuanceName: string, a: PublicAnnouncement): PublicMessage {
  const block = proofBlock(a.proof);
  const who = `${a.authorName} (key ${keyInGroups(a.author)})`;
  const head = a.kind === "profile" ? `📇 ${pursuanceName}, its public profile:\n` : `📣 ${pursuanceName}: `;
  const headHtml = a.kind === "profile" ? `📇 <b>${esc(pursuanceName)}</b>, its public profile:<br>` : `📣 <b>${esc(pursuanceName)}</b>: `;
  const text = `<p>${headHtml}${esc(shown(a.text)).replace(/\n/g, "<br>")}</p>`;
  const msg: PublicMessage = {
    plain: `${head}${shown(a.text)}\n\n— ${who}, pursuance ${a.proof.pursuance}. ${HOW}\n\n${block}`,
    html: `${text}<p>— ${esc(who)}, pursuance <code>${a.proof.pursuance}</code>. To check it without trusting this server, copy this whole message, text and block, into <code>pursuance verify-announcement -</code>.</p>` + `<pre><code>${esc(block)}</code></pre>`,
    extra: { [MATRIX_PROOF_KEY]: a.proof },
    txnId: `pursuance.announce.${a.id.slice(0, 40)}`,
  };
  // The proof is in the content three times (body, HTML, JSON); a long text with a long role chain
  // could pass Matrix's event limit, so the HTML copy of the block goes first (the body keeps it).
  const size = () => Buffer.byteLength(JSON.stringify({ body: msg.plain, formatted_body: msg.html, ...msg.extra }));
  const pointer = `<p>— ${esc(who)}, pursuance <code>${a.proof.pursuance}</code>. To check it, copy the plain-text body of this message into <code>pursuance verify-announcement -</code>.</p>`;
  if (size() > MAX_CONTENT_BYTES) msg.html = `${text}${pointer}`;
  // Then the HTML copy of the text: clients show the body instead, which holds everything.
  if (size() > MAX_CONTENT_BYTES) msg.html = `<p>${headHtml}${TOO_LONG_HTML}</p>${pointer}`;
  // Then the JSON copy of the proof: the body's block is the same proof (the key stays, naming where it is).
  if (size() > MAX_CONTENT_BYTES) msg.extra = { [MATRIX_PROOF_KEY]: { in: "body", pursuance: a.proof.pursuance, announcer: a.proof.announcer } };
  // Last, the shown text is cut, marked as cut: the signed text is whole in the block, and the verifier prints it.
  if (size() > MAX_CONTENT_BYTES) {
    const tail = `\n\n— ${who}, pursuance ${a.proof.pursuance}. ${HOW}\n\n${block}`;
    const room = MAX_CONTENT_BYTES - Buffer.byteLength(JSON.stringify({ body: `${head}${CUT_MARK}${tail}`, formatted_body: msg.html, ...msg.extra })) - 64;
    const chars = Array.from(shown(a.text));
    let n = chars.length;
    while (n > 0 && Buffer.byteLength(JSON.stringify(chars.slice(0, n).join(""))) > room) n = Math.floor(n * 0.95);
    msg.plain = `${head}${chars.slice(0, n).join("")}${CUT_MARK}${tail}`;
  }
  return msg;
}

function xml(s: string): string {
  // Control characters other than tab and newlines are not allowed in XML 1.0 at all.
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function iso(ts: number): string {
  return new Date(ts).toISOString();
}

function title(text: string): string {
  const line = text.split("\n")[0]!;
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

/** An Atom feed of a pursuance's announcements, newest first, each entry with its proof block. */
export function atomFeed(pursuanceId: string, pursuanceName: string, list: readonly PublicAnnouncement[], selfUrl: string | null): string {
  const entries = [...list].reverse().map((a) =>
    [
      "  <entry>",
      `    <id>urn:pursuance:announcement:${a.id}</id>`,
      `    <title>${xml(title(shown(a.text)))}</title>`,
      `    <updated>${iso(a.ts)}</updated>`,
      `    <author><name>${xml(a.authorName)}</name><uri>urn:pursuance:key:${a.author}</uri></author>`,
      // The attribution line ("— ") is where the shown text ends, for the verifier's comparison (announcement-shown.ts).
      `    <content type="text">${xml(`${shown(a.text)}\n\n— ${a.authorName} (key ${keyInGroups(a.author)}), pursuance ${a.proof.pursuance}. ${HOW}\n\n${proofBlock(a.proof)}`)}</content>`,
      "  </entry>",
    ].join("\n"),
  );
  const updated = list.length ? iso(Math.max(...list.map((a) => a.ts))) : iso(0);
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `  <id>urn:pursuance:${pursuanceId}</id>`,
    `  <title>${xml(pursuanceName)}: announcements</title>`,
    `  <subtitle>Signed announcements of pursuance ${pursuanceId}. Check any entry with: pursuance verify-announcement FILE</subtitle>`,
    `  <updated>${updated}</updated>`,
    ...(selfUrl ? [`  <link rel="self" href="${xml(selfUrl)}"/>`] : []),
    ...entries,
    "</feed>",
    "",
  ].join("\n");
}

/** The static export's index: every announcement, its proof block, and a link to its file. */
export function exportIndex(pursuanceId: string, pursuanceName: string, list: readonly PublicAnnouncement[]): string {
  const items = [...list].reverse().map(
    (a) =>
      `<article id="${a.id}">\n<p>📣 ${esc(shown(a.text))}</p>\n<p>— ${esc(a.authorName)} (key <code>${keyInGroups(a.author)}</code>), ${iso(a.ts)} · <a href="${a.id}.json">signed event</a></p>\n<pre>${esc(proofBlock(a.proof))}</pre>\n</article>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(pursuanceName)}: announcements</title>
<link rel="alternate" type="application/atom+xml" href="feed.atom"></head>
<body>
<h1>${esc(pursuanceName)}: announcements</h1>
<p>Pursuance <code>${pursuanceId}</code>. Each announcement is signed by its author's key. Check one without trusting this site: save its <code>.json</code> file (or copy its block) and run <code>pursuance verify-announcement FILE --pursuance ${pursuanceId}</code>.</p>
${items.join("\n")}
</body></html>
`;
}
