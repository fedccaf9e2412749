// A public announcement as a reader outside the pursuance can check it: the
// signed event bytes themselves, and the pursuance's genesis event, which is
// what ties the group named in those bytes to the pursuance id (the id is the
// hash of the genesis bytes). Nothing here trusts the homeserver, the bridge
// or the web host that carried the copy: a copy is checked from its bytes.
//
// The copy also carries the announcer's role chain (role-chain.ts), so VALID
// means "signed by a key that held announce, as of the chain's last event".
// What no copy can show is a removal after that event: only the whole log
// decides it (docs/protocol.md, "Public announcements: what a copy proves").
import { equalBytes, toHex } from "../cwtch/bytes.js";
import type { Crypto } from "../cwtch/crypto.js";
import { decodeAndVerify, DecodeError, type SignedEvent } from "../cwtch/message.js";
import type { AnnouncementProof } from "./announcement-copy.js";
import { compareShown, shownCut, type Shown } from "./announcement-shown.js";
import { BodyError } from "./events.js";
import { parseBody } from "./events-parse.js";
import type { AppliedEvent } from "./fold.js";
import { chainText, replayChain, roleChain } from "./role-chain.js";
import type { PursuanceState } from "./state.js";

export { BLOCK_BEGIN, BLOCK_END, findCopies, findProofs, MATRIX_PROOF_KEY, ProofFormatError, proofBlock, type AnnouncementProof, type Copy } from "./announcement-copy.js";

/** An announcement as the log holds it: its signed bytes, the genesis of its pursuance, and its author's role chain. */
export function makeProof(event: SignedEvent, genesis: SignedEvent, chain: readonly SignedEvent[] = []): AnnouncementProof {
  return {
    v: 2,
    pursuance: toHex(genesis.id),
    announcer: toHex(event.author),
    event: b64(event.bytes),
    sig: b64(event.sig),
    genesis: b64(genesis.bytes),
    chain: chainText(chain),
  };
}

/**
 * An event's proof with the role chain its author had when the fold applied it
 * (`applied` is the fold's log). A chain event the log cannot hand back leaves
 * the proof without a chain: a reader then sees UNPROVEN, never a false VALID.
 */
