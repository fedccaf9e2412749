// The digest's schedule: parsed once for every host, judged by the local day
// in the member's zone, so it goes once a day, DST or not, restart or not.
import { describe, expect, it } from "vitest";
import { DEFAULT_DIGEST, applyDigestCommand, digestDue, localTime, parseDigestCommand, scheduleText } from "../src/usecases/digest-schedule.js";
import { SpellingError } from "../src/usecases/errors.js";

const at = (iso: string) => Date.parse(iso);

describe("the digest schedule", () => {
  it("parses on, off, at HH:MM [TZ], and refuses the rest naming the value", () => {
    expect(parseDigestCommand("")).toEqual({ show: true });
    expect(parseDigestCommand("OFF")).toEqual({ set: "off" });
    expect(parseDigestCommand("at 7:05")).toEqual({ at: 425 });
    expect(parseDigestCommand("at 18:30 europe/berlin")).toEqual({ at: 1110, tz: "Europe/Berlin" });
    for (const [bad, why] of [["at 24:00", /"24:00" is not a time of day/], ["at 8", /"8" is not a time of day/], ["at 08:00 Mars/Olympus", /"Mars\/Olympus" is not a time zone/], ["sometimes", /use on, off, or at HH:MM/], ["on please", /use on, off/]] as const) {
      expect(() => parseDigestCommand(bad)).toThrow(SpellingError);
      expect(() => parseDigestCommand(bad)).toThrow(why);
    }
  });

  it("at HH:MM turns it on and keeps the zone unless one is given", () => {
    const off = applyDigestCommand(DEFAULT_DIGEST, { set: "off" });
    expect(scheduleText(off)).toBe("off");
    const moved = applyDigestCommand(applyDigestCommand(off, { at: 1110, tz: "America/Mexico_City" }), { at: 420 });
    expect(moved).toEqual({ enabled: true, atMinute: 420, tz: "America/Mexico_City" });
    expect(scheduleText(moved)).toBe("daily at 07:00 America/Mexico_City");
  });

  it("is due once a local day, after the hour, in the member's zone", () => {
    const s = { enabled: true, atMinute: 8 * 60, tz: "Europe/Berlin" };
    expect(digestDue(s, at("2026-12-05T06:59:00Z"), null)).toBeNull(); // 07:59 in Berlin
    expect(digestDue(s, at("2026-12-05T07:00:00Z"), null)).toBe("2026-12-05");
    expect(digestDue(s, at("2026-12-05T22:00:00Z"), at("2026-12-05T07:00:00Z"))).toBeNull(); // sent today
    expect(digestDue(s, at("2026-12-05T23:30:00Z"), at("2026-12-05T07:00:00Z"))).toBeNull(); // 00:30 on the 6th: before the hour
    expect(digestDue(s, at("2026-12-06T07:01:00Z"), at("2026-12-05T07:00:00Z"))).toBe("2026-12-06");
    expect(digestDue({ ...s, enabled: false }, at("2026-12-06T12:00:00Z"), null)).toBeNull();
  });

  it("across a DST change the local day still counts: one digest on the short day and on the long one", () => {
    const s = { enabled: true, atMinute: 8 * 60, tz: "Europe/Berlin" };
    // Clocks go forward on 2026-03-29 (CET → CEST): 08:00 local is 06:00Z.
    expect(localTime(at("2026-03-29T06:00:00Z"), "Europe/Berlin")).toEqual({ day: "2026-03-29", minute: 480 });
    expect(digestDue(s, at("2026-03-29T06:00:00Z"), at("2026-03-28T07:00:00Z"))).toBe("2026-03-29");
    expect(digestDue(s, at("2026-03-29T21:59:00Z"), at("2026-03-29T06:00:00Z"))).toBeNull();
    // Back on 2026-10-25: 01:00Z to 02:00Z happens twice in local time; the day is still one.
    expect(digestDue(s, at("2026-10-25T07:00:00Z"), at("2026-10-24T06:00:00Z"))).toBe("2026-10-25");
    expect(digestDue(s, at("2026-10-25T22:59:00Z"), at("2026-10-25T07:00:00Z"))).toBeNull();
  });

  it("a last digest stamped in the future (a clock set back) holds the digest back no longer than its day", () => {
    const s = { enabled: true, atMinute: 0, tz: "UTC" };
    expect(digestDue(s, at("2026-12-05T10:00:00Z"), at("2026-12-05T23:00:00Z"))).toBeNull();
    expect(digestDue(s, at("2026-12-06T12:00:00Z"), at("2026-12-05T23:00:00Z"))).toBe("2026-12-06");
  });

  it("never two within half a day, whatever the zones say (a zone moved east begins a new day at once)", () => {
    const last = at("2026-12-05T08:00:00Z");
    const east = { enabled: true, atMinute: 0, tz: "Pacific/Kiritimati" };
    expect(digestDue(east, at("2026-12-05T10:05:00Z"), last)).toBeNull();
    expect(digestDue(east, at("2026-12-05T20:00:00Z"), last)).toBe("2026-12-06");
    // Last sent at 23:00, the hour is 00:00: the next one waits until 11:00.
    const utc = { enabled: true, atMinute: 0, tz: "UTC" };
    expect(digestDue(utc, at("2026-12-06T00:00:00Z"), at("2026-12-05T23:00:00Z"))).toBeNull();
    expect(digestDue(utc, at("2026-12-06T11:00:00Z"), at("2026-12-05T23:00:00Z"))).toBe("2026-12-06");
  });
});

describe("a member's days are their own", () => {
  it("due within a day and overdue count in the member's zone, and a change dated far ahead does not pin a digest (atk12)", async () => {
    const { startRelay } = await import("../src/cwtch/relay-server.js");
    const { PursuanceClient } = await import("../src/pursuance/client/client.js");
    const { taskCreateBody } = await import("../src/pursuance/actions.js");
    const { dueSoon, digest } = await import("../src/usecases/notices.js");
    const { identity, ports } = await import("./helpers/pursuance-node.js");
    const relay = await startRelay();
    const ada = await PursuanceClient.create(await ports(), await identity(), { name: "Zones", founderName: "ada", relays: [relay.url] });
    try {
      // 2026-12-05 20:00 UTC is already 2026-12-06 05:00 in Tokyo.
      const now = Date.parse("2026-12-05T20:00:00Z");
      const mk = (title: string, due: string) => ada.publish((s) => taskCreateBody(ada.actor, s, { text: { title, deliverables: "" }, readers: ["admin"], assignee: { member: ada.me }, due }));
      await mk("due the 5th", "2026-12-05");
      await mk("due the 7th", "2026-12-07");
      const titles = (vs: Array<{ title: string | null }>) => vs.map((v) => v.title);
      expect(titles(dueSoon({ client: ada, now: () => now }))).toEqual(["due the 5th"]);
      // In Tokyo the 5th is past (overdue, so still listed) and the 7th is tomorrow.
      expect(titles(dueSoon({ client: ada, now: () => now, zone: "Asia/Tokyo" }))).toEqual(["due the 5th", "due the 7th"]);
      // A comment dated 300 days ahead counts as no change now.
      const t = ada.state.tasks.get(ada.state.taskIds[0]!)!;
      const since = ada.state.tasks.get(ada.state.taskIds[1]!)!.updatedTs + 1;
      t.comments.push({ id: "f".repeat(64), author: ada.me, ts: Date.now() + 300 * 86_400_000, content: { nonce: "", ct: "" } });
      expect(digest({ client: ada, now: () => Date.now() }, since).changed).toEqual([]);
    } finally {
      ada.close();
      await relay.close();
    }
  });
});
