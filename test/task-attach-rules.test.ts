// task.attach at the edge and in the fold (issue 23): a body that does not add
// up (a chunk count that does not fit the size, a hash list of the wrong
// length, a size past the hard cap, a tag key that is not 32 bytes, a rules
// limit out of range) is a BodyError carrying the value; the fold gives a
// document the authority of a comment: a reader of the task with task.comment
// (a seedling reads, and so attaches to, only what is assigned to it), never
// to an archived task. Real relay, real libsodium.
import { afterAll, describe, expect, it } from "vitest";
import { renderEvent } from "../src/bridge/mirror-render.js";
import { toB64 } from "../src/cwtch/bytes.js";
import { taskView } from "../src/pursuance/views.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { assignBody, taskCreateBody } from "../src/pursuance/actions.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { BodyError, encodeBody, type Body } from "../src/pursuance/events.js";
import { parseBody } from "../src/pursuance/events-parse.js";
import { CHUNK_BYTES, MAX_FILE_BYTES, sealFile, sealMeta } from "../src/pursuance/files.js";
import { decodeInvite, encodeInvite } from "../src/pursuance/invite.js";
import { defaultRules } from "../src/pursuance/rules.js";
import { clientEnv } from "../src/usecases/env.js";
import { attachFile, fetchFile, FileCorruptError, listFiles } from "../src/usecases/files.js";
import { postChunks } from "../src/pursuance/client/file-transfer.js";
import { openContentKey } from "../src/pursuance/task-crypto.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

const opts = { fallbackDutyMs: 500, repairDelayMs: 50, repairIntervalMs: 300 };
const T = "a".repeat(64);
const b64 = (n: number) => toB64(new Uint8Array(n).fill(7));

function body(o: Record<string, unknown> = {}): Record<string, unknown> {
  return { t: "task.attach", task: T, size: CHUNK_BYTES + 1, chunks: 2, tagKey: b64(32), hashes: b64(32), meta: { nonce: b64(24), ct: b64(40) }, ...o };
}

function refusal(o: Record<string, unknown>): BodyError {
  try {
    parseBody(new TextEncoder().encode(JSON.stringify(o)));
  } catch (e) {
    if (e instanceof BodyError) return e;
    throw e;
  }
  throw new Error("parsed");
}

describe("task.attach at the edge", () => {
  it("parses a body that adds up, and refuses each part that does not, carrying the value", () => {
    expect(parseBody(encodeBody(body() as Body))).toEqual(body());
    expect(parseBody(encodeBody(body({ size: 0, chunks: 1, hashes: b64(16) }) as Body))).toMatchObject({ size: 0, chunks: 1 });
    expect(refusal(body({ chunks: 3 }))).toMatchObject({ message: `chunks must be 2 for ${CHUNK_BYTES + 1} bytes`, value: 3 });
    expect(refusal(body({ hashes: b64(48) }))).toMatchObject({ message: "hashes must be base64url of 32 bytes" });
    expect(refusal(body({ size: -1 }))).toMatchObject({ value: -1 });
    expect(refusal(body({ size: MAX_FILE_BYTES + 1 }))).toMatchObject({ message: `size must be a whole number of bytes from 0 to ${MAX_FILE_BYTES}`, value: MAX_FILE_BYTES + 1 });
    expect(refusal(body({ size: 1.5 }))).toMatchObject({ value: 1.5 });
    expect(refusal(body({ tagKey: b64(31) }))).toMatchObject({ message: "tagKey must be base64url of 32 bytes", value: b64(31) });
    expect(refusal(body({ tagKey: "+/+/" }))).toBeInstanceOf(BodyError);
    expect(refusal(body({ meta: "x" }))).toMatchObject({ message: "meta must be an object" });
    expect(refusal(body({ task: "xyz" }))).toMatchObject({ value: "xyz" });
  });

  it("reads the rules' per-file limit and refuses one out of range", () => {
    const rules = { ...defaultRules(), files: { maxBytes: 10 * 1024 * 1024 } };
    const genesis = { t: "genesis", name: "x", mission: "", rules, founderName: "ada", groupKeyId: "0".repeat(32), keys: [] };
    expect((parseBody(encodeBody(genesis as Body)) as Extract<Body, { t: "genesis" }>).rules.files).toEqual({ maxBytes: 10 * 1024 * 1024 });
    expect(refusal({ ...genesis, rules: { ...rules, files: { maxBytes: 0 } } })).toMatchObject({ value: 0 });
    expect(refusal({ ...genesis, rules: { ...rules, files: { maxBytes: MAX_FILE_BYTES + 1 } } })).toMatchObject({ value: MAX_FILE_BYTES + 1 });
    expect(parseBody(encodeBody({ t: "rules.policy", files: { maxBytes: 1000 } }))).toEqual({ t: "rules.policy", files: { maxBytes: 1000 } });
    expect(refusal({ t: "rules.policy", files: { maxBytes: "big" } })).toMatchObject({ value: "big" });
  });
});

