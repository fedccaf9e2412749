// `!task files N` and `!task fetch N FILE`: the documents of a task, by name and size, as the keys held
// here open them (usecases/files.ts, which `pursuance client task files` calls
// too). The reply opens with the task's line, title included, so a host that
// keeps a restricted task's content out of a room (its reply check looks for
// the title) answers the asker privately there; file names are task content.
import { taskView } from "../pursuance/views.js";
import { fetchFile, listFiles, sizeText } from "../usecases/files.js";
import { Refusal } from "./context.js";
import type { BoundHandler as Handler } from "./command-spec.js";
import { done, html } from "./reply.js";
import { taskLine, taskLineHtml } from "./task-format.js";

const SEALED = "(encrypted: not readable with the keys held here)";

export const taskFiles: Handler = async (inv, ctx) => {
  const { task, files } = listFiles(ctx, { task: inv.arg("id") });
  const v = taskView(ctx.client, task);
  if (files.length === 0) return { kind: "ok", plain: `${taskLine(v)}\nno files`, html: html`${taskLineHtml(v)}<br>no files`.value };
  const line = (f: (typeof files)[number]) => `${f.n}. ${f.name ?? SEALED} · ${sizeText(f.size)} · by ${f.author}`;
  const plain = [taskLine(v), `${files.length} file${files.length === 1 ? "" : "s"}:`, ...files.map((f) => `  ${line(f)}`)].join("\n");
  const h = html`${taskLineHtml(v)}<br>${files.length} file${files.length === 1 ? "" : "s"}:<ol>${files.map(
    (f) => html`<li>${f.name === null ? html`<em>${SEALED}</em>` : html`<b>${f.name}</b>`} · ${sizeText(f.size)} · by ${f.author}</li>`,
  )}</ol>`;
  return { kind: "ok", plain, html: h.value };
};

/** `!task fetch N FILE`: the file, fetched and checked here, posted into this room by the host (only one that may read the task). */
export const taskFetch: Handler = async (inv, ctx) => {
  if (!ctx.files) throw new Refusal("this host cannot post files: use pursuance client task fetch");
  const r = await fetchFile(ctx, { task: inv.arg("id"), file: inv.arg("file") });
  await ctx.files.post(r.task.id, r.name, r.bytes);
  return done(`#${r.task.num}: ${r.name} (${sizeText(r.bytes.length)}), every chunk checked against its signed hash`, html`<b>#${r.task.num}</b>: ${r.name} (${sizeText(r.bytes.length)}), every chunk checked against its signed hash`);
};
