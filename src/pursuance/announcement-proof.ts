// A public announcement as a reader outside the pursuance can check it: the
// signed event bytes themselves, and the pursuance's genesis event, which is
// what ties the group named in those bytes to the pursuance id (the id is the
// hash of the genesis bytes). Nothing here trusts the homeserver, the bridge
// or the web host that carried the copy: a copy is checked from its bytes.
//
// What a copy cannot show is whether the author held an announcing role when
// it signed: that is decided by the pursuance's whole log (see verifyAnnouncement).
import { equalBytes, toHex } from "../cwtch/bytes.js";
import type { Crypto } from "../cwtch/crypto.js";
import { decodeAndVerify, DecodeError, type SignedEvent } from "../cwtch/message.js";
import { BodyError, parseBody } from "./events.js";
import type { PursuanceState } from "./state.js";

/** Custom key of the proof in a Matrix message's content. */
export const MATRIX_PROOF_KEY = "org.pursuance.announcement";
export const BLOCK_BEGIN = "-----BEGIN PURSUANCE ANNOUNCEMENT-----";
export const BLOCK_END = "-----END PURSUANCE ANNOUNCEMENT-----";

/** Everything a reader needs, as JSON (Matrix content, export files) and as a text block (message bodies, feeds). */
export interface AnnouncementProof {
  v: 1;
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
}

/** An announcement as the log holds it: its signed bytes and the genesis of its pursuance. */
export function makeProof(event: SignedEvent, genesis: SignedEvent): AnnouncementProof {
  return {
    v: 1,
    pursuance: toHex(genesis.id),
    announcer: toHex(event.author),
    event: b64(event.bytes),
    sig: b64(event.sig),
    genesis: b64(genesis.bytes),
  };
}

/** One accepted announcement with its proof, as the bridge's mirror, the feed and the export show it. */
export interface PublicAnnouncement {
  id: string;
  author: string;
  /** The author's name in the pursuance (a claim of the log, not part of the proof). */
  authorName: string;
  ts: number;
  text: string;
  proof: AnnouncementProof;
  /** The pursuance's public profile rather than an announcement (same proof, same checks). */
  kind?: "profile";
}

/**
 * The pursuance's accepted announcements in fold order, each with its proof.
 * `get` returns a delivered event's signed form (the client's log holds them all).
 */
export function publicAnnouncements(s: PursuanceState, pursuanceId: string, get: (id: string) => SignedEvent | undefined, skip?: (id: string) => boolean): PublicAnnouncement[] {
  const genesis = get(pursuanceId);
  if (!genesis) return [];
  const out: PublicAnnouncement[] = [];
  for (const a of s.announcements) {
    if (skip?.(a.id)) continue;
    const ev = get(a.id);
    if (!ev) continue;
    out.push({ id: a.id, author: a.author, authorName: s.members.get(a.author)?.name ?? a.author.slice(0, 12), ts: a.ts, text: a.text, proof: makeProof(ev, genesis) });
  }
  // The current profile goes out beside the announcements, where its time puts it; a new one is a new item.
  const p = s.profile;
  const pev = p && !skip?.(p.event) ? get(p.event) : undefined;
  if (p && pev) {
    const item: PublicAnnouncement = { id: p.event, author: p.by, authorName: s.members.get(p.by)?.name ?? p.by.slice(0, 12), ts: pev.ts, text: profileText(p), proof: makeProof(pev, genesis), kind: "profile" };
    const at = out.findIndex((a) => a.ts > item.ts);
    out.splice(at === -1 ? out.length : at, 0, item);
  }
  return out;
}

/** "3f9a 1c22 …": the announcer's key in groups of four, as people read it aloud. */
export function keyInGroups(hexKey: string): string {
  return hexKey.replace(/(.{4})(?=.)/g, "$1 ");
}

