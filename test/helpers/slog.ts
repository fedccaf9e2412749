// A tiny signed-log builder (from the round-3 attacker): real Ed25519-signed wire events
// (signEvent), folded by the real Fold (via toPEvent), with members holding real key rings.
import { toHex } from "../../src/cwtch/bytes.js";
import type { Crypto, SignKeyPair } from "../../src/cwtch/crypto.js";
import { signEvent, type SignedEvent } from "../../src/cwtch/message.js";
import { genesisBody, inviteBody, joinBody, shareBody, rotateBody, grantBody, type Actor, type InviteSecret } from "../../src/pursuance/actions.js";
import { encodeBody, type Body } from "../../src/pursuance/events.js";
import { Fold } from "../../src/pursuance/fold.js";
import { KeyRing } from "../../src/pursuance/keyring.js";
import { toPEvent } from "../../src/pursuance/pevent.js";
import type { Rules } from "../../src/pursuance/rules.js";
import type { PursuanceState } from "../../src/pursuance/state.js";

export interface SMember {
  name: string;
  kp: SignKeyPair;
  hex: string;
  ring: KeyRing;
  actor: Actor;
  seq: number;
  prev: Uint8Array;
}

export class SLog {
  readonly events: SignedEvent[] = [];
  readonly byId = new Map<string, SignedEvent>();
  readonly group: Uint8Array;
  fold: Fold;
  genesis!: SignedEvent;
  private cited = new Set<string>();
  private clock = 1_700_000_000_000;
  constructor(readonly crypto: Crypto) {
    this.group = crypto.randomBytes(32);
    this.fold = new Fold({ crypto, genesisId: null });
  }
  member(name: string): SMember {
    const kp = this.crypto.signKeyPair(this.crypto.randomBytes(32));
    const ring = new KeyRing(this.crypto, kp);
    const hex = toHex(kp.publicKey);
    return { name, kp, hex, ring, actor: { crypto: this.crypto, identity: kp, me: hex, ring }, seq: 0, prev: new Uint8Array(32) };
  }
  get state(): PursuanceState {
    return this.fold.state;
  }
  tips(): string[] {
    return this.events.map((e) => toHex(e.id)).filter((id) => !this.cited.has(id));
  }
  /** Sign an event by m. deps: "tips" (every head), or explicit ids. post=false: signed but kept off the log. */
  emit(m: SMember, body: Body, deps: "tips" | string[] = "tips", o: { post?: boolean; ts?: number } = {}): SignedEvent {
    const seq = m.seq + 1;
    const prevHex = toHex(m.prev);
    const ids = (deps === "tips" ? this.tips() : deps).filter((d) => d !== prevHex);
    this.clock += 1000;
    const ev = signEvent(
      this.crypto,
      { group: this.group, epoch: 0, author: m.kp.publicKey, seq, prev: m.prev, ts: o.ts ?? this.clock, deps: ids.map((d) => Uint8Array.from(Buffer.from(d, "hex"))), body: encodeBody(body) },
      m.kp.secretKey,
    );
    m.seq = seq;
    m.prev = ev.id;
    if (o.post !== false) this.post(ev);
    return ev;
  }
  post(ev: SignedEvent): void {
    const id = toHex(ev.id);
    if (this.byId.has(id)) return;
    this.events.push(ev);
    this.byId.set(id, ev);
    for (const p of toPEvent(ev).parents) this.cited.add(p);
    this.fold.add([toPEvent(ev)]);
  }
  ingestAll(ms: SMember[], ev: SignedEvent): void {
    const b = toPEvent(ev).body;
    if (b) for (const m of ms) m.ring.ingest(b);
  }
  // honest actions
  genesisOf(f: SMember, rules?: Rules): SignedEvent {
    const ev = this.emit(f, genesisBody(f.actor, { name: "p", founderName: f.name, ...(rules ? { rules } : {}) }), []);
    this.genesis = ev;
    this.fold.setGenesisId(toHex(ev.id));
    // refold with genesis id known
    const f2 = new Fold({ crypto: this.crypto, genesisId: toHex(ev.id) });
    f2.add(this.events.map(toPEvent));
    this.fold = f2;
    return ev;
  }
  get gid(): string {
    return toHex(this.genesis.id);
  }
  invite(by: SMember, role: string): { ev: SignedEvent; secret: InviteSecret } {
    const r = inviteBody(by.actor, this.state, role);
    return { ev: this.emit(by, r.body), secret: r.secret };
  }
  join(m: SMember, inv: { ev: SignedEvent; secret: InviteSecret }, deps?: string[]): SignedEvent {
    return this.emit(m, joinBody(m.actor, this.gid, inv.secret.seed, m.name), deps ?? [toHex(inv.ev.id)]);
  }
  share(by: SMember, to: SMember): SignedEvent {
    const b = shareBody(by.actor, this.state, to.hex);
    if (!b) throw new Error("nothing to share");
    const ev = this.emit(by, b);
    to.ring.ingest(b);
    return ev;
  }
  grant(by: SMember, to: SMember, role: string): SignedEvent {
    const b = grantBody(by.actor, this.state, to.hex, role);
    const ev = this.emit(by, b);
    to.ring.ingest(b);
    return ev;
  }
  rotate(by: SMember, scope: string, all: SMember[]): SignedEvent {
    const { body } = rotateBody(by.actor, this.state, scope);
    const ev = this.emit(by, body);
    for (const m of all) m.ring.ingest(body);
    return ev;
  }
  verdict(ev: SignedEvent): string | null | undefined {
    return this.fold.verdict(toHex(ev.id));
  }
}
