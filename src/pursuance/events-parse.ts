// Parsing and validating event bodies (events.ts holds their types): once,
// at the edge. A body that does not parse is a BodyError carrying the value,
// and the event carrying it is kept as rejected.
import { CAPABILITIES, LABEL_NAME, MAX_LABELS, MIN_SILENT_AFTER_MS, ROLE_NAME, type Capability, type RoleDef, type Rules } from "./rules.js";
import { nameProblem } from "./names.js";
import { MAX_FILE_BYTES, parseFileRef } from "./files.js";
import {
  BodyError,
  LINK_STATUSES,
  MAX_REQUEST_LIMIT,
  MAX_REQUEST_WORK,
  SIG128,
  TASK_STATUSES,
  timeMs,
  type Assignee,
  type Body,
  type Ciphertext,
  type Escrow,
  type KeyRef,
  type LinkStatus,
  type SealedContent,
  type SealedTo,
  type TaskStatus,
} from "./events.js";

// ---- validation helpers ------------------------------------------------------

type Obj = Record<string, unknown>;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const B64 = /^[A-Za-z0-9_-]+$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** A Matrix user id: localpart of the allowed characters, a server name; no spaces or controls. */
const MATRIX_ID = /^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-:[\]]+$/;
/** A Matrix room alias (#name:server): where a pursuance speaks in public. */
const ROOM_ALIAS = /^#[^:\s]+:[A-Za-z0-9.\-:[\]]+$/;
const MAX_PROFILE_ROOMS = 16;
/** 40 digits in groups of 5 (fingerprint.ts), as written: the fold compares the digits. */
const FINGERPRINT = /^[0-9]{5}( [0-9]{5}){7}$/;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new BodyError(`${what} must be an object`, v);
  return v as Obj;
}
function str(v: unknown, what: string, max = 4096): string {
  if (typeof v !== "string" || v.length > max) throw new BodyError(`${what} must be a string of at most ${max} chars`, v);
  return v;
}
function re(v: unknown, pat: RegExp, what: string): string {
  if (typeof v !== "string" || !pat.test(v)) throw new BodyError(`${what} is malformed`, v);
  return v;
}
const hex64 = (v: unknown, what: string) => re(v, HEX64, what);
/** A name members know each other by: nothing in it may hide or reorder what a reader sees (names.ts). */
function memberName(v: unknown, what: string): string {
  const name = str(v, what, 100);
  const why = nameProblem(name);
  if (why) throw new BodyError(what === "name" ? why : why.replace(/^name/, what), v);
  return name;
}
const keyId = (v: unknown, what: string) => re(v, HEX32, what);
const b64 = (v: unknown, what: string) => re(v, B64, what);
function role(v: unknown, what = "role"): string {
  // "group" names the group key's scope: a role of that name would share its key and entitlement.
  if (v === "group") throw new BodyError(`${what} "group" is reserved for the group key`, v);
  return re(v, ROLE_NAME, what);
}
function arr(v: unknown, what: string, max = 1024): unknown[] {
  if (!Array.isArray(v) || v.length > max) throw new BodyError(`${what} must be an array of at most ${max}`, v);
  return v;
}
function sealedTo(v: unknown, what: string): SealedTo {
  const o = obj(v, what);
  const out: SealedTo = {};
  for (const [k, s] of Object.entries(o)) out[hex64(k, `${what} member`)] = b64(s, `${what} sealed key`);
  return out;
}
function keyRefs(v: unknown): KeyRef[] {
  return arr(v, "keys", 4096).map((k) => {
    const o = obj(k, "key");
    const scope = o.scope === "group" ? "group" : role(o.scope, "key scope");
    return { scope, keyId: keyId(o.keyId, "keyId"), sealed: b64(o.sealed, "sealed key") };
  });
}
function ciphertext(v: unknown, what: string): Ciphertext {
  const o = obj(v, what);
  return { nonce: b64(o.nonce, `${what}.nonce`), ct: b64(o.ct, `${what}.ct`) };
}
function assignee(v: unknown): Assignee | null {
  if (v === null) return null;
  const o = obj(v, "assignee");
  if (o.member !== undefined) return { member: hex64(o.member, "assignee.member") };
  return { role: role(o.role, "assignee.role") };
}
function due(v: unknown): string | null {
  if (v === null) return null;
  const d = re(v, DATE, "due");
  if (Number.isNaN(Date.parse(`${d}T00:00:00Z`))) throw new BodyError("due is not a real date", v);
  return d;
}

