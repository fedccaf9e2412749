// Moving a pursuance to other relays, and bringing it back after every relay
// lost its data. Both end in one signed relays.set with `move: true`, the one
// signal every client (and the bridge, and link notices) follows. The history
// goes to the new relays first, so whoever follows finds it all there; the
// notice also goes to the old relays, so a member who was offline finds it
// wherever it last looked. Nothing here can forge anything: the frames we
// re-post are the signed events we hold, re-sealed, and a relay that tampers
// with them only gets them dropped by every receiver.
import type { SignedEvent } from "../../cwtch/message.js";
import type { RelayClient } from "../../cwtch/relay-client.js";
import { ActionError } from "../actions.js";
import type { PursuanceClient } from "./client.js";
import { BodyError, encodeBody, type Body } from "../events.js";
import { parseBody } from "../events-parse.js";
import { copyFiles, documents } from "./file-transfer.js";

export interface CopyProgress {
  relay: string;
  done: number;
  total: number;
}

export interface RelocateOptions {
  /** Called as frames land (at most ~50 times per relay, and on the last one). */
  onProgress?(p: CopyProgress): void;
  /** Posts in flight at once: fills the link, while memory stays bounded (one sealed frame each). */
  window?: number;
  /** How long a move waits for each old relay to take its notice (a dead one must not hold the move). */
  noticeWaitMs?: number;
}

const DEFAULT_WINDOW = 32;

/**
 * Re-post every event we hold (delivered, in causal order), freshly sealed
 * under its own epoch, to one relay through a connection of its own. Returns
 * how many frames the relay acknowledged; throws ActionError naming the relay
 * if it does not answer.
 */
export async function copyHistory(c: PursuanceClient, url: string, o: RelocateOptions = {}): Promise<number> {
  // A snapshot: events arriving meanwhile reach the relay the ordinary way once it is attached.
  const events: readonly SignedEvent[] = c.session.log.events().slice();
  const total = events.length;
  const step = Math.max(1, Math.floor(total / 50));
  const relay: RelayClient = c.ports.connect(url);
  relay.start();
  let done = 0;
  let next = 0;
  const post = async (): Promise<void> => {
    while (next < total) {
      const f = c.session.frameFor(events[next++]!);
      await relay.post(f.tag, f.blob);
      done++;
      if (done % step === 0 || done === total) o.onProgress?.({ relay: url, done, total });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(o.window ?? DEFAULT_WINDOW, total) }, post));
  } catch (e) {
    next = total;
    throw new ActionError(`relay ${url} did not take the history (${done} of ${total} frames): ${(e as Error).message}`, url);
  } finally {
    relay.close();
  }
  return done;
}

/** Why this relays.set would be refused, checked before anything is copied: a bad list or missing rights change nothing. */
function refuse(c: PursuanceClient, body: Body): void {
  try {
    parseBody(encodeBody(body));
  } catch (e) {
    if (e instanceof BodyError) throw new ActionError(e.message, e.value);
    throw e;
  }
  const reason = c.refusal(body);
  if (reason) throw new ActionError(reason, body.t);
}

export interface MoveResult {
  relays: string[];
  /** Frames re-posted to each relay that was not already in use. */
  copied: Record<string, number>;
  /** Document chunk frames copied to each new relay, and the files no old relay held whole (event ids). */
  files: Record<string, { chunks: number; missing: string[] }>;
  /** Old and new relays that acknowledged the notice (the relays.set). */
  noticeOn: string[];
  id: string;
}

/**
 * Move the pursuance to `to`: copy the history to every relay not in use yet,
 * publish relays.set {relays: to, move: true}, make sure each old relay holds
 * the notice too (those that answer within the relay timeout), then leave them.
 */
export async function moveRelays(c: PursuanceClient, to: string[], o: RelocateOptions = {}): Promise<MoveResult> {
  const relays = [...new Set(to.map((u) => u.trim()))];
  const body: Body = { t: "relays.set", relays, move: true };
  refuse(c, body);
  const old = c.relays;
  if (old.length === relays.length && old.every((u) => relays.includes(u))) throw new ActionError("the pursuance already lives on exactly these relays", relays);
  const copied: Record<string, number> = {};
  const files: MoveResult["files"] = {};
  const docs = documents(c.state);
  for (const url of relays) {
    if (c.group.relayUrls.includes(url)) continue;
    copied[url] = await copyHistory(c, url, o);
    files[url] = await copyFiles(c, docs, url);
  }
  // Hold every relay, old and new, until the notice is on each: the fold would drop the old ones at once.
  const held = [...new Set([...old, ...relays])];
  for (const url of held) c.holdRelays.add(url);
  try {
    for (const url of relays) if (!c.group.relayUrls.includes(url)) await c.group.addRelay(c.ports.connect(url));
    const { id } = await c.publish(body);
    const ev = c.session.log.get(id);
    if (!ev) throw new ActionError("the move notice vanished from our own log", id);
    const wait = o.noticeWaitMs ?? 10_000;
    const landed = await Promise.allSettled(
      held.map((url) => {
        let t: { cancel(): void } | undefined;
        const late = new Promise<never>((_, rej) => (t = c.ports.setTimer(() => rej(new Error("no answer")), wait)));
        return Promise.race([c.group.postTo(url, c.session.frameFor(ev)).then(() => url), late]).finally(() => t?.cancel());
      }),
    );
    const noticeOn = landed.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    return { relays, copied, files, noticeOn, id };
  } finally {
    for (const url of held) c.holdRelays.delete(url);
    c.followRelays();
  }
}

export interface RecoverResult {
  copied: number;
  /** The relays.set naming the new relay, when we may publish one. */
  id: string | null;
  /** Why no relays.set was published (members then add the relay by hand). */
  refused: string | null;
}

/**
 * Every relay lost its data: put our copy of the log on `url` (every frame,
 * in order), use it ourselves, and, when the rules let us, publish a
 * relays.set naming it alone so that every member who reaches it follows.
 */
export async function recoverOnto(c: PursuanceClient, url: string, o: RelocateOptions = {}): Promise<RecoverResult> {
  const body: Body = { t: "relays.set", relays: [url.trim()], move: true };
  try {
    parseBody(encodeBody(body));
  } catch (e) {
    if (e instanceof BodyError) throw new ActionError(e.message, e.value);
    throw e;
  }
  if (c.session.log.size === 0) throw new ActionError("this client holds no events to recover from", url);
  const copied = await copyHistory(c, url, o);
  await c.useRelay(url);
  // The fold's rules decide whether we may name it for everyone; the copy is useful either way.
  const refused = c.relays.length === 1 && c.relays[0] === url ? "the pursuance already lives there" : c.refusal(body);
  if (refused) return { copied, id: null, refused };
  const { id } = await c.publish(body);
  return { copied, id, refused: null };
}
