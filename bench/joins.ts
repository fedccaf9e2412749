// A pursuance that only grows: the founder writes an invite, the invitee joins,
// N times. Every fold step then meets a larger membership, so any per-event
// work proportional to the members shows here as quadratic total time. The
// fold is timed beside a bare crypto.verify loop over the same signed events.
import { concat, toHex, utf8 } from "../src/cwtch/bytes.js";
import type { Crypto } from "../src/cwtch/crypto.js";
import { signEvent, type SignedEvent } from "../src/cwtch/message.js";
import { genesisBody, inviteBody, joinBody, type Actor } from "../src/pursuance/actions.js";
import type { PEvent } from "../src/pursuance/apply-common.js";
import { encodeBody, type Body } from "../src/pursuance/events.js";
import { Fold, foldAll } from "../src/pursuance/fold.js";
import { KeyRing } from "../src/pursuance/keyring.js";
import { exportLog, verifyLog } from "../src/pursuance/log-file.js";
import { toPEvent } from "../src/pursuance/pevent.js";
import { epochOfKeyId } from "../src/pursuance/state.js";
import { metric, type Metric } from "./report.js";
import { progress, since, sized } from "./util.js";

/** The signature domain of message.ts (not exported there), as in pipeline.ts. */
const SIG_DOMAIN = utf8.encode("pursuance/msg/v1\0");

export interface JoinsLog {
  members: number;
  pursuanceId: string;
  /** Causal order: genesis, then (invite, join) per member. */
  events: SignedEvent[];
}

/**
 * Genesis, then `joiners` × (founder's invite, the invitee's join), one
 * chain: each event cites the one before it. Bodies come from the real
 * builders; no key rotates, so every invite carries the genesis keys.
 */
export function joinsLog(crypto: Crypto, joiners: number): JoinsLog {
  const actor = (): Actor => {
    const identity = crypto.signKeyPair();
    return { crypto, identity, me: toHex(identity.publicKey), ring: new KeyRing(crypto, identity) };
  };
  const founder = actor();
  const genesis = genesisBody(founder, { name: "joins", founderName: "m0", mission: "grow" });
  const groupId = crypto.randomBytes(32);
  const epoch = epochOfKeyId(founder.ring.scope("group")[0]!.keyId);
  const events: SignedEvent[] = [];
  const heads = new Map<string, SignedEvent>();
  let ts = 1_700_000_000_000;
  const emit = (a: Actor, body: Body): SignedEvent => {
    const head = heads.get(a.me);
    const tip = events[events.length - 1];
    const e = signEvent(
      crypto,
      {
        group: groupId,
        epoch,
        author: a.identity.publicKey,
        seq: (head?.seq ?? 0) + 1,
        prev: head ? head.id : new Uint8Array(32),
        ts: (ts += 1000),
        deps: tip && tip !== head ? [tip.id] : [],
        body: encodeBody(body),
      },
      a.identity.secretKey,
    );
    heads.set(a.me, e);
    events.push(e);
    return e;
  };
  const g = emit(founder, genesis);
  const pursuanceId = toHex(g.id);
  const f = new Fold({ crypto, genesisId: pursuanceId });
  f.add([toPEvent(g)]);
  for (let i = 1; i <= joiners; i++) {
    const inv = inviteBody(founder, f.state, "change agent");
    emit(founder, inv.body);
    const a = actor();
    emit(a, joinBody(a, pursuanceId, inv.secret.seed, `m${i}`));
  }
  return { members: joiners + 1, pursuanceId, events };
}

export interface JoinsRun {
  members: number;
  events: number;
  foldSeconds: number;
  /** verifyLog of the exported log: every signature checked, then the fold (what `pursuance verify` does after reading the file). */
  verifyLogSeconds: number;
  /** Bare Ed25519 verify of every event signature, events/s. */
  verifyRate: number;
}

/** Fold the log from scratch (best of `reps`) and verify that every event applied. */
export function foldJoins(crypto: Crypto, log: JoinsLog, reps: number): JoinsRun {
  const pevs: PEvent[] = log.events.map(toPEvent);
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const f = foldAll(crypto, pevs, log.pursuanceId);
    best = Math.min(best, since(t0));
    if (f.state.applied !== pevs.length || f.state.members.size !== log.members) {
      throw new Error(`joins fold: applied ${f.state.applied} of ${pevs.length}, ${f.state.members.size} members (${f.state.rejected[0]?.reason ?? ""})`);
    }
  }
  const signed = log.events.map((e) => ({ sig: e.sig, author: e.author, m: concat(SIG_DOMAIN, e.bytes.subarray(0, e.bytes.length - 64)) }));
  let verifyRate = 0;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (const s of signed) if (!crypto.verify(s.sig, s.m, s.author)) throw new Error("bare verify failed");
    verifyRate = Math.max(verifyRate, signed.length / since(t0));
  }
  const exported = exportLog(log.pursuanceId, toHex(log.events[0]!.group), log.events);
  let verifyLogSeconds = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const v = verifyLog(crypto, exported);
    verifyLogSeconds = Math.min(verifyLogSeconds, since(t0));
    if (v.applied !== pevs.length || v.invalid.length !== 0) throw new Error(`joins verifyLog: applied ${v.applied} of ${pevs.length}, ${v.invalid.length} invalid`);
  }
  return { members: log.members, events: pevs.length, foldSeconds: best, verifyLogSeconds, verifyRate };
}

export function benchJoins(crypto: Crypto, quick: boolean): Metric[] {
  const joiners = sized(10_000, 2_000, 100);
  progress(`joins: signing ${joiners} invites and joins`);
  const t0 = performance.now();
  const log = joinsLog(crypto, joiners);
  progress(`joins: ${log.events.length} events in ${since(t0).toFixed(1)} s; folding`);
  const r = foldJoins(crypto, log, quick ? 1 : 3);
  const rate = r.events / r.foldSeconds;
  const note = `foldAll of ${r.events} events: ${joiners} members join by the founder's invites (${crypto.backend}); each join verifies its invite proof`;
  return [
    metric("fold.joins", rate, "events/s", r.verifyRate, { note: `${note}; baseline: bare crypto.verify loop over the same events` }),
    metric("fold.joins.ms", r.foldSeconds * 1000, "ms", null, { note: `${note}; best of ${quick ? 1 : 3}` }),
    metric("fold.joins.verify-log", r.events / r.verifyLogSeconds, "events/s", r.verifyRate, {
      note: `verifyLog of the same ${r.events} events exported (every signature, then foldAll; ${(r.verifyLogSeconds * 1000).toFixed(0)} ms); baseline: bare crypto.verify loop`,
    }),
  ];
}
