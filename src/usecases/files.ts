// Documents of a task, once for both faces: attach a file (refused over the
// rules' limit before anything is stored), list a task's files (names only
// where our keys open them), fetch one back (every chunk checked against its
// hash, the whole against the plaintext hash). See docs/protocol.md,
// "Attachments".
import { ActionError } from "../pursuance/actions.js";
import { encodeBody, type Body } from "../pursuance/events.js";
import { parseBody } from "../pursuance/events-parse.js";
import { CHUNK_BYTES, chunkTag, fileNameProblem, openChunk, openMeta, sealFile, sealMeta, type FileMeta } from "../pursuance/files.js";
import { fetchChunks, postChunks, type TransferProgress } from "../pursuance/client/file-transfer.js";
import { maxFileBytes } from "../pursuance/rules.js";
import { canReadTask, type Task, type TaskFile } from "../pursuance/state.js";
import { openContentKey } from "../pursuance/task-crypto.js";
import { findTask, memberName } from "../pursuance/views.js";
import { fromB64, toB64 } from "../cwtch/bytes.js";
import { publish, type Env } from "./env.js";

/** A file over the rules' per-file limit: refused before any chunk is sealed or posted. */
export class FileTooLargeError extends ActionError {
  constructor(
    readonly file: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`"${file}" is ${size} bytes, over this pursuance's limit of ${limit} bytes (${mib(limit)}) per file`, size);
    this.name = "FileTooLargeError";
  }
}

/** Chunks that all arrived by their hashes but do not make the file the event's sealed meta describes. */
export class FileCorruptError extends ActionError {
  constructor(message: string, readonly file: string) {
    super(message, file);
    this.name = "FileCorruptError";
  }
}

function mib(n: number): string {
  return `${Math.round((n / 1048576) * 10) / 10} MiB`;
}

/** A size as both faces show it: 812 B, 3.4 KiB, 2.0 MiB. */
export function sizeText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

export interface FileView {
  /** 1-based, in the task's order. */
  n: number;
  id: string;
  /** null: our keys do not open the task. */
  name: string | null;
  size: number;
  chunks: number;
  author: string;
  ts: number;
}

function contentKeyOf(env: Env, t: Task): Uint8Array | null {
  const c = env.client;
  // The rules say who reads (as views.ts): a key kept from a role since taken opens nothing new.
  if (!canReadTask(c.state, c.me, t)) return null;
  return openContentKey(c.crypto, c.ring, c.identity, c.me, t);
}

export interface AttachOptions {
  task: string;
  name: string;
  bytes: Uint8Array;
  onProgress?(p: TransferProgress): void;
}

/** Refuse a file over the rules' limit by its size alone (the CLI asks before reading it). */
export function checkFileSize(env: Env, name: string, size: number): void {
  const limit = maxFileBytes(env.client.state.rules);
  if (size > limit) throw new FileTooLargeError(name, size, limit);
}

export async function attachFile(env: Env, o: AttachOptions): Promise<{ id: string; task: Task; file: FileView }> {
  const c = env.client;
  const task = findTask(c.state, o.task);
  checkFileSize(env, o.name, o.bytes.length);
  const bad = fileNameProblem(o.name);
  if (bad) throw new ActionError(`${bad}: ${JSON.stringify(o.name)}`, o.name);
  const ck = contentKeyOf(env, task);
  if (!ck) throw new ActionError(`cannot attach to task #${task.num}: your keys do not open it (readers: ${task.readers.join(", ")})`, task.id);
  const sealed = sealFile(c.crypto, o.name, o.bytes);
  const body: Body = { t: "task.attach", task: task.id, ...sealed.ref, meta: sealMeta(c.crypto, ck, sealed.meta) };
  // Every refusal before any chunk goes out: the chunks of a file the log refuses would only litter the relays.
  parseBody(encodeBody(body));
  const why = c.refusal(body);
  if (why) throw new ActionError(why, body.t);
  await postChunks(c, sealed.frames, o.onProgress ? { onProgress: o.onProgress } : {});
  const { id } = await publish(env, body);
  // Our own copy: no relay loss takes it, and backups carry it.
  await c.ports.store.saveChunks?.(sealed.frames);
  const t = c.state.tasks.get(task.id)!;
  const n = (t.files ?? []).findIndex((f) => f.id === id) + 1;
  return { id, task: t, file: { n, id, name: o.name, size: o.bytes.length, chunks: sealed.ref.chunks, author: c.me, ts: c.ports.now() } };
}

