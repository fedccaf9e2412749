// Read models for people: tasks with their text opened where our keys allow,
// members by name, and lookups by the short forms people type (#12, a name,
// an id prefix). Shared by the CLI and the bot.
import type { Assignee, Priority } from "./events.js";
import { LABEL_NAME, taskLabels } from "./rules.js";
import type { PursuanceClient } from "./client/client.js";
import { NO_META, decryptComment, decryptMeta, decryptText, openContentKey, type TaskMeta } from "./task-crypto.js";
import { canReadTask, type CrossTask, type JoinRequest, type PeerLink, type PursuanceState, type Task } from "./state.js";
import type { KeyRing } from "./keyring.js";
import type { SignKeyPair } from "../cwtch/crypto.js";

export class LookupError extends Error {
  constructor(message: string, readonly value: string) {
    super(message);
    this.name = "LookupError";
  }
}

export interface TaskView {
  num: number;
  id: string;
  /** null when none of our keys opens it: we say it exists and no more. */
  title: string | null;
  deliverables: string | null;
  status: string;
  closed: boolean;
  archived: boolean;
  readers: string[];
  assignee: string | null;
  due: string | null;
  parent: number | null;
  creator: string;
  comments: Array<{ id: string; author: string; text: string | null; ts: number }>;
  closeReason: string | null;
  /** Empty, or the labels its meta gives (null meta: [] and "normal"; unreadable: [] and null). */
  labels: string[];
  /** null when we cannot read the task (or its meta is malformed). */
  priority: Priority | null;
}

export function memberName(s: PursuanceState, id: string): string {
  const m = s.members.get(id);
  return m ? m.name : `${id.slice(0, 8)}…`;
}

export function assigneeText(s: PursuanceState, a: Assignee | null): string | null {
  if (!a) return null;
  return "member" in a ? memberName(s, a.member) : `role:${a.role}`;
}

/** Keys to read with other than the client's own (a bridge's delegated reader identity). */
export interface ReaderKeys {
  ring: KeyRing;
  identity: SignKeyPair;
  me: string;
}

/** What reading a task needs of a client: its state, crypto and keys. */
export type TaskReadingClient = Pick<PursuanceClient, "state" | "crypto" | "ring" | "identity" | "me">;

export function taskView(c: TaskReadingClient, t: Task, reader?: ReaderKeys): TaskView {
  const s = c.state;
  const r = reader ?? { ring: c.ring, identity: c.identity, me: c.me };
  // The rules say who reads, not only the keys one kept: a member whose role was taken, a former
  // assignee or a removed member may still hold a key that opens the task. They are shown the task as
  // it was created (what their keys read then), and nothing written on it since.
  const opened = openContentKey(c.crypto, r.ring, r.identity, r.me, t);
  const key = reader || canReadTask(s, c.me, t) ? opened : null;
  const text = key ? decryptText(c.crypto, key, t.text) : opened ? decryptText(c.crypto, opened, { nonce: t.sealed.nonce, ct: t.sealed.ct }) : null;
  const meta = !key ? null : t.meta ? knownLabels(decryptMeta(c.crypto, key, t.meta, LABEL_NAME), s) : NO_META;
  return {
    num: t.num,
    id: t.id,
    title: text?.title ?? null,
    deliverables: text?.deliverables ?? null,
    status: t.status,
    closed: t.closed,
    archived: t.archived,
    readers: t.readers,
    assignee: assigneeText(s, t.assignee),
    due: t.due,
    parent: t.parent ? (s.tasks.get(t.parent)?.num ?? null) : null,
    creator: memberName(s, t.creator),
    comments: t.comments.map((cm) => ({ id: cm.id, author: memberName(s, cm.author), ts: cm.ts, text: key ? decryptComment(c.crypto, key, cm.content) : null })),
    closeReason: key && t.closeReason ? decryptComment(c.crypto, key, t.closeReason) : null,
    labels: meta?.labels ?? [],
    priority: meta?.priority ?? null,
  };
}

/** Only the labels the rules name: a reader's sealed label the leader never named is not shown (the fold cannot see it to refuse it). */
function knownLabels(m: TaskMeta | null, s: PursuanceState): TaskMeta | null {
  if (!m) return null;
  const known = taskLabels(s.rules);
  return { ...m, labels: m.labels.filter((l) => known.includes(l)) };
}

/** A task by `#12`, `12`, or a prefix (≥ 6 hex) of its id. */
export function findTask(s: PursuanceState, ref: string): Task {
  const r = ref.trim().replace(/^#/, "");
  if (/^\d+$/.test(r)) {
    const id = s.taskIds[Number(r) - 1];
    if (id) return s.tasks.get(id)!;
    throw new LookupError(`no task #${r} (there are ${s.taskIds.length})`, ref);
  }
  if (/^[0-9a-f]{6,64}$/.test(r)) {
    const hits = s.taskIds.filter((id) => id.startsWith(r));
    if (hits.length === 1) return s.tasks.get(hits[0]!)!;
    if (hits.length > 1) throw new LookupError(`task id prefix ${r} is ambiguous`, ref);
  }
  throw new LookupError(`no task ${JSON.stringify(ref)}: use #number or an id prefix`, ref);
}

/** A member by name (case-insensitive), or a prefix (≥ 8 hex) of their id. */
export function findMember(s: PursuanceState, ref: string): string {
  const r = ref.trim().replace(/^@/, "");
  const byName = [...s.members.entries()].filter(([, m]) => m.name.toLowerCase() === r.toLowerCase()).map(([id]) => id);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) throw new LookupError(`several members are named ${JSON.stringify(r)}: use an id prefix`, ref);
  if (/^[0-9a-f]{8,64}$/.test(r)) {
    const hits = [...s.members.keys()].filter((id) => id.startsWith(r));
    if (hits.length === 1) return hits[0]!;
    if (hits.length > 1) throw new LookupError(`member id prefix ${r} is ambiguous`, ref);
  }
  throw new LookupError(`no member ${JSON.stringify(ref)}`, ref);
}

/** The one entry whose key starts with `ref` (≥ 6 hex) or whose name is `ref`; else a LookupError naming `what` and where to look. */
function findOne<T>(entries: Iterable<[string, T]>, ref: string, what: string, listed: string, nameOf: (v: T) => string = () => ""): [string, T] {
  const r = ref.trim();
  const hits = [...entries].filter(([id, v]) => (/^[0-9a-f]{6,64}$/.test(r.toLowerCase()) && id.startsWith(r.toLowerCase())) || (nameOf(v) !== "" && nameOf(v) === r));
  if (hits.length === 1) return hits[0]!;
  throw new LookupError(hits.length === 0 ? `no ${what} matches ${JSON.stringify(ref)} (see '${listed}')` : `${JSON.stringify(ref)} matches ${hits.length} ${what}s: give more of the id`, ref);
}

/** A join request by its requester's key prefix or the name it gave. */
export function findJoinRequest(s: PursuanceState, ref: string): JoinRequest {
  return findOne(s.joinRequests, ref, "request", "requests", (r) => r.name)[1];
}

/** A link by its id prefix or the other side's name. */
export function findLink(s: PursuanceState, ref: string): PeerLink {
  return findOne(s.peers, ref, "link", "link list", (l) => l.peerName)[1];
}

/** A task sent to us over a link, by its id prefix: [id, task]. */
export function findReceived(s: PursuanceState, ref: string): [string, CrossTask] {
  return findOne(s.received, ref, "received task", "link inbox");
}

