// A synthetic pursuance for the fold and cold-load benches: a founder, 19
// members admitted by invite + join, then tasks created, commented on and
// closed, every body built by the real builders of src/pursuance/actions.ts
// and every event signed and chained by the real GroupSession.compose(). Each
// event is folded as it is written and must be applied, not rejected, so the
// log is one a real group could have produced.
//
// Generating 100k events takes a while, so the log is cached in bench/.cache/.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from "node:fs";
import { fromHex, toHex } from "../src/cwtch/bytes.js";
import type { Crypto, SignKeyPair } from "../src/cwtch/crypto.js";
import { closeBody, commentBody, genesisBody, inviteBody, joinBody, shareBody, taskCreateBody, type Actor } from "../src/pursuance/actions.js";
import { encodeBody, type Body } from "../src/pursuance/events.js";
import { Fold } from "../src/pursuance/fold.js";
import { KeyRing } from "../src/pursuance/keyring.js";
import { toPEvent } from "../src/pursuance/pevent.js";
import { epochOfKeyId } from "../src/pursuance/state.js";
import { sharedSessions } from "./sessions.js";
import { prng, progress, since } from "./util.js";

export interface SynthLog {
  n: number;
  members: number;
  groupId: Uint8Array;
  epoch: number;
  groupKey: Uint8Array;
  /** The founder's identity seed: the owner whose client the cold load reopens. */
  founderSeed: Uint8Array;
  /** The founder's key ring (group and role keys), as its store would hold them. */
  keys: Array<{ scope: string; key: Uint8Array }>;
  pursuanceId: string;
  /** Canonical signed event bytes, in the order they were written (causal). */
  events: Uint8Array[];
}

const FORMAT = "pursuance-bench-log/v1";
const CACHE_DIR = new URL("./.cache/", import.meta.url);

function cacheFile(n: number): URL {
  return new URL(`pursuance-${n}.bin`, CACHE_DIR);
}

export function generate(crypto: Crypto, n: number, memberCount = 20): SynthLog {
  const rnd = prng(0x5eed);
  const pick = (k: number) => Math.floor(rnd() * k);
  const founderSeed = crypto.randomBytes(32);
  const ids: SignKeyPair[] = [crypto.signKeyPair(founderSeed)];
  for (let i = 1; i < memberCount; i++) ids.push(crypto.signKeyPair());
  const actors: Actor[] = ids.map((identity) => ({ crypto, identity, me: toHex(identity.publicKey), ring: new KeyRing(crypto, identity) }));
  const founder = actors[0]!;
  const genesis = genesisBody(founder, { name: "bench pursuance", founderName: "m0", mission: "measure the fold" });
  const group = founder.ring.scope("group")[0]!;
  const epoch = epochOfKeyId(group.keyId);
  const groupId = crypto.randomBytes(32);
  let clock = 1_700_000_000_000;
  const sessions = sharedSessions(crypto, ids, groupId, [{ epoch, key: group.key }], () => (clock += 1000));
  const fold = new Fold({ crypto });
  const events: Uint8Array[] = [];

  const emit = (who: number, body: Body): string => {
    const { event, result } = sessions[who]!.compose(encodeBody(body));
    if (result.status !== "delivered") throw new Error(`generator: event not delivered (${result.status})`);
    events.push(event.bytes);
    const p = toPEvent(event);
    if (events.length === 1) fold.setGenesisId(p.id);
    fold.add([p]);
    const verdict = fold.verdict(p.id);
    if (verdict !== null) throw new Error(`generator wrote an event the fold rejects (${body.t}): ${verdict}`);
    return p.id;
  };

  const pursuanceId = emit(0, genesis);
  // Keyless invites: after each join the founder shares the group and role keys (the rendezvous welcome
  // that also carries the group key travels outside the log, so the joiner's ring takes it directly here).
  const role = "change agent";
  for (let i = 1; i < memberCount; i++) {
    const inv = inviteBody(founder, fold.state, role);
    emit(0, inv.body);
    for (const k of founder.ring.all()) if (k.scope === "group" || k.scope === role) actors[i]!.ring.add(k.scope, k.key);
    emit(i, joinBody(actors[i]!, pursuanceId, inv.secret.seed, `m${i}`));
    emit(0, shareBody(founder, fold.state, actors[i]!.me)!);
  }

  const words = ["relay", "bridge", "flyer", "meeting", "budget", "press", "onion", "keys", "venue", "report", "banner", "route"];
  const text = (k: number) => Array.from({ length: 8 + (k % 12) }, () => words[pick(words.length)]).join(" ");
  const open: string[] = [];
  let t0 = performance.now();
  while (events.length < n) {
    const who = pick(memberCount);
    const a = actors[who]!;
    const r = rnd();
    if (open.length < 8 || r < 0.06) {
      open.push(emit(who, taskCreateBody(a, fold.state, { text: { title: text(events.length), deliverables: text(events.length + 1) }, readers: [role] })));
    } else if (r < 0.09) {
      const j = pick(open.length);
      const task = fold.state.tasks.get(open[j]!)!;
      open[j] = open[open.length - 1]!;
      open.pop();
      emit(who, closeBody(a, task, "done"));
    } else {
      emit(who, commentBody(a, fold.state.tasks.get(open[pick(open.length)]!)!, text(events.length)));
    }
    if (performance.now() - t0 > 5000) {
      progress(`fold: generating the synthetic pursuance, ${events.length}/${n} events`);
      t0 = performance.now();
    }
  }
  return {
    n,
    members: memberCount,
    groupId,
    epoch,
    groupKey: group.key,
    founderSeed,
    keys: founder.ring.all().map((k) => ({ scope: k.scope, key: k.key })),
    pursuanceId,
    events,
  };
}