export function proofFromLog(event: SignedEvent, genesis: SignedEvent, get: (id: string) => SignedEvent | undefined, applied: readonly AppliedEvent[]): AnnouncementProof {
  const events = roleChain(applied, toHex(event.author), toHex(event.id)).map(get);
  if (events.some((e) => e === undefined)) return { ...makeProof(event, genesis), v: 1, chain: undefined };
  return makeProof(event, genesis, events as SignedEvent[]);
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
export function publicAnnouncements(s: PursuanceState, pursuanceId: string, get: (id: string) => SignedEvent | undefined, skip: ((id: string) => boolean) | undefined, applied: readonly AppliedEvent[]): PublicAnnouncement[] {
  const genesis = get(pursuanceId);
  if (!genesis) return [];
  const out: PublicAnnouncement[] = [];
  for (const a of s.announcements) {
    if (skip?.(a.id)) continue;
    const ev = get(a.id);
    if (!ev) continue;
    out.push({ id: a.id, author: a.author, authorName: s.members.get(a.author)?.name ?? a.author.slice(0, 12), ts: a.ts, text: a.text, proof: proofFromLog(ev, genesis, get, applied) });
  }
  // The current profile goes out beside the announcements, where its time puts it; a new one is a new item.
  const p = s.profile;
  const pev = p && !skip?.(p.event) ? get(p.event) : undefined;
  if (p && pev) {
    const item: PublicAnnouncement = { id: p.event, author: p.by, authorName: s.members.get(p.by)?.name ?? p.by.slice(0, 12), ts: pev.ts, text: profileText(p), proof: proofFromLog(pev, genesis, get, applied), kind: "profile" };
    const at = out.findIndex((a) => a.ts > item.ts);
    out.splice(at === -1 ? out.length : at, 0, item);
  }
  return out;
}

/** "3f9a 1c22 …": the announcer's key in groups of four, as people read it aloud. */
export function keyInGroups(hexKey: string): string {
  return hexKey.replace(/(.{4})(?=.)/g, "$1 ");
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
  /**
   * VALID: well signed, in the pursuance named, shown as signed, and its role
   * chain gives the announcer `announce`. INVALID: a forged, changed or
   * foreign part. ALTERED: genuine, but the text the copy shows is not the
   * signed text. UNPROVEN: genuine, but nothing in it shows the right to announce.
   */
  status: "VALID" | "INVALID" | "ALTERED" | "UNPROVEN";
  /** The verdict in one line: whose authority as of when, or what is missing. */
  headline: string;
  /** ALTERED: the signed text's lines ("- ") and the shown text's ("+ "). */
  diff: string[];
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
export function verifyAnnouncement(crypto: Crypto, p: AnnouncementProof, expect: Expect = {}, shown: readonly Shown[] = []): Verdict {
  const checks: Check[] = [];
  const add = (what: string, ok: boolean, detail: string) => (checks.push({ what, ok, detail }), ok);
  const v: Verdict = { ok: false, checks, text: null, ts: null, eventId: null, kind: null, notChecked: [], status: "INVALID", headline: "", diff: [] };
  const ev = decodeEvent(crypto, p.event, "event");
  if (typeof ev === "string") {
    add("signature", false, ev);
    v.headline = `INVALID: ${ev}`;
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
  let name = "";
  let ours: SignedEvent | null = null;
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
    else {
      add("pursuance", true, `the event is in the group of pursuance ${p.pursuance} (its genesis, founded by ${short(toHex(gen.author))}, hashes to that id and names the same group)`);
      ours = gen;
      const gb = parseBody(gen.body);
      name = gb.t === "genesis" ? gb.name : "";
    }
    if (expect.founderKey !== undefined) {
      const f = expect.founderKey.toLowerCase();
      add("founder", f === toHex(gen.author), f === toHex(gen.author) ? "the pursuance was founded by the key you gave" : `the pursuance was founded by ${short(toHex(gen.author))}, not by the key you gave (${short(f)})`);
    }
  }
  if (expect.pursuanceId !== undefined) {
    const want = expect.pursuanceId.toLowerCase();
    add("expected pursuance", want === p.pursuance, want === p.pursuance ? "the pursuance id is the one you gave" : `the copy is for pursuance ${short(p.pursuance)}, not ${short(want)}`);
  } else if (expect.founderKey === undefined) {
    v.notChecked.push("which pursuance you meant: the id was taken from the copy itself; pass --pursuance ID (or --founder KEY) from a source you trust to pin it");
  }
  const may = v.kind === "profile" ? "set the profile" : "announce";
  const chain = ours && v.kind ? (p.v === 1 || !p.chain ? null : replayChain(crypto, ours, p.chain, ev, "announce")) : undefined;
  if (chain === null) add("authority", false, "the copy carries no role chain (an older copy), so nothing in it shows that its announcer held announce");
  else if (chain !== undefined) add("authority", chain.status === "proven", chain.status === "proven" ? `the role chain (${p.chain!.length} signed events after the genesis) gives ${short(p.announcer)} ${chain.roles.map((r) => `"${r}"`).join(", ")}, which may ${may}` : chain.reason);
  // The attribution line may name the announcer as its chain does, or by its key (the mirror's fallback).
  const by = { names: chain?.status === "proven" ? [chain.name, p.announcer.slice(0, 12)] : [], key: p.announcer, pursuance: p.pursuance, ts: v.ts };
  const altered = v.text !== null ? compareShown(shown, v.text, name, by) : null;
  if (v.text !== null && shown.length > 0) add("text shown", altered === null, altered === null ? `the text this copy shows (${shown.map((x) => x.where).join(", ")}) is the signed text${shownCut(shown) ? ", but cut short: read the whole signed text printed here" : ""}` : `the ${altered.where} shows other words than were signed`);
  const failed = checks.find((c) => !c.ok && c.what !== "authority" && c.what !== "text shown");
  if (failed) v.headline = `INVALID: ${failed.detail}`;
  else if (chain && chain.status === "invalid") v.headline = `INVALID: ${chain.reason}`;
  else if (altered) {
    v.status = "ALTERED";
    v.headline = `ALTERED: the ${altered.where} is not the signed text; read the signed text printed below, not the copy`;
    v.diff = altered.diff;
  } else if (!chain || chain.status === "unproven") {
    v.status = "UNPROVEN";
    v.headline = `UNPROVEN: ${chain ? chain.reason : "the copy carries no role chain (an older copy), so nothing in it shows that its announcer held announce"}`;
  } else {
    v.status = "VALID";
    v.ok = true;
    v.headline = `VALID ${v.kind}: signed by ${JSON.stringify(chain.name)} (${short(p.announcer)}), who held ${chain.roles.map((r) => `"${r}"`).join(", ")}, which may announce, as of event ${short(chain.head.id)} (claimed ${new Date(chain.head.ts).toISOString()})${chain.ack ? `, on the word of the leader ${short(chain.ack.leader)} (event ${short(chain.ack.id)})` : ", its leader"}`;
  }
  v.notChecked.push(
    `whether ${short(p.announcer)} still held a role allowed to ${may} when it signed: a removal or demotion after the chain's last event (or concurrent with it) cannot be seen from a copy; a member checks it with \`pursuance verify\` on an exported log`,
    "the time shown, which is the author's claim",
  );
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
