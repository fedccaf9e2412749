// A member's key fingerprint in a form people read aloud or compare on paper:
// 40 decimal digits in 8 groups of 5, as Signal's safety numbers are written.
// Derived from the member's public signing key (its id) alone, with a domain
// tag, so every client and every person computes the same digits; each group
// is 5 bytes of BLAKE2b read big-endian, mod 100000 (≈ 16.6 bits a group,
// ≈ 133 bits in all: far past what an impostor could grind to match).
import { concat, fromHex, utf8 } from "../cwtch/bytes.js";
import type { Crypto } from "../cwtch/crypto.js";
import type { Hex } from "./events.js";

const DOMAIN = utf8.encode("pursuance/fingerprint/v1");
const GROUPS = 8;

export function fingerprint(crypto: Crypto, member: Hex): string {
  const h = crypto.hash(concat(DOMAIN, fromHex(member)), GROUPS * 5);
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let n = 0;
    for (let i = 0; i < 5; i++) n = n * 256 + h[g * 5 + i]!;
    groups.push(String(n % 100_000).padStart(5, "0"));
  }
  return groups.join(" ");
}

/** What a person typed, as the digits only: spaces, dashes and line breaks do not matter. */
export function normaliseFingerprint(typed: string): string {
  return typed.replace(/[\s\-_.]/g, "");
}

/** The canonical written form of typed digits, or null when they are not 40 digits. */
export function writtenFingerprint(typed: string): string | null {
  const d = normaliseFingerprint(typed);
  if (!/^[0-9]{40}$/.test(d)) return null;
  return d.match(/.{5}/g)!.join(" ");
}
