// Checks on single config values, wherever in the config they sit, and how a
// value is shown in a message. Apart from the section parsers because
// permissions.ts reads user ids with the same rules at run time, and the
// error messages need showValue without the whole validator.
import { isIP } from "node:net";
import { IDENTITY_KEY_ENV } from "./types.js";

const PLACEHOLDER_WORDS = /(^|[^A-Za-z0-9])(CHANGE[_ -]?ME|REPLACE[_ -]?ME|FILL[_ -]?ME[_ -]?IN|YOUR[_ -]?[A-Z_]+[_ -]?HERE|YOUR[_-]?(DOMAIN|SERVER|HOMESERVER|HOST)|TODO|FIXME)(?=$|[^A-Za-z0-9])/i;
// RFC 2606 / 6761 names reserved for documentation.
const EXAMPLE_DOMAIN = /(^|[.@:/])example\.(com|org|net)(?=$|[:/.?#\s])|(^|\.)example(?=$|[:/])|\.invalid(?=$|[:/])/i;

/** True for values that were obviously meant to be replaced. */
export function isPlaceholder(v: string): boolean {
  if (PLACEHOLDER_WORDS.test(v)) return true;
  if (/<[^<>]*>/.test(v) || /\.\.\./.test(v)) return true;
  return EXAMPLE_DOMAIN.test(v);
}

const DNS_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
export const DNS_NAME = new RegExp(`^${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);

/** A Matrix server name: DNS name, IPv4 or [IPv6], with an optional port. */
export function isServerName(v: string): boolean {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(v);
  if (!m) return false;
  if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535)) return false;
  const host = m[1]!;
  if (host.startsWith("[")) return isIP(host.slice(1, -1)) === 6;
  return (isIP(host) === 4 || DNS_NAME.test(host)) && host.length <= 255;
}

/** Characters allowed in the localparts this bridge creates (Matrix's historical-free grammar). */
export const LOCALPART = /^[a-z0-9._=/+-]+$/;

/** `@localpart:server.name` → [localpart, server name], or undefined. */
export function splitUserId(userId: string): [string, string] | undefined {
  if (!userId.startsWith("@")) return undefined;
  const i = userId.indexOf(":");
  if (i < 2) return undefined;
  const local = userId.slice(1, i);
  const server = userId.slice(i + 1);
  // Localparts of existing users may be historical (uppercase etc.): any printable non-space, no ':'.
  if (!/^[!-9;-~]+$/.test(local) || !isServerName(server)) return undefined;
  return [local, server];
}

/** "*" stays; domains are lowercased; in user ids only the server name is lowercased. */
export function normalisePermissionKey(who: string): string {
  if (who === "*") return who;
  const parts = who.startsWith("@") ? splitUserId(who) : undefined;
  if (parts) return `@${parts[0]}:${parts[1].toLowerCase()}`;
  return who.toLowerCase();
}

export function httpUrl(v: string): URL | undefined {
  try {
    const u = new URL(v);
    if ((u.protocol !== "http:" && u.protocol !== "https:") || u.hostname === "") return undefined;
    if (!/^https?:\/\/[^/]/i.test(v)) return undefined;
    return u;
  } catch {
    return undefined;
  }
}

export function wsUrl(v: string): URL | undefined {
  try {
    const u = new URL(v);
    if ((u.protocol !== "ws:" && u.protocol !== "wss:") || u.hostname === "" || !/^wss?:\/\/[^/]/i.test(v)) return undefined;
    return u;
  } catch {
    return undefined;
  }
}

/** base64url (unpadded, or with "=" padding) of exactly 32 bytes → the bytes, or undefined. */
export function decodeKey32(v: string): Uint8Array | undefined {
  const s = v.trim().replace(/=+$/, "");
  if (!/^[A-Za-z0-9_-]{43}$/.test(s)) return undefined;
  const bytes = Buffer.from(s, "base64url");
  if (bytes.length !== 32 || bytes.toString("base64url") !== s) return undefined;
  return new Uint8Array(bytes);
}

export const KEY_EXPECTED = "a base64url-encoded 32-byte key of 43 characters; make one with: node -e \"console.log(require('crypto').randomBytes(32).toString('base64url'))\"";

const SECRET_KEYS = new Set(["appservice.asToken", "appservice.hsToken", "identities.key", IDENTITY_KEY_ENV]);

/** The value as it appears in a message: secrets are shortened, database passwords hidden, long values cut. */
export function showValue(key: string, value: unknown): string {
  if (typeof value === "string") {
    let v = value;
    if ((SECRET_KEYS.has(key) && v.length > 12 && !isPlaceholder(v))) v = `${v.slice(0, 4)}… (${value.length} characters)`;
    else if (key === "database.url") v = v.replace(/^(postgres(?:ql)?:\/\/[^:/@]*:)([^@]*)@/i, (m, pre: string, pw: string) => (isPlaceholder(pw) ? m : `${pre}***@`));
    if (v.length > 100) v = v.slice(0, 97) + "...";
    return JSON.stringify(v);
  }
  if (value === null) return "null (empty)";
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 100 ? s.slice(0, 97) + "..." : s;
}
