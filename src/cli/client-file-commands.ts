// `pursuance client task attach|files|fetch`: a task's documents. The file is
// encrypted for the task's readers and stored on the relays in chunks
// (usecases/files.ts); progress goes to stderr for files of many chunks.
import { closeSync, openSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import type { TransferProgress } from "../pursuance/client/file-transfer.js";
import { clientEnv } from "../usecases/env.js";
import { attachFile, checkFileSize, fetchFile, listFiles, sizeText } from "../usecases/files.js";
import { parseDuration } from "../usecases/spellings.js";
import { arg, type Io, type Parsed, type Stage } from "./client-context.js";
import { UsageError } from "./usage.js";

/** Files of more chunks than this (~1 MiB) say how far they are, every tenth, on stderr. */
const PROGRESS_FROM = 16;

function progress(io: Io, what: string): (p: TransferProgress) => void {
  let shown = -1;
  return (p) => {
    if (p.total <= PROGRESS_FROM) return;
    const tenth = Math.floor((p.done * 10) / p.total);
    if (tenth === shown) return;
    shown = tenth;
    io.err(`${what}: ${tenth * 10}% (${p.done}/${p.total} chunks)`);
  };
}

export const FILE_SUBS: Record<string, (p: Parsed) => Stage> = {
  attach(p) {
    const task = arg(p, 1, "a task");
    const path = arg(p, 2, "the file to attach");
    let size: number;
    try {
      const st = statSync(path);
      if (!st.isFile()) throw new UsageError(`not a file: ${path}`);
      size = st.size;
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`cannot read ${path}: ${(e as Error).message}`);
    }
    const name = basename(path);
    return async (c, io) => {
      const env = clientEnv(c);
      checkFileSize(env, name, size); // before reading it: a file over the limit is never read, sealed or posted
      const r = await attachFile(env, { task, name, bytes: new Uint8Array(readFileSync(path)), onProgress: progress(io, `attach ${name}`) });
      io.out(p.values.json ? JSON.stringify({ id: r.id, file: r.file.n, chunks: r.file.chunks }) : `attached ${name} (${sizeText(size)}, ${r.file.chunks} chunks) to #${r.task.num} as file ${r.file.n}`);
    };
  },
  files(p) {
    const task = arg(p, 1, "a task");
    return async (c, io) => {
      const { task: t, files } = listFiles(clientEnv(c), { task });
      if (p.values.json) return io.out(JSON.stringify(files, null, 2));
      if (files.length === 0) return io.out(`#${t.num} has no files`);
      for (const f of files) io.out(`${String(f.n).padStart(3)}  ${f.name ?? "(encrypted: not readable with your roles)"}  ${sizeText(f.size)}  by ${f.author}  ${new Date(f.ts).toISOString().slice(0, 16).replace("T", " ")}`);
    };
  },
  fetch(p) {
    const task = arg(p, 1, "a task");
    const file = arg(p, 2, "a file (its number in 'task files', or its name)");
    const out = typeof p.values.out === "string" ? p.values.out : null;
    const force = p.values.force === true;
    if (force && out === null) throw new UsageError("--force writes over the path given by --out: pass --out PATH too");
    const wait = typeof p.values.wait === "string" ? parseDuration("--wait", p.values.wait) : undefined;
    return async (c, io) => {
      const r = await fetchFile(clientEnv(c), { task, file, ...(wait !== undefined ? { timeoutMs: wait } : {}), onProgress: progress(io, `fetch ${file}`) });
      for (const [relay, n] of Object.entries(r.altered)) io.err(`warning: ${relay} gave ${n} altered chunk(s); they were refused and taken from another relay`);
      const path = out ?? r.name;
      // The name is the sender's choice: never a dotfile (.bashrc, .git…) in this directory unless asked for by --out.
      if (out === null && r.name.startsWith(".")) throw new UsageError(`the file is named ${JSON.stringify(r.name)}, a hidden file (its sender chose the name): pass --out PATH to write it`);
      // Exclusive create: nothing already at the path is written over or through (not even a dangling symlink), unless --out with --force.
      const overwrite = out !== null && force;
      let fd: number;
      try {
        fd = openSync(path, overwrite ? "w" : "wx", 0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new UsageError(`${path} exists (a file, a directory or a link): ${out === null ? "pass --out PATH to write elsewhere" : "pass --force to write over it, or another --out PATH"}`);
        throw new UsageError(`cannot write ${path}: ${(e as Error).message}`);
      }
      try {
        writeFileSync(fd, r.bytes);
      } finally {
        closeSync(fd);
      }
      io.out(`wrote ${r.name} (${sizeText(r.bytes.length)}) to ${path}`);
      // Relays that lacked chunks get them back meanwhile (bounded); the file is written before we wait for them.
      for (const [relay, n] of Object.entries(await r.repairs)) io.err(`re-posted ${n} chunk(s) ${relay} lacked`);
    };
  },
};