export function proofBlock(p: AnnouncementProof): string {
  return [BLOCK_BEGIN, `Pursuance: ${p.pursuance}`, `Announcer: ${p.announcer}`, `Event: ${p.event}`, `Signature: ${p.sig}`, `Genesis: ${p.genesis}`, BLOCK_END].join("\n");
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

const BLOCK_KEYS: Record<string, keyof AnnouncementProof> = { pursuance: "pursuance", announcer: "announcer", event: "event", signature: "sig", genesis: "genesis" };

/**
 * Every proof in a copied text: text blocks (a room message's body, a feed),
 * a proof as JSON, or JSON that holds one (a Matrix event or its content, a
 * list of them). Throws ProofFormatError when there is none.
 */
export function findProofs(text: string): AnnouncementProof[] {
  const out: AnnouncementProof[] = [];
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    let v: unknown;
    try {
      v = JSON.parse(trimmed);
    } catch {
      v = undefined;
    }
    if (v !== undefined) collectJson(v, out, 0);
  }
  if (out.length === 0) {
    // Blocks, from a body pasted as is, or HTML/XML-escaped in a feed (the fields hold no escaped characters).
    const re = new RegExp(`${BLOCK_BEGIN}([\\s\\S]*?)${BLOCK_END}`, "g");
    for (const m of text.matchAll(re)) out.push(parseBlock(m[1]!));
  }
  if (out.length === 0) throw new ProofFormatError("no announcement found: expected a BEGIN PURSUANCE ANNOUNCEMENT block or its JSON", text.slice(0, 80));
  return out;
}

function collectJson(v: unknown, out: AnnouncementProof[], depth: number): void {
  if (depth > 6 || v === null || typeof v !== "object") return;
  if (Array.isArray(v)) {
    for (const x of v) collectJson(x, out, depth + 1);
    return;
  }
  const o = v as Record<string, unknown>;
  if (o.v === 1 && typeof o.event === "string") {
    out.push(checkedProof(o));
    return;
  }
  for (const x of Object.values(o)) collectJson(x, out, depth + 1);
}

function parseBlock(inner: string): AnnouncementProof {
  const fields: Record<string, string> = { v: "" };
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
      fields[last] += line;
    } else throw new ProofFormatError("unexpected line in the announcement block", line.slice(0, 80));
  }
  return checkedProof({ ...fields, v: 1 });
}

function checkedProof(o: Record<string, unknown>): AnnouncementProof {
  for (const k of ["pursuance", "announcer", "event", "sig", "genesis"] as const) {
    if (typeof o[k] !== "string" || o[k] === "") throw new ProofFormatError(`the announcement has no ${k === "sig" ? "signature" : k}`, o[k]);
  }
  return { v: 1, pursuance: o.pursuance as string, announcer: o.announcer as string, event: o.event as string, sig: o.sig as string, genesis: o.genesis as string };
}

export interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

export interface Verdict {
  ok: boolean;
  checks: Check[];
  /** Decoded when the event is well signed. */
  text: string | null;
  ts: number | null;
  eventId: string | null;
  /** What the signed event is, once it parses: an announcement or the pursuance's profile. */
  kind: "announcement" | "profile" | null;
  /** What a copy alone cannot show, said plainly. */
  notChecked: string[];
}

export interface Expect {
  /** A pursuance id the reader got from a source they trust. */
  pursuanceId?: string;
  /** The founder's key, likewise. */
  founderKey?: string;
}

/**
 * Check one copy: the event is well signed by the key shown, is an
 * announcement, and belongs to the pursuance whose id it names (the genesis
 * it carries hashes to that id and names the same group), and, when the
 * reader gives them, that id and founder are the ones expected.
 */
