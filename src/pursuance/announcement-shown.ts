// What a reader of a copy was shown, beside what was signed. A copy is read
// as a room message, a feed entry or a web page; whoever served it can leave
// the signed block alone and change the words above it ("relay 41276" becomes
// "relay 51276"). The verifier compares the two and shows the difference.
//
// Every rendering (bridge/announce/render.ts) puts the text first, then an attribution
// line starting with "— ", then the block: that line is where the shown text
// ends, and the line itself must be one a renderer writes (announcement-markup.ts):
// words put between it and the block are shown too. A copy with nothing but
// the block shows no text apart from the signed one.
import { attributionMatches, foreignMarkup, type Attribution } from "./announcement-markup.js";

export type { Attribution };

export const BLOCK_BEGIN = "-----BEGIN PURSUANCE ANNOUNCEMENT-----";
export const BLOCK_END = "-----END PURSUANCE ANNOUNCEMENT-----";

/**
 * The text as shown beside its proof: an announcer must not be able to make a
 * copy look as if it held a second proof (a block pasted into the text). The
 * signed text itself is untouched, inside the event bytes.
 */
export function shownText(text: string): string {
  return text.replace(/-----(BEGIN|END) PURSUANCE ANNOUNCEMENT-----/g, "[$1 PURSUANCE ANNOUNCEMENT]");
}

/** Where a rendering cut a text too long for one Matrix message (the block still holds all of it). */
export const CUT_MARK = "\n… (cut to fit one Matrix message: the whole signed text is in the block below, and pursuance verify-announcement prints it)";

/** What a message's HTML shows instead of a text too long to repeat there (the body holds it). */
export const TOO_LONG_HTML = "(too long to repeat here: see the plain-text body)";

/** One place a copy shows text: where (for the report), and the words. */
export interface Shown {
  where: string;
  text: string;
  /** An attribution line (must be one a renderer writes), or markup no renderer writes (always a difference). */
  role?: "attribution" | "foreign";
}

const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&apos;": "'" };

function unmarkup(s: string): string {
  return s
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/p>\s*<p>/gi, "\n")
    .replace(/<[^>]*>/g, "")
    .replace(/&(amp|lt|gt|quot|#39|apos);/g, (m) => ENTITIES[m]!);
}

/** What one segment shows at `where`: the words before its attribution line, and that line with whatever follows it. */
function split(s: string, where: string): Shown[] {
  const at = s.lastIndexOf("\n— ");
  const out: Shown[] = [];
  const cut = (at >= 0 ? s.slice(0, at) : s).trim();
  if (cut !== "") out.push({ where, text: cut });
  if (at >= 0) out.push({ where: `${where} attribution line`, text: s.slice(at + 1).trim(), role: "attribution" });
  return out;
}

function foreign(where: string, tags: string[]): Shown[] {
  return tags.map((t) => ({ where, text: t, role: "foreign" as const }));
}

/**
 * What the text before one block (a message body, a feed entry, an HTML
 * article, or a pasted copy) shows: markup taken off, the attribution and what
 * follows cut. `before` runs from the end of the previous block.
 */
export function shownBeforeBlock(before: string): Shown[] {
  const out: Shown[] = [];
  const feed = before.lastIndexOf('<content type="text">');
  if (feed >= 0) {
    const entry = before.lastIndexOf("<entry>");
    // The entry's elements before its content, and what lies between the previous entry's content and this entry.
    const prevEnd = before.lastIndexOf("</content>", entry);
    const frame = `${prevEnd >= 0 ? before.slice(prevEnd, entry) : ""}${before.slice(Math.max(0, entry), feed)}`;
    out.push(...foreign("feed entry", foreignMarkup(frame, "feed")));
    if (prevEnd >= 0 && unmarkup(before.slice(prevEnd, entry)).trim() !== "") out.push({ where: "feed, between entries", text: unmarkup(before.slice(prevEnd, entry)).trim(), role: "foreign" });
    const title = /<title>([\s\S]*?)<\/title>/.exec(before.slice(Math.max(0, entry)));
    if (entry >= 0 && title) out.push({ where: "feed entry title", text: unmarkup(title[1]!) });
    out.push(...split(unmarkup(before.slice(feed)), "feed entry"));
    return out;
  }
  const article = before.lastIndexOf("<article");
  if (article >= 0) out.push(...foreign("web page", foreignMarkup(before.slice(article), "page")));
  out.push(...split(article >= 0 ? unmarkup(before.slice(article)) : before, article >= 0 ? "web page" : "message"));
  return out;
}

/** Where a copy shows words after its last block (none in any rendering). */
export const AFTER_BLOCK = "text after the block";

/** The words after the last block, markup taken off, or null when there are none. */
export function shownAfterBlocks(after: string): Shown | null {
  const t = unmarkup(after).trim();
  return t === "" ? null : { where: AFTER_BLOCK, text: t };
}

/** A Matrix message's content: its plain body and its HTML, each shown by some client. */
export function shownInContent(o: Record<string, unknown>): Shown[] {
  const out: Shown[] = [];
  for (const [key, where, strip] of [["body", "message body", false], ["formatted_body", "message HTML", true]] as const) {
    const v = o[key];
    if (typeof v !== "string") continue;
    const block = v.indexOf(BLOCK_BEGIN);
    if (strip) out.push(...foreign(where, foreignMarkup(v, "message")));
    out.push(...split(strip ? unmarkup(block >= 0 ? v.slice(0, block) : v) : block >= 0 ? v.slice(0, block) : v, where));
    const end = v.lastIndexOf(BLOCK_END);
    const after = end >= 0 ? shownAfterBlocks(v.slice(end + BLOCK_END.length)) : null;
    if (after) out.push({ ...after, where: `${where}, ${AFTER_BLOCK}` });
  }
  return out;
}

function norm(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\r\n?/g, "\n").replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, "").replace(/[ \t]+\n/g, "\n").trim();
}

