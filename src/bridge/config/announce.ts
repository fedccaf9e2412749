// The `announce` section: public rooms per pursuance (announce.rooms, pursuance
// id → room aliases) and whether the Atom feeds are served (announce.feeds).
// Rooms added from Matrix (`!announce room add`) live in the database instead.
import { isObj, type Checker } from "./checker.js";
import type { AnnounceConfig } from "./types.js";

const PURSUANCE_ID = /^[0-9a-f]{64}$/;
const ALIAS = /^#[^:\s]+:[A-Za-z0-9.-]+(?::\d+)?$/;

export function parseAnnounce(c: Checker, value: unknown): AnnounceConfig {
  const a = c.section("announce", value, ["rooms", "feeds"]);
  const rooms: Record<string, string[]> = {};
  if (a.rooms !== undefined && a.rooms !== null) {
    if (!isObj(a.rooms)) c.fail("announce.rooms", a.rooms, "a mapping of pursuance id (64 hex) → list of room aliases, e.g. {<id>: ['#news:your-domain.org']}");
    else {
      for (const [id, list] of Object.entries(a.rooms)) {
        const k = `announce.rooms.${id}`;
        if (!PURSUANCE_ID.test(id)) {
          c.fail(k, id, "a pursuance id: 64 lower-case hex characters, as `!pursuance status` shows it");
          continue;
        }
        if (!Array.isArray(list)) {
          c.fail(k, list, "a list of room aliases, e.g. ['#news:your-domain.org']");
          continue;
        }
        const ok: string[] = [];
        list.forEach((alias, i) => {
          const s = c.string(`${k}[${i}]`, alias, "a room alias, #name:server", (x) => ALIAS.test(x));
          if (s !== undefined) ok.push(s);
        });
        rooms[id] = ok;
      }
    }
  }
  return { rooms, feeds: c.bool("announce.feeds", a.feeds, true) };
}
