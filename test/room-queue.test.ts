// The bridge's per-room queues: in order within a room, independent across
// rooms, a hanging step abandoned at its deadline, and a room whose steps keep
// failing reported stuck until one succeeds.
import { describe, expect, it } from "vitest";
import { TimeoutError, withDeadlines, withTimeout } from "../src/bridge/deadline.js";
import { RoomQueues } from "../src/bridge/room-queue.js";

const never = () => new Promise<void>(() => {});

describe("RoomQueues", () => {
  it("runs a room's steps in order, and one hanging room never holds another", async () => {
    const errors: string[] = [];
    const q = new RoomQueues({ stepTimeoutMs: 200, stuckAfterMs: 60_000, onError: (r, e) => errors.push(`${r}: ${e.name}`) });
    const seen: string[] = [];
    q.push("!stuck", never);
    q.push("!stuck", async () => void seen.push("stuck after the hang"));
    for (let i = 0; i < 3; i++) q.push("!ok", async () => void seen.push(`ok ${i}`));
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual(["ok 0", "ok 1", "ok 2"]);
    await q.idle();
    expect(seen).toEqual(["ok 0", "ok 1", "ok 2", "stuck after the hang"]);
    expect(errors).toEqual(["!stuck: TimeoutError"]);
    expect(q.timeouts).toBe(1);
    expect(q.size).toBe(0);
  });

  it("reports a room stuck while its steps fail past the threshold, and not once one succeeds", async () => {
    let now = 0;
    const q = new RoomQueues({ stepTimeoutMs: 0, stuckAfterMs: 1_000, now: () => now, onError: () => {} });
    let release!: () => void;
    q.push("!a", () => new Promise<void>((r) => (release = r)));
    q.push("!b", never);
    await new Promise((r) => setTimeout(r, 0));
    now = 999;
    expect(q.stuck()).toEqual([]);
    now = 1_001;
    expect(q.stuck().sort()).toEqual(["!a", "!b"]);
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect(q.stuck()).toEqual(["!b"]);
  });
});

describe("deadlines", () => {
  it("turns a hang into a TimeoutError naming what hung, on every async method of a port", async () => {
    await expect(withTimeout(never(), 20, "relay")).rejects.toThrow(new TimeoutError("relay", 20));
    const port = { id: "x", hang: never, fine: async () => 7, sync: () => 3 };
    const p = withDeadlines(port, 20, "homeserver");
    expect(p.id).toBe("x");
    expect(p.sync()).toBe(3);
    expect(await p.fine()).toBe(7);
    await expect(p.hang()).rejects.toThrow(/homeserver\.hang: no answer within 20 ms/);
  });
});