describe("task.attach in the fold", () => {
  let relay: RelayServer;
  const clients: PursuanceClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    await relay?.close();
  });

  it("a seedling attaches only to a task assigned to it; nobody attaches to an archived task", async () => {
    relay = await startRelay();
    const ada = await PursuanceClient.create(await ports(), await identity(), { name: "Docs", founderName: "ada", relays: [relay.url], ...opts });
    clients.push(ada);
    const sam = await PursuanceClient.join(await ports(), await identity(), decodeInvite(encodeInvite(await ada.createInvite("seedling"))), "sam", opts);
    clients.push(sam);
    const all = [ada, sam];
    await until("two members", () => all.every((c) => c.state.members.size === 2), all);
    await ada.publish((s) => taskCreateBody(ada.actor, s, { text: { title: "Scan the ledger", deliverables: "" }, readers: ["change agent"] }));
    await until("the task", () => all.every((c) => c.state.tasks.size === 1), all);
    const bytes = new TextEncoder().encode("ledger page 1");

    await expect(attachFile(clientEnv(sam), { task: "#1", name: "page1.txt", bytes })).rejects.toThrow(/cannot attach to task #1: your keys do not open it \(readers: change agent\)/);
    const id = sam.state.taskIds[0]!;
    // A crafted body (its meta could be anything) is refused by the fold all the same.
    const crafted: Body = { t: "task.attach", task: id, size: 13, chunks: 1, tagKey: b64(32), hashes: b64(16), meta: { nonce: b64(24), ct: b64(40) } };
    expect(sam.refusal(crafted)).toMatch(/cannot read task #1/);

    await ada.publish((s) => assignBody(ada.actor, s, s.tasks.get(id)!, { member: sam.me }));
    await until("sam is the assignee", () => all.every((c) => c.state.tasks.get(id)!.assignee !== null), all);
    const r = await attachFile(clientEnv(sam), { task: "#1", name: "page1.txt", bytes });
    expect(r.file).toMatchObject({ n: 1, name: "page1.txt", size: 13, chunks: 1 });
    await until("ada sees it", () => (ada.state.tasks.get(id)!.files ?? []).length === 1, all);
    expect(listFiles(clientEnv(ada), { task: "#1" }).files).toMatchObject([{ name: "page1.txt", author: "sam" }]);
    expect(new TextDecoder().decode((await fetchFile(clientEnv(ada), { task: "#1", file: "page1.txt" })).bytes)).toBe("ledger page 1");

    // An empty file goes and comes back; a name that would be a path is refused at both ends.
    await attachFile(clientEnv(ada), { task: "#1", name: "empty.txt", bytes: new Uint8Array(0) });
    await until("sam has two files", () => (sam.state.tasks.get(id)!.files ?? []).length === 2, all);
    expect((await fetchFile(clientEnv(sam), { task: "#1", file: "empty.txt" })).bytes.length).toBe(0);
    await expect(attachFile(clientEnv(ada), { task: "#1", name: "..", bytes })).rejects.toThrow('a file name cannot be "..": ".."');
    await expect(attachFile(clientEnv(ada), { task: "#1", name: "a\u202egnp.exe", bytes })).rejects.toThrow(/control or direction characters/);
    // A client that skips the check (here: by hand) gets a name no reader takes.
    const ck = openContentKey(ada.crypto, ada.ring, ada.identity, ada.me, ada.state.tasks.get(id)!)!;
    const sealed = sealFile(ada.crypto, "../../.bashrc", bytes);
    await postChunks(ada, sealed.frames);
    await ada.publish({ t: "task.attach", task: id, ...sealed.ref, meta: sealMeta(ada.crypto, ck, sealed.meta) });
    await until("sam has three files", () => (sam.state.tasks.get(id)!.files ?? []).length === 3, all);
    expect(listFiles(clientEnv(sam), { task: "#1" }).files.map((f) => f.name)).toEqual(["page1.txt", "empty.txt", null]);
    await expect(fetchFile(clientEnv(sam), { task: "#1", file: "3" })).rejects.toBeInstanceOf(FileCorruptError);

    // The rooms hear that a file came, its size and where to look: never its name.
    const att = ada.state.tasks.get(id)!.files![0]!;
    const pe = { id: att.id, author: sam.me, seq: 1, ts: att.ts, parents: [], body: { t: "task.attach" as const, task: id, size: att.size, chunks: att.chunks, tagKey: att.tagKey, hashes: att.hashes, meta: att.meta } };
    expect(renderEvent(ada.state, pe, taskView(ada, ada.state.tasks.get(id)!), true)).toMatchObject({ plain: "📎 sam attached a file (13 B) to #1: !task files 1", taskId: id, notice: true });

    await ada.publish({ t: "task.archive", task: id });
    await until("archived", () => all.every((c) => c.state.tasks.get(id)!.archived), all);
    await expect(attachFile(clientEnv(ada), { task: "#1", name: "page2.txt", bytes })).rejects.toThrow(/task #1 is archived/);
    expect(ada.state.tasks.get(id)!.files).toHaveLength(3);
    expect(new Set(all.map((c) => c.hash())).size).toBe(1);
  }, 60_000);
});
