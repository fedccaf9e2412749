// Key material a member holds: group epoch keys and role keys, each named by
// its key id (a hash of the key), so a key opened from a sealed box is
// checked against the id the log announced before it is trusted.
import { concat, fromB64, toB64, toHex, utf8 } from "../cwtch/bytes.js";
import type { Crypto, SignKeyPair } from "../cwtch/crypto.js";
import type { Body, KeyRef } from "./events.js";

/**
 * Whether an event, with the fold's verdict on it, may give keys: only an
 * applied one (a rejected share, grant or delegation of a key its author may
 * not give gives nothing), except a rotation, whose key is taken whatever its
 * verdict, for reading: whoever folded it first may have written in its epoch.
 */
export function givesKeys(body: Body | null | undefined, rejected: string | null): boolean {
  return body != null && (rejected === null || body.t === "keys.rotate");
}

/** The bodies that can seal a key to a member: what `sealedIds` and `ingest` read; every other body gives none. */
const SEALING: ReadonlySet<string> = new Set(["genesis", "role.grant", "keys.share", "keys.delegate", "keys.rotate"]);
export function mayCarryKeys(body: Body): boolean {
  return SEALING.has(body.t);
}

const KEYID_DOMAIN = utf8.encode("pursuance/keyid/v1");

export function keyIdOf(crypto: Crypto, key: Uint8Array): string {
  return toHex(crypto.hash(concat(KEYID_DOMAIN, key), 16));
}

export interface HeldKey {
  scope: string;
  keyId: string;
  key: Uint8Array;
}

export class KeyRing {
  private readonly byId = new Map<string, HeldKey>();

  /** Our public key in hex, spelt once: every body that may seal to us is read against it. */
  private readonly meHex: string;

  constructor(
    private readonly crypto: Crypto,
    private readonly me: SignKeyPair,
  ) {
    this.meHex = toHex(me.publicKey);
  }

  get size(): number {
    return this.byId.size;
  }
  get(keyId: string): HeldKey | undefined {
    return this.byId.get(keyId);
  }
  all(): HeldKey[] {
    return [...this.byId.values()];
  }
  scope(scope: string): HeldKey[] {
    return this.all().filter((k) => k.scope === scope);
  }

  /** Add a key we generated or were handed out of band (an invite). */
  add(scope: string, key: Uint8Array): HeldKey {
    const h = { scope, keyId: keyIdOf(this.crypto, key), key };
    this.byId.set(h.keyId, h);
    return h;
  }

  seal(scope: string, keyId: string, to: Uint8Array): KeyRef {
    const k = this.byId.get(keyId);
    if (!k) throw new Error(`no key ${keyId} for scope ${scope}`);
    return { scope, keyId, sealed: toB64(this.crypto.sealTo(k.key, to)) };
  }

  /** Open a key sealed to us; accepted only if it hashes to the id it claims. */
  open(scope: string, keyId: string, sealed: string): HeldKey | null {
    if (this.byId.has(keyId)) return this.byId.get(keyId)!;
    let c: Uint8Array;
    try {
      c = fromB64(sealed);
    } catch {
      return null;
    }
    const key = this.crypto.openSealed(c, this.me.publicKey, this.me.secretKey);
    if (!key || key.length !== 32 || keyIdOf(this.crypto, key) !== keyId) return null;
    return this.add(scope, key);
  }

  /**
   * File a key we hold under the scope the log names it in. A key's label
   * comes from the applied event that authorises it, never from whichever
   * event happened to carry it first; the client calls this from the state.
   */
  label(keyId: string, scope: string): void {
    const k = this.byId.get(keyId);
    if (k && k.scope !== scope) this.byId.set(keyId, { ...k, scope });
  }

  /** Stop using a key: the event that authorised it is no longer applied. */
  drop(keyId: string): void {
    this.byId.delete(keyId);
  }

  /** The ids of the keys an event seals to us, whatever its verdict (see ingest for which bodies seal). */
  sealedIds(body: Body, author: string): string[] {
    const me = this.meHex;
    switch (body.t) {
      case "genesis":
        // The founder seals the first keys to itself.
        return author === me ? body.keys.map((k) => k.keyId) : [];
      case "role.grant":
        return body.member === me ? body.keys.map((k) => k.keyId) : [];
      case "keys.share":
      case "keys.delegate":
        return body.to === me ? body.keys.map((k) => k.keyId) : [];
      case "keys.rotate":
        return body.sealed[me] ? [body.keyId] : [];
      default:
        return [];
    }
  }

  /** Take whatever keys an APPLIED event seals to us (the client asks only once the fold applied it). Returns the keys newly learnt. */
  ingest(body: Body): HeldKey[] {
    const me = this.meHex;
    const learnt: HeldKey[] = [];
    const take = (refs: KeyRef[]) => {
      for (const r of refs) {
        const had = this.byId.has(r.keyId);
        const h = this.open(r.scope, r.keyId, r.sealed);
        if (h && !had) learnt.push(h);
      }
    };
    switch (body.t) {
      case "genesis":
        take(body.keys);
        break;
      case "role.grant":
        if (body.member === me) take(body.keys);
        break;
      case "keys.share":
      case "keys.delegate":
        if (body.to === me) take(body.keys);
        break;
      case "keys.rotate": {
        const s = body.sealed[me];
        if (s) take([{ scope: body.scope, keyId: body.keyId, sealed: s }]);
        break;
      }
    }
    return learnt;
  }
}
