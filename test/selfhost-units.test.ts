// Issue 24's small parts, without Docker: the onion key init-deploy makes is
// one Tor accepts (the address matches what Tor derives; the compose test sees
// Tor write the same hostname), invites from the bridge carry the published
// relay addresses, and `client join --relay` overrides an invite's relays.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/bridge/config/config.js";
import { relaysForInvite } from "../src/bridge/invite-relays.js";
import { withRelays } from "../src/cli/client-command.js";
import { hostnameOfSecretKeyFile, newOnionKey, OnionKeyError, onionAddress } from "../src/cli/onion-key.js";
import { UsageError } from "../src/cli/usage.js";
import type { Invite } from "../src/pursuance/invite.js";

describe("the relay's onion key", () => {
  it("gives a v3 address whose checksum and version byte check, and the same address from Tor's key file alone", () => {
    const k = newOnionKey(Buffer.alloc(32, 7));
    expect(k.hostname).toMatch(/^[a-z2-7]{56}\.onion$/);
    expect(k.secretKeyFile.length).toBe(96);
    expect(k.secretKeyFile.subarray(0, 29).toString("latin1")).toBe("== ed25519v1-secret: type0 ==");
    // The scalar half is clamped as Tor keeps it.
    expect(k.secretKeyFile[32]! & 7).toBe(0);
    expect(k.secretKeyFile[63]! & 0xc0).toBe(0x40);
    expect(hostnameOfSecretKeyFile(k.secretKeyFile)).toBe(k.hostname);
    expect(newOnionKey().hostname).not.toBe(k.hostname);
  });

  it("matches the published address of a known key (the Tor Project's own onion service)", () => {
    // 2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion: www.torproject.org; its first 32 bytes are the key.
    const known = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid";
    const raw = Buffer.from(base32Decode(known));
    expect(onionAddress(raw.subarray(0, 32))).toBe(`${known}.onion`);
  });

  it("refuses what is not a key, naming it", () => {
    expect(() => onionAddress(Buffer.alloc(31))).toThrow(OnionKeyError);
    expect(() => hostnameOfSecretKeyFile(Buffer.alloc(96))).toThrow(/not a Tor hs_ed25519_secret_key file/);
  });
});

function base32Decode(s: string): number[] {
  const abc = "abcdefghijklmnopqrstuvwxyz234567";
  let bits = 0;
  let acc = 0;
  const out: number[] = [];
  for (const ch of s) {
    acc = (acc << 5) | abc.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out.push((acc >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return out;
}

describe("relays in invites printed for members outside the host", () => {
  const own = ["ws://relay:7717"];
  const onion = ["ws://abc.onion/"];
  it("puts the published addresses in place of the host's own", () => {
    expect(relaysForInvite(["ws://relay:7717"], own, onion)).toEqual(onion);
    expect(relaysForInvite(["ws://relay:7717", "wss://other.test"], own, onion)).toEqual(["ws://abc.onion/", "wss://other.test"]);
  });
  it("leaves a pursuance on other hosts' relays, and everything when nothing is published, as it is", () => {
    expect(relaysForInvite(["wss://other.test"], own, onion)).toEqual(["wss://other.test"]);
    expect(relaysForInvite(["ws://relay:7717"], own, undefined)).toEqual(["ws://relay:7717"]);
  });
  it("is a config key the bridge checks like relays", () => {
    const base = `homeserver: {url: "http://synapse:8008", domain: hs.test}\nappservice: {asToken: ${"a".repeat(32)}, hsToken: ${"b".repeat(32)}}\ndatabase: {url: "postgres://u:p@h/db"}\nidentities: {custodial: true, key: ${Buffer.alloc(32, 1).toString("base64url")}}\nrelays: ["ws://relay:7717"]\n`;
    expect(parseConfig(base + `inviteRelays: ["ws://${"a".repeat(56)}.onion/"]\n`, "c.yaml", { env: {} }).inviteRelays).toEqual([`ws://${"a".repeat(56)}.onion/`]);
    expect(parseConfig(base, "c.yaml", { env: {} }).inviteRelays).toBeUndefined();
    expect(() => parseConfig(base + `inviteRelays: ["http://x"]\n`, "c.yaml", { env: {} })).toThrow(/inviteRelays\[0\]/);
  });
});

describe("client join --relay", () => {
  const invite = { v: 2, relays: ["ws://relay:7717"] } as unknown as Invite;
  it("replaces the invite's relays, and keeps them without the flag", () => {
    expect(withRelays(invite, ["ws://127.0.0.1:7717", "ws://127.0.0.1:7717"]).relays).toEqual(["ws://127.0.0.1:7717"]);
    expect(withRelays(invite, []).relays).toEqual(["ws://relay:7717"]);
  });
  it("names a URL that is not one", () => {
    expect(() => withRelays(invite, ["relay:7717"])).toThrow(UsageError);
    expect(() => withRelays(invite, ["relay:7717"])).toThrow(/--relay: "relay:7717" is not a ws:\/\/ or wss:\/\/ URL/);
  });
});
