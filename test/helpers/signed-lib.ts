// A tiny signed-history builder: real Ed25519-signed events (so copies can be verified), real Fold.
import { fromHex, toHex } from "../../src/cwtch/bytes.js";
import type { Crypto, SignKeyPair } from "../../src/cwtch/crypto.js";
import { signEvent, type SignedEvent } from "../../src/cwtch/message.js";
import { genesisBody, grantBody, inviteBody, joinBody, shareBody, type Actor, type InviteSecret } from "../../src/pursuance/actions.js";
import type { PEvent } from "../../src/pursuance/apply-common.js";
import { encodeBody, type Body } from "../../src/pursuance/events.js";
import { Fold } from "../../src/pursuance/fold.js";
import { KeyRing } from "../../src/pursuance/keyring.js";
import { toPEvent } from "../../src/pursuance/pevent.js";
import type { Rules } from "../../src/pursuance/rules.js";
import type { PursuanceState } from "../../src/pursuance/state.js";

export interface M { name: string; kp: SignKeyPair; hex: string; ring: KeyRing; actor: Actor; chain: SignedEvent[] }

export class SB {
  group: Uint8Array;
  signed = new Map<string, SignedEvent>();
  pev = new Map<string, PEvent>();
  order: string[] = [];
  members: M[] = [];
  gid = "";
  clock = 1_700_000_000_000;
  constructor(readonly c: Crypto) { this.group = c.randomBytes(32); }
  member(name: string): M {
    const kp = this.c.signKeyPair(this.c.randomBytes(32));
    const hex = toHex(kp.publicKey);
    const ring = new KeyRing(this.c, kp);
    const m: M = { name, kp, hex, ring, actor: { crypto: this.c, identity: kp, me: hex, ring }, chain: [] };
    this.members.push(m);
    return m;
  }
  ancestors(ids: Iterable<string>): PEvent[] {
    const seen = new Set<string>(); const st = [...ids];
    while (st.length) { const id = st.pop()!; if (seen.has(id)) continue; seen.add(id); const e = this.pev.get(id); if (e) st.push(...e.parents); }
    return this.order.filter((id) => seen.has(id)).map((id) => this.pev.get(id)!);
  }
  stateAt(parents: string[]): PursuanceState {
    const f = new Fold({ crypto: this.c, genesisId: this.gid || null });
    f.add(this.ancestors(parents));
    return f.state;
  }
  tips(): string[] { const cited = new Set<string>(); for (const id of this.order) for (const p of this.pev.get(id)!.parents) cited.add(p); return this.order.filter((id) => !cited.has(id)); }
  /** Write an event by m citing deps (ids; "tips" = all tips); body may be a builder over the author's view. */
  emit(m: M, body: Body | ((s: PursuanceState) => Body), deps: string[] | "tips" = "tips", o: { forkAt?: number; ts?: number; below?: string; above?: string } = {}): SignedEvent {
    const seq = o.forkAt ?? m.chain.length + 1;
    const prev = seq > 1 ? m.chain[seq - 2]! : null;
    let ds = deps === "tips" ? this.tips() : [...deps];
    const prevHex = prev ? toHex(prev.id) : null;
    ds = [...new Set(ds)].filter((d) => d !== prevHex && !m.chain.slice(seq - 1).some((x) => toHex(x.id) === d));
    const parents = prevHex ? [...ds, prevHex] : ds;
    const b = typeof body === "function" ? body(this.stateAt(parents)) : body;
    this.clock += 1000;
    let ts = o.ts ?? this.clock;
    let ev = signEvent(this.c, { group: this.group, epoch: 0, author: m.kp.publicKey, seq, prev: prev ? prev.id : new Uint8Array(32), ts, deps: ds.map(fromHex), body: encodeBody(b) }, m.kp.secretKey);
    while ((o.below !== undefined && toHex(ev.id) >= o.below) || (o.above !== undefined && toHex(ev.id) <= o.above)) {
      ts += 1;
      ev = signEvent(this.c, { group: this.group, epoch: 0, author: m.kp.publicKey, seq, prev: prev ? prev.id : new Uint8Array(32), ts, deps: ds.map(fromHex), body: encodeBody(b) }, m.kp.secretKey);
    }
    const pe = toPEvent(ev);
    this.signed.set(pe.id, ev); this.pev.set(pe.id, pe); this.order.push(pe.id);
    if (o.forkAt === undefined) m.chain.push(ev);
    if (pe.body) for (const x of this.members) x.ring.ingest(pe.body);
    return ev;
  }
  genesis(f: M, rules?: Rules): SignedEvent {
    const e = this.emit(f, genesisBody(f.actor, { name: "p", founderName: f.name, ...(rules ? { rules } : {}) }), []);
    this.gid = toHex(e.id);
    return e;
  }
  invite(by: M, role: string, deps: string[] | "tips" = "tips"): { ev: SignedEvent; secret: InviteSecret } {
    let secret!: InviteSecret;
    const ev = this.emit(by, (s) => { const r = inviteBody(by.actor, s, role); secret = r.secret; return r.body; }, deps);
    return { ev, secret };
  }
  join(m: M, secret: InviteSecret, deps: string[] | "tips" = "tips", below?: string, above?: string): SignedEvent { return this.emit(m, joinBody(m.actor, this.gid, secret.seed, m.name), deps, { ...(below ? { below } : {}), ...(above ? { above } : {}) }); }
  share(by: M, to: M, deps: string[] | "tips" = "tips"): SignedEvent { return this.emit(by, (s) => { const b = shareBody(by.actor, s, to.hex); if (!b) throw new Error("nothing to share"); return b; }, deps); }
  grant(by: M, to: M, role: string, deps: string[] | "tips" = "tips"): SignedEvent { return this.emit(by, (s) => grantBody(by.actor, s, to.hex, role), deps); }
  all(): PEvent[] { return this.order.map((id) => this.pev.get(id)!); }
  fold(evs: PEvent[] = this.all()): Fold { const f = new Fold({ crypto: this.c, genesisId: this.gid }); f.add(evs); return f; }
}
export const id = (e: SignedEvent) => toHex(e.id);
