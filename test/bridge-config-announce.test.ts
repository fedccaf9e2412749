// The config's `announce` section: public rooms per pursuance id and the feed
// switch; every bad value is named by its key and nothing of it is used.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ConfigErrors, parseConfig } from "../src/bridge/config/config.js";

const key32 = () => randomBytes(32).toString("base64url");
const base = (announce?: unknown) =>
  stringify({
    homeserver: { url: "http://127.0.0.1:8008", domain: "localhost" },
    appservice: { asToken: key32(), hsToken: key32() },
    relays: ["ws://127.0.0.1:7717"],
    identities: { key: key32() },
    ...(announce === undefined ? {} : { announce }),
  });
const PID = "ab".repeat(32);

function errors(text: string): string[] {
  try {
    parseConfig(text, "config.yaml", { env: {} });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigErrors);
    return (e as ConfigErrors).errors.map((x) => `${x.key}: ${x.message}`);
  }
  return [];
}

describe("config: announce", () => {
  it("defaults to no rooms and feeds on; takes rooms per pursuance id, with ports in server names", () => {
    expect(parseConfig(base(), "c", { env: {} }).announce).toEqual({ rooms: {}, feeds: true });
    const c = parseConfig(base({ rooms: { [PID]: ["#news:our-group.net", "#town:localhost:8448"] }, feeds: false }), "c", { env: {} });
    expect(c.announce).toEqual({ rooms: { [PID]: ["#news:our-group.net", "#town:localhost:8448"] }, feeds: false });
  });

  it("names the key of a bad pursuance id, a bad alias, a non-list and an unknown key", () => {
    const errs = errors(base({ rooms: { "not-an-id": ["#a:b.org"], [PID]: ["news", "#ok:b.org"], ["cd".repeat(32)]: "#x:y.org" }, feed: true }));
    expect(errs.some((e) => e.startsWith("announce.rooms.not-an-id:") && /64 lower-case hex/.test(e))).toBe(true);
    expect(errs.some((e) => e.startsWith(`announce.rooms.${PID}[0]:`) && /room alias/.test(e))).toBe(true);
    expect(errs.some((e) => e.startsWith(`announce.rooms.${"cd".repeat(32)}:`) && /list of room aliases/.test(e))).toBe(true);
    expect(errs.some((e) => e.startsWith("announce.feed"))).toBe(true);
  });

  it("the sample config documents the announce section", () => {
    const sample = readFileSync(fileURLToPath(new URL("../config.sample.yaml", import.meta.url)), "utf8");
    expect(sample).toMatch(/^announce:/m);
  });
});