export function parseRoleDef(v: unknown): RoleDef {
  const o = obj(v, "role def");
  if (typeof o.rank !== "number" || !Number.isInteger(o.rank) || o.rank < 0 || o.rank > 1000) throw new BodyError("rank must be an integer 0..1000", o.rank);
  const caps = arr(o.caps, "caps", CAPABILITIES.length).map((c) => {
    if (!(CAPABILITIES as readonly unknown[]).includes(c)) throw new BodyError("unknown capability", c);
    return c as Capability;
  });
  if (o.reads !== "role" && o.reads !== "assigned") throw new BodyError('reads must be "role" or "assigned"', o.reads);
  return { rank: o.rank, caps: [...new Set(caps)].sort(), reads: o.reads };
}

export function parseRules(v: unknown): Rules {
  const o = obj(v, "rules");
  const roles: Record<string, RoleDef> = {};
  const ro = obj(o.roles, "rules.roles");
  const names = Object.keys(ro);
  if (names.length === 0 || names.length > 64) throw new BodyError("rules need 1..64 roles", names.length);
  for (const n of names) roles[role(n)] = parseRoleDef(ro[n]);
  const s = obj(o.succession, "succession");
  const succession: Rules["succession"] = { role: role(s.role, "succession.role"), quorum: s.quorum as number };
  if (!Number.isInteger(succession.quorum) || succession.quorum < 1 || succession.quorum > 1000) throw new BodyError("succession.quorum must be 1..1000", s.quorum);
  if (s.silentAfterMs !== undefined) {
    const ms = s.silentAfterMs;
    if (typeof ms !== "number" || !Number.isInteger(ms) || ms < MIN_SILENT_AFTER_MS || ms > 10 * 365 * 86_400_000) {
      throw new BodyError(`succession.silentAfterMs must be an integer ${MIN_SILENT_AFTER_MS}..${10 * 365 * 86_400_000}`, ms);
    }
    succession.silentAfterMs = ms;
  }
  const r = obj(o.rotation, "rotation");
  if (r.everyMs !== null && !(typeof r.everyMs === "number" && Number.isInteger(r.everyMs) && r.everyMs >= 60_000)) {
    throw new BodyError("rotation.everyMs must be null or an integer ≥ 60000", r.everyMs);
  }
  return { roles, succession, rotation: { everyMs: r.everyMs as number | null }, ...(o.files !== undefined ? { files: fileRules(o.files) } : {}), ...(o.labels !== undefined ? { labels: labelList(o.labels) } : {}) };
}

/** A label vocabulary: distinct names, sorted, so one set has one spelling. */
export function labelList(v: unknown): string[] {
  const names = arr(v, "labels", MAX_LABELS).map((l) => re(l, LABEL_NAME, "label"));
  return [...new Set(names)].sort();
}

/** The rules' per-file limit (files.ts): 1 byte up to MAX_FILE_BYTES. */
function fileRules(v: unknown): { maxBytes: number } {
  const m = obj(v, "files").maxBytes;
  if (typeof m !== "number" || !Number.isSafeInteger(m) || m < 1 || m > MAX_FILE_BYTES) throw new BodyError(`files.maxBytes must be a whole number of bytes from 1 to ${MAX_FILE_BYTES}`, m);
  return { maxBytes: m };
}

function sealedContent(v: unknown): SealedContent {
  const o = obj(v, "content");
  const wraps: SealedContent["wraps"] = {};
  for (const [r, w] of Object.entries(obj(o.wraps, "content.wraps"))) {
    const wo = obj(w, "wrap");
    wraps[role(r, "wrap role")] = { keyId: keyId(wo.keyId, "wrap.keyId"), w: b64(wo.w, "wrap.w") };
  }
  return { nonce: b64(o.nonce, "content.nonce"), ct: b64(o.ct, "content.ct"), wraps, members: sealedTo(o.members ?? {}, "content.members") };
}

function escrow(v: unknown): Escrow {
  const o = obj(v, "escrow");
  const threshold = o.threshold;
  if (typeof threshold !== "number" || !Number.isInteger(threshold) || threshold < 1 || threshold > 255) throw new BodyError("escrow.threshold must be 1..255", threshold);
  const keyIds = arr(o.keyIds, "escrow.keyIds", 4096).map((k) => keyId(k, "escrow keyId"));
  if (keyIds.length === 0) throw new BodyError("escrow.keyIds is empty", keyIds);
  const shares = sealedTo(o.shares, "escrow.shares");
  const n = Object.keys(shares).length;
  if (n < threshold || n > 255) throw new BodyError(`escrow needs ${threshold}..255 shares`, n);
  return { scope: role(o.scope, "escrow.scope"), keyIds, threshold, shares };
}

