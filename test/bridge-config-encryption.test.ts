// The `encryption` section of the bridge's config (mautrix's names): defaults,
// errors naming the bad key and value, the combinations refused; and what it
// makes the registration ask of the homeserver.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ConfigErrors, parseConfig } from "../src/bridge/config/config.js";
import { buildRegistration, E2EE_REGISTRATION } from "../src/bridge/registration.js";
import { SYNAPSE_E2EE_FEATURES, homeserverText } from "../src/cli/deploy-files.js";
import { parse } from "yaml";

const key32 = () => randomBytes(32).toString("base64url");

function config(encryption?: unknown): string {
  return stringify({
    homeserver: { url: "http://127.0.0.1:8008", domain: "localhost" },
    appservice: { asToken: key32(), hsToken: key32() },
    relays: ["ws://127.0.0.1:7717"],
    identities: { key: key32() },
    ...(encryption !== undefined ? { encryption } : {}),
  });
}

function errorsOf(text: string): string[] {
  try {
    parseConfig(text, "config.yaml", { env: {} });
  } catch (e) {
    if (e instanceof ConfigErrors) return e.errors.map((x) => `${x.key}: ${x.message}`);
    throw e;
  }
  return [];
}

describe("encryption config", () => {
  it("is on by default: allow true, default and require false", () => {
    expect(parseConfig(config(), "config.yaml", { env: {} }).encryption).toEqual({ allow: true, default: true, require: false, rotation: { messages: 100, hours: 24 } });
  });

  it("takes each switch", () => {
    expect(parseConfig(config({ default: true, require: true }), "config.yaml", { env: {} }).encryption).toEqual({ allow: true, default: true, require: true, rotation: { messages: 100, hours: 24 } });
    expect(parseConfig(config({ allow: false }), "config.yaml", { env: {} }).encryption).toEqual({ allow: false, default: false, require: false, rotation: { messages: 100, hours: 24 } });
  });

  it("names the bad key and value", () => {
    const errs = errorsOf(config({ allow: "yes", requier: true }));
    expect(errs.some((e) => e.startsWith("encryption.allow:") && e.includes('"yes"'))).toBe(true);
    expect(errs.some((e) => e.startsWith("encryption.requier:") && /unknown key/.test(e))).toBe(true);
  });

  it("takes the outbound rotation, and names a value that is not a whole number in range", () => {
    expect(parseConfig(config({ rotation: { messages: 10 } }), "config.yaml", { env: {} }).encryption.rotation).toEqual({ messages: 10, hours: 24 });
    const errs = errorsOf(config({ rotation: { messages: 0, hours: 2.5, days: 1 } }));
    expect(errs.some((e) => e.startsWith("encryption.rotation.messages:") && /whole number from 1 to 10000/.test(e))).toBe(true);
    expect(errs.some((e) => e.startsWith("encryption.rotation.hours:") && e.includes("2.5"))).toBe(true);
    expect(errs.some((e) => e.startsWith("encryption.rotation.days:") && /unknown key/.test(e))).toBe(true);
  });

  it("refuses require or default without allow, naming the key", () => {
    expect(errorsOf(config({ allow: false, require: true })).some((e) => e.startsWith("encryption.require:") && /encryption.allow is false/.test(e))).toBe(true);
    expect(errorsOf(config({ allow: false, default: true })).some((e) => e.startsWith("encryption.default:") && /encryption.allow is false/.test(e))).toBe(true);
  });

  it("a registration asks the homeserver for to-device messages, device lists and its own devices only when allowed", () => {
    const on = buildRegistration(parseConfig(config(), "config.yaml", { env: {} }));
    expect(on).toMatchObject(E2EE_REGISTRATION);
    expect(on["io.element.msc4190"]).toBe(true);
    const off = buildRegistration(parseConfig(config({ allow: false }), "config.yaml", { env: {} }));
    expect(off["org.matrix.msc3202"]).toBeUndefined();
    expect(off.receive_ephemeral).toBeUndefined();
  });

  it("init-deploy's Synapse config switches the features on", () => {
    const hs = parse(homeserverText({ serverName: "matrix.your-org.net" } as never, {} as never)) as { experimental_features?: unknown };
    expect(hs.experimental_features).toEqual(SYNAPSE_E2EE_FEATURES);
  });
});