/** The headers a rendering puts before the text: "📣 NAME: ", "📇 NAME, its public profile:", or a bare "📣 ". */
function withoutHeader(s: string, name: string): string {
  for (const h of [`📣 ${name}: `, `📇 ${name}, its public profile:`, "📣 "]) if (s.startsWith(h)) return s.slice(h.length).trim();
  return s;
}

/** A feed title is the first line, cut at 80 characters with "…". */
function titleMatches(shown: string, signed: string): boolean {
  const first = signed.split("\n")[0]!;
  return shown.endsWith("…") ? first.startsWith(shown.slice(0, -1)) && shown.length <= 80 : shown === first;
}

/**
 * Compare what was shown with the signed text. Returns null when every place
 * shows the signed text, else the first place that does not, as a line diff.
 */
export function compareShown(shown: readonly Shown[], signed: string, name: string, by: Attribution): { where: string; diff: string[] } | null {
  const want = norm(shownText(signed));
  for (const s of shown) {
    if (s.role === "foreign") return { where: `${s.where}, which holds markup no renderer writes`, diff: [`+ ${s.text}`] };
    if (s.role === "attribution") {
      if (!attributionMatches(norm(s.text), by)) return { where: s.where, diff: norm(s.text).split("\n").map((l) => `+ ${l}`) };
      continue;
    }
    const got = norm(shownText(s.where === "text field" ? s.text : withoutHeader(norm(s.text), name)));
    if (s.where.endsWith(AFTER_BLOCK)) return { where: s.where, diff: norm(s.text).split("\n").map((l) => `+ ${l}`) };
    const mark = norm(CUT_MARK);
    const cut = got.endsWith(mark) ? norm(got.slice(0, -mark.length)) : null;
    // The HTML of a message too long for the text twice shows only the fixed note, no words.
    if (s.where === "message HTML" && got === TOO_LONG_HTML) continue;
    const same = s.where === "feed entry title" ? titleMatches(got, want) : cut !== null ? want.startsWith(cut) : got === want;
    if (!same) return { where: s.where, diff: lineDiff(want, got) };
  }
  return null;
}

/** Lines only in the signed text ("- "), only in the shown text ("+ "), in order. */
function lineDiff(signed: string, shown: string): string[] {
  const a = signed.split("\n");
  const b = shown.split("\n");
  // Longest common subsequence: these are a few lines each, bounded by the event size.
  const n = a.length;
  const m = b.length;
  if (n * m > 250_000) return [...a.map((l) => `- ${l}`), ...b.map((l) => `+ ${l}`)];
  const L = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i]![j] = a[i] === b[j] ? L[i + 1]![j + 1]! + 1 : Math.max(L[i + 1]![j]!, L[i]![j + 1]!);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) (i++, j++);
    else if (i < n && (j === m || L[i + 1]![j]! >= L[i]![j + 1]!)) out.push(`- ${a[i++]}`);
    else out.push(`+ ${b[j++]}`);
  }
  return out;
}

/** Whether a copy shows the text cut (CUT_MARK): then the reader must read the whole signed text, which the verifier prints. */
export function shownCut(shown: readonly Shown[]): boolean {
  const mark = norm(CUT_MARK);
  return shown.some((s) => norm(s.text).endsWith(mark));
}