function save(log: SynthLog): void {
  mkdirSync(CACHE_DIR, { recursive: true });
  writeFileSync(new URL(".gitignore", CACHE_DIR), "# generated by npm run bench\n*\n");
  const header = Buffer.from(
    JSON.stringify({
      format: FORMAT,
      n: log.n,
      members: log.members,
      groupId: toHex(log.groupId),
      epoch: log.epoch,
      groupKey: toHex(log.groupKey),
      founderSeed: toHex(log.founderSeed),
      keys: log.keys.map((k) => ({ scope: k.scope, key: toHex(k.key) })),
      pursuanceId: log.pursuanceId,
    }),
  );
  const parts: Buffer[] = [u32(header.length), header];
  for (const e of log.events) parts.push(u32(e.length), Buffer.from(e.buffer, e.byteOffset, e.byteLength));
  writeFileSync(cacheFile(log.n), Buffer.concat(parts));
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function load(n: number): SynthLog | null {
  const file = cacheFile(n);
  if (!existsSync(file)) return null;
  try {
    const buf = readFileSync(file);
    const hl = buf.readUInt32BE(0);
    const h = JSON.parse(buf.subarray(4, 4 + hl).toString("utf8")) as Record<string, unknown> & { keys: Array<{ scope: string; key: string }> };
    if (h.format !== FORMAT || h.n !== n) return null;
    const events: Uint8Array[] = [];
    let o = 4 + hl;
    while (o < buf.length) {
      const len = buf.readUInt32BE(o);
      events.push(new Uint8Array(buf.subarray(o + 4, o + 4 + len)));
      o += 4 + len;
    }
    if (events.length !== n) return null;
    return {
      n,
      members: h.members as number,
      groupId: fromHex(h.groupId as string),
      epoch: h.epoch as number,
      groupKey: fromHex(h.groupKey as string),
      founderSeed: fromHex(h.founderSeed as string),
      keys: h.keys.map((k) => ({ scope: k.scope, key: fromHex(k.key) })),
      pursuanceId: h.pursuanceId as string,
      events,
    };
  } catch {
    return null;
  }
}

/**
 * The cached log's events one at a time, read from the file in small pieces:
 * a job that measures memory holds only what it builds from them, never the
 * 50 MB file (whose pages the process keeps in its RSS after it is freed).
 * Each event is a view into one reused buffer, valid until the next is read
 * (decodeAndVerify copies what it keeps). The cache must exist (the parent
 * process made it with synthLog).
 */
export function* cachedEvents(n: number): Generator<Uint8Array> {
  const fd = openSync(cacheFile(n), "r");
  try {
    const len = Buffer.alloc(4);
    let at = 0;
    const next = (): number | null => (readSync(fd, len, 0, 4, at) === 4 ? ((at += 4), len.readUInt32BE(0)) : null);
    const hl = next();
    if (hl === null) throw new Error(`bench cache ${cacheFile(n).pathname} is empty`);
    at += hl;
    let count = 0;
    let buf = new Uint8Array(64 * 1024);
    for (let l = next(); l !== null; l = next()) {
      if (l > buf.length) buf = new Uint8Array(l);
      const ev = buf.subarray(0, l);
      if (readSync(fd, ev, 0, l, at) !== l) throw new Error(`bench cache ${cacheFile(n).pathname} is truncated at byte ${at}`);
      at += l;
      count++;
      yield ev;
    }
    if (count !== n) throw new Error(`bench cache ${cacheFile(n).pathname} holds ${count} events, not ${n}`);
  } finally {
    closeSync(fd);
  }
}

/** The cached log of `n` events, generated (and cached) on first use. */
export function synthLog(crypto: Crypto, n: number, quiet = false): { log: SynthLog; generatedSeconds: number | null } {
  const cached = load(n);
  if (cached) {
    if (!quiet) progress(`fold: using cached ${n}-event pursuance (${cacheFile(n).pathname})`);
    return { log: cached, generatedSeconds: null };
  }
  progress(`fold: generating a ${n}-event pursuance (cached afterwards)`);
  const t0 = performance.now();
  const log = generate(crypto, n);
  const s = since(t0);
  save(log);
  return { log, generatedSeconds: s };
}