export function verifyAnnouncement(crypto: Crypto, p: AnnouncementProof, expect: Expect = {}): Verdict {
  const checks: Check[] = [];
  const add = (what: string, ok: boolean, detail: string) => (checks.push({ what, ok, detail }), ok);
  const v: Verdict = { ok: false, checks, text: null, ts: null, eventId: null, kind: null, notChecked: [] };
  const ev = decodeEvent(crypto, p.event, "event");
  if (typeof ev === "string") {
    add("signature", false, ev);
    return v;
  }
  v.eventId = toHex(ev.id);
  add("signature", true, `a valid Ed25519 signature by ${short(toHex(ev.author))} over the event's bytes (event ${short(v.eventId)})`);
  const sig = decodeB64(p.sig);
  add("signature shown", sig !== null && equalBytes(sig, ev.sig), sig !== null && equalBytes(sig, ev.sig) ? "is the event's own signature" : "the Signature field is not the event's signature");
  add("author", p.announcer === toHex(ev.author), p.announcer === toHex(ev.author) ? `the event was signed by the key shown (${keyInGroups(p.announcer)})` : `the key shown (${short(p.announcer)}) is not the event's author (${short(toHex(ev.author))})`);
  try {
    const body = parseBody(ev.body);
    if (body.t === "announce") {
      v.text = body.text;
      v.ts = ev.ts;
      v.kind = "announcement";
      add("kind", true, "the event is an announcement");
    } else if (body.t === "profile.set") {
      v.text = profileText(body);
      v.ts = ev.ts;
      v.kind = "profile";
      add("kind", true, "the event is the pursuance's public profile");
    } else add("kind", false, `the event is a ${body.t}, not an announcement or a profile`);
  } catch (e) {
    add("kind", false, e instanceof BodyError ? `the event's body does not parse: ${e.message}` : String(e));
  }
  const gen = decodeEvent(crypto, p.genesis, "genesis");
  if (typeof gen === "string") add("pursuance", false, gen);
  else {
    const gid = toHex(gen.id);
    let isGenesis = false;
    try {
      isGenesis = parseBody(gen.body).t === "genesis" && gen.seq === 1;
    } catch {
      isGenesis = false;
    }
    if (!isGenesis) add("pursuance", false, "the Genesis field is not a pursuance's genesis event");
    else if (gid !== p.pursuance) add("pursuance", false, `the genesis carried hashes to ${short(gid)}, not to the pursuance id shown (${short(p.pursuance)})`);
    else if (!equalBytes(gen.group, ev.group)) add("pursuance", false, `the event belongs to another group than pursuance ${short(p.pursuance)}`);
    else add("pursuance", true, `the event is in the group of pursuance ${p.pursuance} (its genesis, founded by ${short(toHex(gen.author))}, hashes to that id and names the same group)`);
    if (expect.founderKey !== undefined) {
      const f = expect.founderKey.toLowerCase();
      add("founder", f === toHex(gen.author), f === toHex(gen.author) ? "the pursuance was founded by the key you gave" : `the pursuance was founded by ${short(toHex(gen.author))}, not by the key you gave (${short(f)})`);
    }
    if (toHex(gen.author) === toHex(ev.author)) v.notChecked.push("the announcer is the founding key; whether it still held its role when it signed is also a fact of the log");
  }
  if (expect.pursuanceId !== undefined) {
    const want = expect.pursuanceId.toLowerCase();
    add("expected pursuance", want === p.pursuance, want === p.pursuance ? "the pursuance id is the one you gave" : `the copy is for pursuance ${short(p.pursuance)}, not ${short(want)}`);
  } else if (expect.founderKey === undefined) {
    v.notChecked.push("which pursuance you meant: the id was taken from the copy itself; pass --pursuance ID (or --founder KEY) from a source you trust to pin it");
  }
  v.notChecked.push(
    `whether ${short(p.announcer)} held a role allowed to ${v.kind === "profile" ? "set the profile" : "announce"} when it signed: that is decided by the pursuance's log (a member checks it with \`pursuance verify\` on an exported log)`,
    "the time shown, which is the author's claim",
  );
  v.ok = checks.every((c) => c.ok);
  return v;
}

function decodeEvent(crypto: Crypto, b64text: string, what: string): SignedEvent | string {
  const bytes = decodeB64(b64text);
  if (!bytes) return `the ${what} is not base64`;
  try {
    const m = decodeAndVerify(crypto, bytes);
    if (m === null) return `the ${what}'s signature does not verify: its bytes were changed after signing, or it was signed by another key`;
    if (m.kind !== "event") return `the ${what} is not a signed event`;
    return m;
  } catch (e) {
    return `the ${what} is not a well-formed signed event (${e instanceof DecodeError ? e.message : String(e)})`;
  }
}

function decodeB64(s: string): Uint8Array | null {
  const clean = s.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) return null;
  return new Uint8Array(Buffer.from(clean, "base64"));
}

function b64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

function short(hex: string): string {
  return hex.slice(0, 12);
}

/** A profile as people read it: mission, how to ask to join, public rooms. */
export function profileText(b: { mission: string; join: string; rooms: string[] }): string {
  return [`Mission: ${b.mission}`, `To join: ${b.join}`, ...(b.rooms.length ? [`Public rooms: ${b.rooms.join(", ")}`] : [])].join("\n");
}
