// The bridge's notice and file paths when parts fail (attacker atk13's wins,
// now defended): a file attached in a room that may not read its task is
// taken out of the room even when the step after the attach fails once; an
// encrypted file's counter must start at zero and its bytes come from its own
// url; one member whose direct chat fails does not silence the others; and a
// zone moved east does not bring a second digest the same morning.
import { createHash, randomBytes, webcrypto } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AssignmentNotices } from "../src/bridge/assignment-notices.js";
import { DailyDigests } from "../src/bridge/daily-digest.js";
import { encryptAttachment } from "../src/bridge/e2ee/attachment.js";
import { attachFromMatrix } from "../src/bridge/inbound-file.js";
import type { PursuanceClient } from "../src/pursuance/client/client.js";
import { clientEnv } from "../src/usecases/env.js";
import { listFiles } from "../src/usecases/files.js";
import { assignTask, createTask } from "../src/usecases/tasks.js";
import { event, fakeHost, fakeHosted, fakeMatrix, fakeStore, recorder, world } from "./helpers/bridge-fakes.js";

let w: Awaited<ReturnType<typeof world>>;
let taskId = "";
const ROOT = "$taskmsg";
const b64 = (x: Uint8Array) => Buffer.from(x).toString("base64").replace(/=+$/, "");

beforeAll(async () => {
  w = await world();
  taskId = (await createTask(clientEnv(w.founder), { title: "Payroll" })).id;
});
afterAll(async () => w?.close());

const files = () => listFiles(clientEnv(w.founder), { task: taskId }).files.length;

function host(room: string) {
  const r = recorder();
  const b = fakeHost(r);
  r.msgTask.set(`${room} ${ROOT}`, taskId);
  return { r, b };
}

describe("a file attached in a room that may not read its task", () => {
  it("is taken out of the room when the room check failed once after the attach (the retry redacts, never attaches twice)", async () => {
    const { r, b } = host("!lobby:hs");
    let fail = true;
    const hosted = fakeHosted(new Map([["@alice:hs", w.founder]]), () => {
      if (fail) throw new Error("M_LIMIT_EXCEEDED");
      return false;
    });
    r.media.set("mxc://hs/pay", new TextEncoder().encode("salaries"));
    const e = event("!lobby:hs", "@alice:hs", { msgtype: "m.file", body: "salaries.csv", url: "mxc://hs/pay" }, "$pay");
    const before = files();
    await expect(attachFromMatrix(b, e, hosted, ROOT)).rejects.toThrow(/M_LIMIT_EXCEEDED/);
    expect(r.sent.map((s) => s.msg.plain).join("\n")).not.toMatch(/not attached/);
    fail = false;
    await attachFromMatrix(b, e, hosted, ROOT);
    expect(files()).toBe(before + 1);
    expect(r.redactions).toHaveLength(1);
  });

  it("is taken out when the redaction itself failed once", async () => {
    const { r, b } = host("!lobby2:hs");
    let fail = true;
    b.matrix.redact = async (room: string, ev: string, reason: string) => {
      if (fail) throw new Error("socket hang up");
      r.redactions.push({ room, event: ev, reason });
    };
    const hosted = fakeHosted(new Map([["@alice:hs", w.founder]]), () => false);
    r.media.set("mxc://hs/pay2", new TextEncoder().encode("bonus"));
    const e = event("!lobby2:hs", "@alice:hs", { msgtype: "m.file", body: "bonus.csv", url: "mxc://hs/pay2" }, "$pay2");
    const before = files();
    await attachFromMatrix(b, e, hosted, ROOT).catch(() => undefined);
    fail = false;
    await attachFromMatrix(b, e, hosted, ROOT);
    expect(files()).toBe(before + 1);
    expect(r.redactions).toHaveLength(1);
  });
});

