// A fetch's replay (relay-connection.ts runs it in arrival order): the
// frames of the asked tags after `since`, page by page, each page on the
// socket before the next is read, `pruned` for every loss among the asked
// tags, then `caught-up` with a cursor the client can resume from exactly.
import { WebSocket } from "ws";
import { toB64 } from "./bytes.js";
import type { ClientFrame, ServerFrame } from "./relay-protocol.js";
import type { RelayContext, RequestOutlet } from "./relay-context.js";

export async function handleFetch(c: RequestOutlet, ctx: RelayContext, f: Extract<ClientFrame, { op: "fetch" }>): Promise<void> {
  const { store, pageFrames } = ctx;
  const ws = c.ws;
  const since = f.since ?? 0;
  const tags = f.tags ? new Set(f.tags) : null;
  // Replay up to a snapshot of `latest`; later frames reach subscribers live,
  // and caught-up then names a cursor the client can resume from exactly.
  const st = await store.stats();
  // Only losses among the asked tags count: a flood of other tags being evicted is not this group's loss.
  // Asked at the start, after reading each page and at the end: eviction
  // during a slow fetch may take frames ahead of its cursor, and that loss is
  // reported as well. After the read, so nothing evicted before it escapes.
  const perTag = tags !== null && store.evictedThroughFor !== undefined;
  let pruned = false;
  const reportLoss = async (cursor: number): Promise<void> => {
    if (pruned) return;
    const lost = perTag ? store.evictedThroughFor!(tags!) : (await store.stats()).evictedThrough;
    if (Math.min(lost, st.latest) <= cursor) return;
    pruned = true;
    c.send({ op: "pruned", rid: f.rid, requested: since, oldest: (await store.stats()).oldest });
  };
  await reportLoss(since);
  let cursor = since;
  let left = f.limit ?? Number.MAX_SAFE_INTEGER;
  while (left > 0 && cursor < st.latest && ws.readyState === WebSocket.OPEN) {
    const want = Math.min(pageFrames, left);
    const from = cursor;
    const page = await store.range(cursor, tags, want);
    await reportLoss(from);
    const texts: string[] = [];
    for (const fr of page) {
      if (fr.seq > st.latest) break;
      texts.push(JSON.stringify({ op: "frame", seq: fr.seq, tag: fr.tag, blob: toB64(fr.blob), rid: f.rid } satisfies ServerFrame));
      cursor = fr.seq;
      left--;
    }
    const last = texts.pop();
    if (last === undefined) break;
    // Checked before the page goes out: a page may be larger than a tight bound by itself.
    c.checkHeld();
    if (c.shedding) return;
    c.coalesce();
    for (const t of texts) ws.send(t);
    // Wait until the page is on the socket so one fetch holds one page in memory.
    await new Promise<void>((res) => ws.send(last, () => res()));
    if (c.shedding) return;
    if (page.length < want) break;
  }
  // A fetch stopped by its limit leaves what lies past its cursor to the next one.
  if (!c.shedding && left > 0) await reportLoss(cursor);
  c.send({ op: "caught-up", rid: f.rid, latest: left === 0 ? cursor : st.latest });
}
