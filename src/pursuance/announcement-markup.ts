// What the renderers (src/bridge/announce/render.ts) put around the signed
// text, exactly: the only markup, the only feed elements, the only attribution
// lines. A reader is shown whatever a copy holds, not what survives stripping
// markup: white text, an inline image, a link whose target is not its text or
// a feed <summary> all show words nobody signed. So anything a renderer does
// not make is a difference, named where it is.

/** Tags a room message's HTML may hold: the bridge writes these, bare. */
const MESSAGE_TAGS = new Set(["<p>", "</p>", "<b>", "</b>", "<br>", "<code>", "</code>", "<pre>", "</pre>"]);

/** An export page's article: its id, and one link to the event's own file ("signed event"). */
const PAGE_TAG = /^(<article id="[0-9a-f]{64}">|<\/article>|<\/?p>|<\/?code>|<\/?pre>|<a href="[0-9a-f]{64}\.json">|<\/a>)$/;

/** Elements of a feed entry before its content, and between one entry's content and the next entry. */
const FEED_TAGS = new Set(["<entry>", "</entry>", "<id>", "</id>", "<title>", "</title>", "<updated>", "</updated>", "<author>", "</author>", "<name>", "</name>", "<uri>", "</uri>", "</content>"]);

export type MarkupKind = "message" | "page" | "feed";

/** Every tag (or comment, or stray "<") in `s` that the renderer of `kind` does not write. */
export function foreignMarkup(s: string, kind: MarkupKind): string[] {
  const out: string[] = [];
  for (const m of s.matchAll(/<[^>]*>?/g)) {
    const tag = m[0];
    const ok = kind === "message" ? MESSAGE_TAGS.has(tag) : kind === "feed" ? FEED_TAGS.has(tag) : PAGE_TAG.test(tag);
    if (!ok) out.push(tag.slice(0, 200));
  }
  return out;
}

/** Who the attribution line may name, and what it must say. */
export interface Attribution {
  /** The announcer's name as the role chain gives it, and its key's first 12 hex digits (the mirror's fallback); empty: any one-line name. */
  names: string[];
  /** The announcer's key, hex. */
  key: string;
  /** The pursuance id, hex. */
  pursuance: string;
  /** The event's claimed time (the export page prints it). */
  ts: number | null;
}

const HOW = "To check it without trusting this server, copy this whole message, text and block, into `pursuance verify-announcement -`.";

/** The attribution lines the renderers write, markup taken off, `{N}` where the name goes. */
function templates(a: Attribution): string[] {
  const who = `{N} (key ${a.key.replace(/(.{4})(?=.)/g, "$1 ")})`;
  const iso = a.ts !== null && Number.isFinite(a.ts) ? new Date(a.ts).toISOString() : "";
  return [
    `— ${who}, pursuance ${a.pursuance}. ${HOW}`,
    `— ${who}, pursuance ${a.pursuance}. ${HOW.replace(/`/g, "")}`,
    `— ${who}, pursuance ${a.pursuance}. To check it, copy the plain-text body of this message into pursuance verify-announcement -.`,
    `— ${who}, ${iso} · signed event`,
  ];
}

/** Whether `line` (trimmed, markup off) is an attribution line a renderer makes for this announcement. */
export function attributionMatches(line: string, a: Attribution): boolean {
  for (const t of templates(a)) {
    const [pre, post] = t.split("{N}") as [string, string];
    if (!line.startsWith(pre) || !line.endsWith(post) || line.length < pre.length + post.length) continue;
    const name = line.slice(pre.length, line.length - post.length);
    if (a.names.length === 0 ? !name.includes("\n") : a.names.includes(name)) return true;
  }
  return false;
}