describe("an encrypted file is what the room's clients open", () => {
  it("refuses a counter half that is not zero (web clients wrap it at 2^64, Node carries)", async () => {
    const { r, b } = host("!team:hs");
    const hosted = fakeHosted(new Map([["@alice:hs", w.founder]]), () => true);
    const shown = new Uint8Array(4096).fill(0x41);
    const key = randomBytes(32);
    const iv = Buffer.concat([randomBytes(8), Buffer.from("ffffffffffffffff", "hex")]);
    const k = await webcrypto.subtle.importKey("raw", key, "AES-CTR", false, ["encrypt"]);
    const data = new Uint8Array(await webcrypto.subtle.encrypt({ name: "AES-CTR", counter: iv, length: 64 }, k, shown));
    r.media.set("mxc://hs/ctr", data);
    const file = { url: "mxc://hs/ctr", key: { kty: "oct", key_ops: ["encrypt", "decrypt"], alg: "A256CTR", k: key.toString("base64url"), ext: true }, iv: b64(iv), hashes: { sha256: b64(createHash("sha256").update(data).digest()) }, v: "v2" };
    const before = files();
    await attachFromMatrix(b, event("!team:hs", "@alice:hs", { msgtype: "m.file", body: "harmless.txt", file }), hosted, ROOT);
    expect(files()).toBe(before);
    expect(r.sent.at(-1)!.msg.plain).toMatch(/not attached: the file's IV does not start its counter at zero/);
  });

  it("takes its bytes from its own url only, never a plain url beside it", async () => {
    const { r, b } = host("!team2:hs");
    const hosted = fakeHosted(new Map([["@alice:hs", w.founder]]), () => true);
    const plain = new TextEncoder().encode("what the room sees in clear");
    r.media.set("mxc://hs/clear", plain);
    // A `file` (key, IV, a hash of the plain bytes) that names no url of its own.
    const file = { ...encryptAttachment(new Uint8Array(1)).info, hashes: { sha256: b64(createHash("sha256").update(plain).digest()) } };
    const before = files();
    await attachFromMatrix(b, event("!team2:hs", "@alice:hs", { msgtype: "m.file", body: "clear.txt", url: "mxc://hs/clear", file }), hosted, ROOT);
    expect(files()).toBe(before);
    expect(r.sent.at(-1)!.msg.plain).toMatch(/not attached: the message names no file/);
  });
});

describe("notices and digests", () => {
  it("one member whose direct chat fails does not silence the others", async () => {
    const r = recorder();
    const store = fakeStore(r);
    const n = new AssignmentNotices({
      store,
      matrix: fakeMatrix(r),
      directRoom: async (u) => {
        if (u === "@mallory:hs") throw new Error("M_FORBIDDEN");
        return `!dm-${u}`;
      },
      log: () => {},
      now: () => Date.now(),
    });
    const env = clientEnv(w.founder);
    const t = await createTask(env, { title: "Alice-own", due: "tomorrow" });
    await assignTask(env, { task: String(t.task.num), to: w.founder.me });
    await n.pass(new Map<string, PursuanceClient>([["@mallory:hs", w.founder], ["@alice:hs", w.founder]]), "Org");
    expect(r.sent.filter((s) => s.room === "!dm-@alice:hs").length).toBeGreaterThan(0);
  });

  it("a zone moved east after this morning's digest brings no second one", async () => {
    const day = new Date();
    day.setUTCHours(8, 0, 0, 0);
    let now = day.getTime();
    const r = recorder();
    const store = fakeStore(r);
    const d = new DailyDigests({ store, matrix: fakeMatrix(r), directRoom: async (u) => `!dm-${u}`, now: () => now });
    const clients = new Map<string, PursuanceClient>([["@alice:hs", w.founder]]);
    await d.pass(clients, "Org");
    const digests = () => r.sent.filter((s) => String(s.msg.txnId).startsWith("digest.")).length;
    expect(digests()).toBe(1);
    now += 2 * 3600_000 + 5 * 60_000;
    await store.setDigest("@alice:hs", { enabled: true, atMinute: 0, tz: "Pacific/Kiritimati" });
    await d.pass(clients, "Org");
    expect(digests()).toBe(1);
  });
});