function metaOf(env: Env, ck: Uint8Array | null, f: TaskFile): FileMeta | null {
  return ck ? openMeta(env.client.crypto, ck, f.meta) : null;
}

export function listFiles(env: Env, o: { task: string }): { task: Task; files: FileView[] } {
  const task = findTask(env.client.state, o.task);
  const ck = contentKeyOf(env, task);
  const files = (task.files ?? []).map((f, i) => ({ n: i + 1, id: f.id, name: metaOf(env, ck, f)?.name ?? null, size: f.size, chunks: f.chunks, author: memberName(env.client.state, f.author), ts: f.ts }));
  return { task, files };
}

export interface FetchOptions {
  task: string;
  /** The file's number in `task files`, or its name (the latest of that name). */
  file: string;
  timeoutMs?: number;
  onProgress?(p: TransferProgress): void;
}

export async function fetchFile(env: Env, o: FetchOptions): Promise<{ task: Task; name: string; bytes: Uint8Array; altered: Record<string, number>; repaired: Record<string, number>; repairs: Promise<Record<string, number>> }> {
  const c = env.client;
  const task = findTask(c.state, o.task);
  const files = task.files ?? [];
  if (files.length === 0) throw new ActionError(`task #${task.num} has no files`, o.task);
  const ck = contentKeyOf(env, task);
  if (!ck) throw new ActionError(`cannot read the files of task #${task.num}: your keys do not open it (readers: ${task.readers.join(", ")})`, task.id);
  const metas = files.map((f) => metaOf(env, ck, f));
  let i = /^#?\d+$/.test(o.file) ? Number(o.file.replace("#", "")) - 1 : metas.map((m) => m?.name).lastIndexOf(o.file);
  if (i < 0 || i >= files.length) {
    const names = metas.map((m, k) => `${k + 1}: ${m?.name ?? "(unreadable)"}`).join(", ");
    throw new ActionError(`task #${task.num} has no file ${JSON.stringify(o.file)} (files: ${names})`, o.file);
  }
  const f = files[i]!;
  const meta = metas[i];
  if (!meta) throw new FileCorruptError(`file ${i + 1} of task #${task.num} has a sealed name and key that do not open with the task's key, or are malformed (a name no disk should take)`, o.file);
  const tagKey = fromB64(f.tagKey);
  const tags = Array.from({ length: f.chunks }, (_, k) => chunkTag(c.crypto, tagKey, k));
  const have = (await c.ports.store.loadChunks?.(tags)) ?? new Map<string, Uint8Array>();
  const got = await fetchChunks(c, f, meta.name, { have, ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
  const key = fromB64(meta.key);
  const bytes = new Uint8Array(f.size);
  for (let k = 0; k < f.chunks; k++) {
    const plain = openChunk(c.crypto, key, k, f.chunks, got.blobs[k]!);
    const want = Math.min(CHUNK_BYTES, f.size - k * CHUNK_BYTES);
    if (!plain || plain.length !== want) throw new FileCorruptError(`chunk ${k + 1} of ${f.chunks} of "${meta.name}" matches its hash but does not open with the file's key: its author sealed it wrong`, meta.name);
    bytes.set(plain, k * CHUNK_BYTES);
  }
  if (toB64(c.crypto.hash(bytes, 32)) !== meta.hash) throw new FileCorruptError(`"${meta.name}" does not match the hash its author signed`, meta.name);
  // A member who fetched a file keeps it: one more copy no relay loss takes, and in backups.
  if (have.size < f.chunks) await c.ports.store.saveChunks?.(tags.map((tag, k) => ({ tag, blob: got.blobs[k]! })));
  // The re-posts to relays that lacked chunks go on in the background: `repairs` settles when they end.
  return { task, name: meta.name, bytes, altered: got.altered, repaired: got.repaired, repairs: got.repairs };
}
