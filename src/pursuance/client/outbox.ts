// The client's way out: a body is parsed and checked exactly as every
// receiver will, signed into the log, posted (or kept as unsent, for hosts
// that say so), and confirmed by folding it. What no relay took is sent again
// later; `via` tags let a host tell whether a command was already done.
import { toHex } from "../../cwtch/bytes.js";
import type { Group } from "../../cwtch/group.js";
import type { GroupSession } from "../../cwtch/group-session.js";
import type { SignedEvent } from "../../cwtch/message.js";
import type { PEvent } from "../apply-common.js";
import { ActionError } from "../actions.js";
import { encodeBody, type Body } from "../events.js";
import { parseBody } from "../events-parse.js";
import type { Fold } from "../fold.js";
import type { ClientStorePort } from "../ports.js";
import type { ClientConfig, ClientOptions } from "./core.js";

/** The store did not take our event: nothing was written (no relay saw it), and writing again is safe. */
export class StoreFailedError extends Error {
  constructor(override readonly cause: unknown) {
    super(`nothing was written: this member's store failed (${cause instanceof Error ? cause.message : String(cause)}); try again once it works`);
    this.name = "StoreFailedError";
  }
}

export interface OutboxDeps {
  store: ClientStorePort;
  me: string;
  fold: Fold;
  group: Group;
  session: GroupSession;
  config: ClientConfig;
  opts: ClientOptions;
  now(): number;
  /** Wait until what was delivered is stored and folded. */
  flushed(): Promise<void>;
}

export class Outbox {
  private vias: Set<string> | null = null;

  constructor(private readonly d: OutboxDeps) {}

  /** Why every client would reject this body from us now, or null if it would be applied. */
  refusal(body: Body): string | null {
    const probe: PEvent = { id: "f".repeat(64), author: this.d.me, seq: 0, ts: this.d.now(), parents: [], body };
    return this.d.fold.check(probe);
  }

  async publish(body: Body, epoch?: number, opts: { via?: string } = {}): Promise<{ id: string }> {
    // Parse exactly as every receiver will: a body they would find malformed never leaves.
    parseBody(encodeBody(body));
    const reason = this.refusal(body);
    if (reason) throw new ActionError(reason, body.t);
    // `via` rides along in the signed bytes (receivers' parsers ignore it): the log itself then
    // records that this command was done, which survives any crash of the host.
    const bytes = opts.via ? encodeBody({ ...body, via: opts.via } as unknown as Body) : encodeBody(body);
    // Stored before it is posted: a store that fails makes the write fail whole (nothing sent, the seq unused).
    const keep = async (e: SignedEvent) => {
      try {
        await this.d.store.saveEvents([{ id: toHex(e.id), bytes: e.bytes }]);
      } catch (err) {
        throw new StoreFailedError(err);
      }
    };
    const { event: ev, sent } = await this.d.group.publishStored(bytes, epoch, keep, { kept: this.d.opts.keepUnsent === true });
    if (!sent) this.queueUnsent(ev);
    if (opts.via) this.vias?.add(opts.via);
    await this.d.flushed();
    const verdict = this.d.fold.verdict(toHex(ev.id));
    if (verdict) throw new ActionError(`rejected after publishing: ${verdict}`, toHex(ev.id));
    return { id: toHex(ev.id) };
  }

  private queueUnsent(event: SignedEvent): void {
    this.d.config.unsent = [...(this.d.config.unsent ?? []), toHex(event.id)];
    this.d.opts.onConfigChanged?.(this.d.config);
  }

  /** Send again what no relay took when written; what some relay takes now leaves the queue. */
  async sendUnsent(): Promise<void> {
    const config = this.d.config;
    for (const id of [...(config.unsent ?? [])]) {
      const ev = this.d.session.log.get(id);
      // Not in the log (a store lost it): nothing to send, and nothing the queue can do.
      const sent = ev ? await this.d.group.resend(ev).then(() => true, () => false) : true;
      if (!sent) return;
      config.unsent = config.unsent?.filter((x) => x !== id);
      if (config.unsent?.length === 0) delete config.unsent;
      this.d.opts.onConfigChanged?.(config);
    }
  }

  /** Whether one of our own events carries this `via` tag (a command already done before a crash). */
  hasVia(via: string): boolean {
    if (!this.vias) {
      this.vias = new Set();
      for (const e of this.d.session.log.events()) {
        if (toHex(e.author) !== this.d.me) continue;
        const m = /"via":"([^"\\]*)"/.exec(new TextDecoder().decode(e.body));
        if (m) this.vias.add(m[1]!);
      }
    }
    return this.vias.has(via);
  }
}
