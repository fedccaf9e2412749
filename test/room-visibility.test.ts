// The rule a room's content follows: everyone present must be able to read it.
import { describe, expect, it } from "vitest";
import { blockers, mayShow, rolesReading, standingOf, type Present } from "../src/bridge/room-visibility.js";
import { defaultRules } from "../src/pursuance/rules.js";
import { emptyState, type PursuanceState, type Task } from "../src/pursuance/state.js";

function state(): PursuanceState {
  const s = emptyState();
  s.rules = defaultRules();
  const add = (id: string, roles: string[]) => s.members.set(id, { name: id, roles: new Set(roles), joinedBy: "f" });
  add("founder", ["primary"]);
  add("adm", ["admin"]);
  add("agent", ["change agent"]);
  add("seed", ["seedling"]);
  s.former.set("gone", { reason: "removed", by: "founder" });
  const task = (id: string, readers: string[], memberKeys: Record<string, string> = {}) =>
    s.tasks.set(id, { id, num: s.tasks.size + 1, creator: "founder", readers, memberKeys } as unknown as Task);
  task("admintask", ["admin"]);
  task("agenttask", ["change agent"]);
  task("seedtask", ["change agent"], { seed: "sealed" });
  return s;
}
const p = (user: string, member: string | null = user): Present => ({ user, member });
const task = (taskId: string) => ({ kind: "task" as const, taskId });

describe("room visibility", () => {
  it("an admin task shows only where everyone present reads admin", () => {
    const s = state();
    expect(mayShow(s, [p("founder"), p("adm")], task("admintask"))).toBe(true);
    expect(mayShow(s, [p("founder"), p("adm"), p("agent")], task("admintask"))).toBe(false);
    expect(blockers(s, [p("founder"), p("seed"), p("agent")], task("admintask"))).toEqual(["seed", "agent"]);
  });

  it("a seedling reads only what is sealed to them", () => {
    const s = state();
    expect(mayShow(s, [p("agent"), p("seed")], task("agenttask"))).toBe(false);
    expect(mayShow(s, [p("agent"), p("seed")], task("seedtask"))).toBe(true);
  });

  it("a non-member withholds even group notices; announcements are public", () => {
    const s = state();
    const room = [p("founder"), p("@stranger:x", null)];
    expect(mayShow(s, room, { kind: "group" })).toBe(false);
    expect(mayShow(s, room, task("agenttask"))).toBe(false);
    expect(mayShow(s, room, { kind: "public" })).toBe(true);
    expect(mayShow(s, [p("founder"), p("seed")], { kind: "group" })).toBe(true);
  });

  it("a removed member is a non-member; an identity whose join is on its way reads nothing yet but is no stranger", () => {
    const s = state();
    expect(standingOf(s, p("gone"))).toBe("non-member");
    expect(standingOf(s, p("newcomer"))).toBe("joining");
    expect(standingOf(s, p("@x:y", null))).toBe("non-member");
    expect(mayShow(s, [p("founder"), p("newcomer")], { kind: "group" })).toBe(false);
    expect(mayShow(s, [p("founder"), p("gone")], task("agenttask"))).toBe(false);
  });

  it("an unknown task shows nowhere; an empty room shows only what is public", () => {
    const s = state();
    expect(mayShow(s, [p("founder")], task("nope"))).toBe(false);
    expect(mayShow(s, [], task("admintask"))).toBe(false);
    expect(mayShow(s, [], { kind: "group" })).toBe(false);
    expect(mayShow(s, [], { kind: "public" })).toBe(true);
  });

  it("a task belongs in the rooms of the roles whose key opens it", () => {
    const s = state();
    expect(rolesReading(s, s.tasks.get("admintask")!)).toEqual(["admin", "primary"]);
    expect(rolesReading(s, s.tasks.get("agenttask")!)).toEqual(["admin", "change agent", "primary", "recruiter"]);
  });
});