function status(v: unknown): TaskStatus {
  if (!(TASK_STATUSES as readonly unknown[]).includes(v)) throw new BodyError(`status must be one of ${TASK_STATUSES.join(", ")}`, v);
  return v as TaskStatus;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true }); // one for every body: `decode` keeps no state between calls
/** Parse an untrusted body. Throws BodyError naming the bad field. */
export function parseBody(bytes: Uint8Array): Body {
  let v: unknown;
  try {
    v = JSON.parse(UTF8.decode(bytes));
  } catch {
    throw new BodyError("body is not UTF-8 JSON", bytes.length);
  }
  const o = obj(v, "body");
  switch (o.t) {
    case "genesis":
      return {
        t: "genesis",
        name: str(o.name, "name", 200),
        mission: str(o.mission, "mission"),
        rules: parseRules(o.rules),
        founderName: memberName(o.founderName, "founderName"),
        groupKeyId: keyId(o.groupKeyId, "groupKeyId"),
        keys: keyRefs(o.keys),
      };
    case "role.create":
    case "role.amend":
      return { t: o.t, role: role(o.role), def: parseRoleDef(o.def) };
    case "role.delete":
      return { t: "role.delete", role: role(o.role) };
    case "rules.policy": {
      const p = parseRules({ roles: { x: { rank: 0, caps: [], reads: "role" } }, succession: o.succession ?? { role: "x", quorum: 1 }, rotation: o.rotation ?? { everyMs: null } });
      return {
        t: "rules.policy",
        ...(o.succession !== undefined ? { succession: p.succession } : {}),
        ...(o.rotation !== undefined ? { rotation: p.rotation } : {}),
        ...(o.escrow !== undefined ? { escrow: escrow(o.escrow) } : {}),
        ...(o.labels !== undefined ? { labels: labelList(o.labels) } : {}),
        ...(o.files !== undefined ? { files: fileRules(o.files) } : {}),
      };
    }
    case "role.grant":
      return { t: "role.grant", member: hex64(o.member, "member"), role: role(o.role), keys: keyRefs(o.keys) };
    case "role.revoke":
      return { t: "role.revoke", member: hex64(o.member, "member"), role: role(o.role) };
    case "invite": {
      const b: Body = { t: "invite", invite: hex64(o.invite, "invite"), role: role(o.role) };
      if (o.expires !== undefined) {
        b.expires = timeMs(o.expires, "expires");
      }
      if (o.rendezvous !== undefined) {
        const r = b64(o.rendezvous, "rendezvous");
        if (r.length !== 43) throw new BodyError("rendezvous must be 32 bytes (43 base64url chars)", r.length);
        b.rendezvous = r;
      }
      if (o.groupKeyId !== undefined || o.roleKeyIds !== undefined) {
        b.groupKeyId = keyId(o.groupKeyId, "groupKeyId");
        b.roleKeyIds = arr(o.roleKeyIds, "roleKeyIds", 64).map((k) => keyId(k, "roleKeyId"));
      }
      return b;
    }
    case "invite.revoke":
      return { t: "invite.revoke", invite: hex64(o.invite, "invite") };
    case "join":
      return { t: "join", invite: hex64(o.invite, "invite"), proof: re(o.proof, /^[0-9a-f]{128}$/, "proof"), name: memberName(o.name, "name") };
    case "leave":
      return { t: "leave" };
    case "remove":
      return { t: "remove", member: hex64(o.member, "member"), reason: str(o.reason ?? "", "reason", 500) };
    case "keys.rotate":
      return {
        t: "keys.rotate",
        scope: o.scope === "group" ? "group" : role(o.scope, "scope"),
        from: keyId(o.from, "from"),
        keyId: keyId(o.keyId, "keyId"),
        sealed: sealedTo(o.sealed, "sealed"),
      };
    case "keys.share":
      return { t: "keys.share", to: hex64(o.to, "to"), keys: keyRefs(o.keys), ...(o.roles === undefined ? {} : { roles: arr(o.roles, "roles", 64).map((r) => role(r)) }) };
    case "keys.unreadable":
      return { t: "keys.unreadable", scope: o.scope === "group" ? "group" : role(o.scope, "scope"), keyId: keyId(o.keyId, "keyId") };
    case "keys.delegate":
      return { t: "keys.delegate", role: role(o.role), to: hex64(o.to, "to"), keys: keyRefs(o.keys) };
    case "keys.undelegate":
      return { t: "keys.undelegate", role: role(o.role), to: hex64(o.to, "to") };
    case "task.create":
      return {
        t: "task.create",
        readers: [...new Set(arr(o.readers, "readers", 64).map((r) => role(r, "reader")))].sort(),
        assignee: assignee(o.assignee ?? null),
        parent: o.parent == null ? null : hex64(o.parent, "parent"),
        due: due(o.due ?? null),
        content: sealedContent(o.content),
      };
    case "task.update": {
      const b: Body = { t: "task.update", task: hex64(o.task, "task") };
      if (o.status !== undefined) b.status = status(o.status);
      if (o.due !== undefined) b.due = due(o.due);
      if (o.content !== undefined) b.content = ciphertext(o.content, "content");
      return b;
    }
    case "task.assign":
      return {
        t: "task.assign",
        task: hex64(o.task, "task"),
        assignee: assignee(o.assignee ?? null),
        ...(o.memberKey !== undefined ? { memberKey: b64(o.memberKey, "memberKey") } : {}),
      };
    case "task.comment":
      return { t: "task.comment", task: hex64(o.task, "task"), content: ciphertext(o.content, "content") };
    case "task.close":
      return { t: "task.close", task: hex64(o.task, "task"), reason: o.reason == null ? null : ciphertext(o.reason, "reason") };
    case "task.reopen":
    case "task.archive":
      return { t: o.t, task: hex64(o.task, "task") };
    case "task.meta":
      return { t: "task.meta", task: hex64(o.task, "task"), meta: ciphertext(o.meta, "meta") };
    case "task.attach":
      return { t: "task.attach", task: hex64(o.task, "task"), ...parseFileRef(o, ciphertext(o.meta, "meta")) };
    case "announce":
      return { t: "announce", text: str(o.text, "text", 8000) };
    case "leader.transfer":
      return { t: "leader.transfer", to: hex64(o.to, "to") };
    case "leader.vote":
      return { t: "leader.vote", candidate: hex64(o.candidate, "candidate"), ...(o.share !== undefined ? { share: b64(o.share, "share") } : {}) };
    case "relays.set":
      if (o.move !== undefined && o.move !== true) throw new BodyError("move must be true when present", o.move);
      return { t: "relays.set", relays: relayList(o.relays), ...(o.move === true ? { move: true as const } : {}) };
    case "identity.link": {
      const matrix = str(o.matrix, "matrix", 255);
      if (matrix !== "" && !MATRIX_ID.test(matrix)) throw new BodyError("matrix must be a Matrix user id (@user:server) or empty", matrix);
      return { t: "identity.link", matrix };
    }
    case "profile.set": {
      const rooms = arr(o.rooms ?? [], "rooms", MAX_PROFILE_ROOMS).map((r) => re(r, ROOM_ALIAS, "rooms[]"));
      if (new Set(rooms).size !== rooms.length) throw new BodyError("rooms must be distinct", rooms);
      return { t: "profile.set", mission: str(o.mission, "mission", 2000), join: str(o.join, "join", 1000), rooms };
    }
    case "requests.set": {
      if (typeof o.open !== "boolean") throw new BodyError("open must be true or false", o.open);
      const limit = o.limit;
      if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_REQUEST_LIMIT) throw new BodyError(`limit must be a whole number from 1 to ${MAX_REQUEST_LIMIT}`, limit);
      if (!o.open) return { t: "requests.set", open: false, limit: limit as number };
      if (o.seed === undefined) throw new BodyError("opening requests needs a seed", o);
      if (!Number.isSafeInteger(o.work) || (o.work as number) < 0 || (o.work as number) > MAX_REQUEST_WORK) throw new BodyError(`work must be a whole number of bits from 0 to ${MAX_REQUEST_WORK}`, o.work);
      if (typeof o.holders !== "object" || o.holders === null || Array.isArray(o.holders)) throw new BodyError("opening requests needs holders (member → sealed answer key)", o.holders);
      const holders = sealedTo(o.holders, "holders");
      if (Object.keys(holders).length === 0) throw new BodyError("opening requests needs at least one holder of the answer key", o.holders);
      return { t: "requests.set", open: true, seed: b64(o.seed, "seed"), limit: limit as number, work: o.work as number, answerKey: hex64(o.answerKey, "answerKey"), holders };
    }
    case "request.pending": {
      return { t: "request.pending", requester: hex64(o.requester, "requester"), name: memberName(o.name, "name"), message: str(o.message, "message", 2000), ts: timeMs(o.ts, "ts"), sig: re(o.sig, /^[0-9a-f]{128}$/, "sig"), stamp: re(o.stamp, /^[A-Za-z0-9_-]{1,24}$/, "stamp") };
    }
    case "request.drop": {
      const requesters = arr(o.requesters, "requesters", MAX_REQUEST_LIMIT).map((r) => hex64(r, "requesters[]"));
      if (requesters.length === 0 || new Set(requesters).size !== requesters.length) throw new BodyError("requesters must be distinct and at least one", requesters);
      return { t: "request.drop", requesters };
    }
    case "request.answer": {
      if (typeof o.admit !== "boolean") throw new BodyError("admit must be true or false", o.admit);
      const b: Body = { t: "request.answer", requester: hex64(o.requester, "requester"), admit: o.admit, reason: str(o.reason ?? "", "reason", 500) };
      if (o.admit) Object.assign(b, { role: role(o.role), invite: hex64(o.invite, "invite") });
      return b;
    }
    case "link.offer":
      return { t: "link.offer", link: hex64(o.link, "link"), seed: b64(o.seed, "seed"), roles: linkRoles(o.roles), ...(o.acceptKey === undefined ? {} : { acceptKey: hex64(o.acceptKey, "acceptKey") }) };
    case "link.accept":
      return {
        t: "link.accept",
        link: hex64(o.link, "link"),
        seed: b64(o.seed, "seed"),
        peer: hex64(o.peer, "peer"),
        name: str(o.name, "name", 200),
        relays: relayList(o.relays),
        speaker: hex64(o.speaker, "speaker"),
        roles: linkRoles(o.roles),
        ...(o.proof === undefined ? {} : { proof: re(o.proof, SIG128, "proof") }),
      };
    case "link.peer":
      return {
        t: "link.peer",
        link: hex64(o.link, "link"),
        peer: hex64(o.peer, "peer"),
        name: str(o.name, "name", 200),
        relays: relayList(o.relays),
        speaker: hex64(o.speaker, "speaker"),
        proof: re(o.proof, SIG128, "proof"),
        sig: re(o.sig, SIG128, "sig"),
      };
    case "link.speaker":
      if (!Number.isSafeInteger(o.seq) || (o.seq as number) < 1) throw new BodyError("seq must be a whole number from 1", o.seq);
      return { t: "link.speaker", link: hex64(o.link, "link"), speaker: hex64(o.speaker, "speaker"), seq: o.seq as number, ...(o.handover === undefined ? {} : { handover: re(o.handover, SIG128, "handover") }) };
    case "task.send":
      return { t: "task.send", link: hex64(o.link, "link"), title: str(o.title, "title", 500), body: str(o.body ?? "", "body", 8000) };
    case "link.receive":
      if (o.seq !== undefined && (!Number.isSafeInteger(o.seq) || (o.seq as number) < 0)) throw new BodyError("seq must be a whole number", o.seq);
      return { t: "link.receive", link: hex64(o.link, "link"), ev: b64(o.ev, "ev"), role: str(o.role, "role", 40), attest: re(o.attest, SIG128, "attest"), ...(o.seq ? { seq: o.seq as number } : {}) };
    case "link.status":
      if (!(LINK_STATUSES as readonly unknown[]).includes(o.status)) throw new BodyError(`status must be one of ${LINK_STATUSES.join(", ")}`, o.status);
      return { t: "link.status", link: hex64(o.link, "link"), send: hex64(o.send, "send"), status: o.status as LinkStatus, note: str(o.note ?? "", "note", 2000) };
    case "member.verify":
      return { t: "member.verify", member: hex64(o.member, "member"), fingerprint: re(o.fingerprint, FINGERPRINT, "fingerprint") };
    default:
      throw new BodyError("unknown event type", o.t);
  }
}

function linkRoles(v: unknown): string[] {
  const roles = arr(v, "roles", 32).map((r) => role(r, "roles[]"));
  if (roles.length === 0) throw new BodyError("roles must name at least one role that may send over the link", v);
  return [...new Set(roles)];
}

/** At most this many relays in a relays.set: each one is a connection every client keeps. */
export const MAX_RELAYS = 16;
const RELAY_URL = /^wss?:\/\/[^\s/?#@]+(?:[/?#][^\s]*)?$/;

/** A non-empty list of distinct ws:// or wss:// URLs. */
export function relayList(v: unknown): string[] {
  const urls = arr(v, "relays", MAX_RELAYS).map((u) => {
    const s = str(u, "relay", 512);
    if (!RELAY_URL.test(s)) throw new BodyError("relay must be a ws:// or wss:// URL", u);
    return s;
  });
  if (urls.length === 0) throw new BodyError("relays must name at least one relay", v);
  return [...new Set(urls)];
}

