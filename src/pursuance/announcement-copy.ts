// Reading a copied announcement: its proof as JSON (Matrix content, export
// files) or as a text block (message bodies, feeds, web pages), with what the
// copy showed its reader beside the block. A copy is untrusted input: parsed
// here once, each field checked for shape; the checks of meaning are in
// announcement-proof.ts.
import { BLOCK_BEGIN, BLOCK_END, shownAfterBlocks, shownBeforeBlock, shownInContent, type Shown } from "./announcement-shown.js";
import { MAX_CHAIN } from "./role-chain.js";

/** Custom key of the proof in a Matrix message's content. */
export const MATRIX_PROOF_KEY = "org.pursuance.announcement";
export { BLOCK_BEGIN, BLOCK_END };

/** Everything a reader needs, as JSON (Matrix content, export files) and as a text block (message bodies, feeds). */
export interface AnnouncementProof {
  /** 1: no role chain (older copies, which prove no authority); 2: with one. */
  v: 1 | 2;
  /** The pursuance id: hex BLAKE2b-256 of the genesis bytes. */
  pursuance: string;
  /** The announcer's Ed25519 public key, hex (its fingerprint). */
  announcer: string;
  /** The signed event, standard base64 of its canonical bytes. */
  event: string;
  /** The event's Ed25519 signature (its last 64 bytes), standard base64. */
  sig: string;
  /** The pursuance's genesis event, standard base64. */
  genesis: string;
  /** v2: the signed events, in order, that give the announcer its role (role-chain.ts); may be empty for the founder. */
  chain?: string[];
}

/** A proof found in a copy, with the text that copy showed beside it. */
export interface Copy {
  proof: AnnouncementProof;
  shown: Shown[];
}

export class ProofFormatError extends Error {
  constructor(
    message: string,
    readonly value: unknown,
  ) {
    super(message);
    this.name = "ProofFormatError";
  }
}

export function proofBlock(p: AnnouncementProof): string {
  const chain = p.v === 2 ? [`Chain: ${p.chain?.length ? p.chain.join(",") : "none"}`] : [];
  return [BLOCK_BEGIN, `Pursuance: ${p.pursuance}`, `Announcer: ${p.announcer}`, `Event: ${p.event}`, `Signature: ${p.sig}`, `Genesis: ${p.genesis}`, ...chain, BLOCK_END].join("\n");
}

const BLOCK_KEYS: Record<string, string> = { pursuance: "pursuance", announcer: "announcer", event: "event", signature: "sig", genesis: "genesis", chain: "chain" };

/** Every proof in a copied text (see findCopies). */
export function findProofs(text: string): AnnouncementProof[] {
  return findCopies(text).map((c) => c.proof);
}

/**
 * Every proof in a copied text, with what the copy showed beside it: text
 * blocks (a room message's body, a feed, a web page), a proof as JSON, or JSON
 * that holds one (a Matrix event or its content, an export file, a list of
 * them). Throws ProofFormatError when there is none.
 */
export function findCopies(text: string): Copy[] {
  const out: Copy[] = [];
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    let v: unknown;
    try {
      v = JSON.parse(trimmed);
    } catch {
      v = undefined;
    }
    if (v !== undefined) collectJson(v, out, 0, []);
  }
  if (out.length === 0) {
    // Blocks, from a body pasted as is, or HTML/XML-escaped in a feed (the fields hold no escaped characters).
    const re = new RegExp(`${BLOCK_BEGIN}([\\s\\S]*?)${BLOCK_END}`, "g");
    let from = 0;
    for (const m of text.matchAll(re)) {
      out.push({ proof: parseBlock(m[1]!), shown: shownBeforeBlock(text.slice(from, m.index)) });
      from = m.index + m[0].length;
    }
    // Words after the last block are shown too, and no rendering puts any there.
    const after = shownAfterBlocks(text.slice(from));
    if (after) out.at(-1)?.shown.push(after);
  }
  if (out.length === 0) throw new ProofFormatError("no announcement found: expected a BEGIN PURSUANCE ANNOUNCEMENT block or its JSON", text.slice(0, 80));
  return out;
}

function collectJson(v: unknown, out: Copy[], depth: number, shown: Shown[]): void {
  if (depth > 6 || v === null || typeof v !== "object") return;
  if (Array.isArray(v)) {
    for (const x of v) collectJson(x, out, depth + 1, []);
    return;
  }
  const o = v as Record<string, unknown>;
  if ((o.v === 1 || o.v === 2) && typeof o.event === "string") {
    // An export file puts the text it shows beside the proof's fields.
    const own = typeof o.text === "string" ? [{ where: "text field", text: o.text }] : [];
    out.push({ proof: checkedProof(o), shown: [...shown, ...own] });
    return;
  }
  // A Matrix message: what its body and HTML show belongs to the proof under its custom key.
  const here = MATRIX_PROOF_KEY in o ? shownInContent(o) : [];
  // A message too long to carry the proof twice names the body as where it is.
  const key = o[MATRIX_PROOF_KEY] as Record<string, unknown> | undefined;
  if (key && typeof key === "object" && typeof key.event !== "string" && typeof o.body === "string" && o.body.includes(BLOCK_BEGIN)) {
    // The HTML is shown too, whichever part holds the proof.
    const html = here.filter((x) => x.where.startsWith("message HTML"));
    out.push(...findCopies(o.body).map((c) => ({ ...c, shown: [...c.shown, ...html] })));
    return;
  }
  for (const x of Object.values(o)) collectJson(x, out, depth + 1, here);
}

function parseBlock(inner: string): AnnouncementProof {
  const fields: Record<string, unknown> = {};
  let last: string | null = null;
  for (const raw of inner.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^([A-Za-z]+):\s*(.*)$/.exec(line);
    if (m && BLOCK_KEYS[m[1]!.toLowerCase()]) {
      last = BLOCK_KEYS[m[1]!.toLowerCase()]!;
      fields[last] = m[2]!;
    } else if (last) {
      // A value wrapped by whoever copied it: base64 and hex carry no spaces, so join.
      fields[last] = (fields[last] as string) + line;
    } else throw new ProofFormatError("unexpected line in the announcement block", line.slice(0, 80));
  }
  const chain = fields.chain as string | undefined;
  if (chain === undefined) return checkedProof({ ...fields, v: 1 });
  return checkedProof({ ...fields, v: 2, chain: chain === "none" ? [] : chain.split(",") });
}

function checkedProof(o: Record<string, unknown>): AnnouncementProof {
  for (const k of ["pursuance", "announcer", "event", "sig", "genesis"] as const) {
    if (typeof o[k] !== "string" || o[k] === "") throw new ProofFormatError(`the announcement has no ${k === "sig" ? "signature" : k}`, o[k]);
  }
  const base = { pursuance: o.pursuance as string, announcer: o.announcer as string, event: o.event as string, sig: o.sig as string, genesis: o.genesis as string };
  if (o.v === 1 || o.chain === undefined) return { v: 1, ...base };
  const chain = o.chain;
  if (!Array.isArray(chain) || chain.some((c) => typeof c !== "string" || c === "")) throw new ProofFormatError("the role chain is not a list of base64 events", chain);
  if (chain.length > MAX_CHAIN) throw new ProofFormatError(`the role chain holds ${chain.length} events, more than ${MAX_CHAIN}`, chain.length);
  return { v: 2, ...base, chain: chain as string[] };
}
