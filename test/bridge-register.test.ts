// `pursuance register`: the registration it writes (exclusive namespaces,
// rate_limited false, fresh tokens), the tokens written back into the config
// with its comments kept, both files 0600; the CLI as a real process; and a
// real Synapse that loads the registration and honours it.
import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppServiceRegistration } from "matrix-appservice-bridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ConfigErrors, loadConfig, parseConfig } from "../src/bridge/config/config.js";
import { buildRegistration, writeRegistration, type AppserviceRegistration } from "../src/bridge/registration.js";
import { run } from "./helpers/cli.js";
import { SYNAPSE_HOOK_TIMEOUT_MS, startSynapse, type SynapseHandle } from "../harness/synapse.js";

const dir = mkdtempSync(join(tmpdir(), "pursuance-register-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A config with comments everywhere a user might put them. */
function commentedConfig(extra = ""): string {
  return `# My bridge. Top comment.
homeserver:
  url: http://127.0.0.1:8008 # where Synapse listens
  # the server name
  domain: localhost

appservice:
  # keep the default id
  id: pursuance
  port: 9993 # the listener
${extra}
# relays comment
relays:
  - ws://127.0.0.1:7717 # local relay

# trailing comment
`;
}

const mode = (p: string) => statSync(p).mode & 0o777;
let n = 0;
function files(text: string): { cfg: string; reg: string } {
  n++;
  const cfg = join(dir, `config-${n}.yaml`);
  writeFileSync(cfg, text, { mode: 0o644 });
  chmodSync(cfg, 0o644);
  return { cfg, reg: join(dir, `registration-${n}.yaml`) };
}

describe("buildRegistration", () => {
  it("exclusive, escaped namespaces; rate limiting off; fresh tokens when absent", () => {
    const config = parseConfig(
      `homeserver: {url: "http://hs:8008", domain: "my-server.org:8448"}\nrelays: [ws://r.net]\nappservice: {userPrefix: "p.x+", aliasPrefix: "a_"}\n`,
      "config.yaml",
      { purpose: "register", env: {} },
    );
    const r = buildRegistration(config, { url: "http://bridge:9993/" });
    expect(r).toMatchObject({ id: "pursuance", url: "http://bridge:9993", sender_localpart: "_pursuance_bot", rate_limited: false });
    expect(r.namespaces).toEqual({
      users: [{ exclusive: true, regex: "@p\\.x\\+.*:my\\-server\\.org:8448" }],
      aliases: [{ exclusive: true, regex: "#a_.*:my\\-server\\.org:8448" }],
      rooms: [],
    });
    const users = new RegExp(r.namespaces.users[0]!.regex);
    expect(users.test("@p.x+ghost:my-server.org:8448")).toBe(true);
    expect(users.test("@pAx+ghost:my-server.org:8448")).toBe(false); // "." escaped
    expect(users.test("@p.x+ghost:myXserver.org:8448")).toBe(false);
    expect(r.as_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(r.hs_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(r.as_token).not.toBe(r.hs_token);
    expect(buildRegistration(config).as_token).not.toBe(r.as_token);
    expect(buildRegistration(config).url).toBe("http://127.0.0.1:9993");
  });

  it("is accepted by matrix-appservice-bridge's AppServiceRegistration", () => {
    const config = parseConfig(`homeserver: {url: "http://hs:8008", domain: localhost}\nrelays: [ws://r.net]\n`, "c.yaml", { purpose: "register", env: {} });
    const r = buildRegistration(config);
    const parsed = AppServiceRegistration.fromObject(r as unknown as Parameters<typeof AppServiceRegistration.fromObject>[0]);
    expect(parsed.getAppServiceToken()).toBe(r.as_token);
    expect(parsed.getHomeserverToken()).toBe(r.hs_token);
    expect(parsed.getSenderLocalpart()).toBe("_pursuance_bot");
    expect(parsed.isRateLimited()).toBe(false);
    expect(parsed.isUserMatch("@_pursuance_abc:localhost", true)).toBe(true);
    expect(parsed.isUserMatch("@alice:localhost", false)).toBe(false);
    expect(parsed.isAliasMatch("#_pursuance_room:localhost", true)).toBe(true);
  });
});

describe("writeRegistration", () => {
  it("writes the registration and the same tokens into the config, comments kept, both 0600", () => {
    const text = commentedConfig();
    const { cfg, reg } = files(text);
    const result = writeRegistration(cfg, reg, { url: "http://127.0.0.1:29993" });
    expect(result.generatedTokens).toBe(true);
    expect(result.wroteUrl).toBe(true);

    const written = parse(readFileSync(reg, "utf8")) as AppserviceRegistration;
    expect(written).toEqual(result.registration);
    expect(written).toMatchObject({ id: "pursuance", url: "http://127.0.0.1:29993", sender_localpart: "_pursuance_bot", rate_limited: false });
    expect(written.namespaces.users).toEqual([{ exclusive: true, regex: "@_pursuance_.*:localhost" }]);
    expect(written.namespaces.aliases).toEqual([{ exclusive: true, regex: "#_pursuance_.*:localhost" }]);
    expect(written.namespaces.rooms).toEqual([]);

    const config = loadConfig(cfg, { purpose: "register", env: {} });
    expect(config.appservice.asToken).toBe(written.as_token);
    expect(config.appservice.hsToken).toBe(written.hs_token);
    expect(config.appservice.url).toBe("http://127.0.0.1:29993");

    // Every original line is still there, in order: only the new keys were added.
    const after = readFileSync(cfg, "utf8");
    const afterLines = after.split("\n");
    let j = 0;
    for (const line of text.split("\n")) {
      while (j < afterLines.length && afterLines[j] !== line) j++;
      expect(j, `line ${JSON.stringify(line)} kept in order`).toBeLessThan(afterLines.length);
      j++;
    }
    expect(afterLines.length - text.split("\n").length).toBe(3);
    for (const c of ["# My bridge. Top comment.", "# where Synapse listens", "# the server name", "# keep the default id", "# the listener", "# relays comment", "# local relay", "# trailing comment"]) {
      expect(after).toContain(c);
    }

    expect(mode(cfg)).toBe(0o600);
    expect(mode(reg)).toBe(0o600);
    // No temp files left behind.
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("re-running keeps the tokens; newTokens replaces them", () => {
    const { cfg, reg } = files(commentedConfig());
    const first = writeRegistration(cfg, reg);
    const text1 = readFileSync(cfg, "utf8");
    const second = writeRegistration(cfg, reg);
    expect(second.generatedTokens).toBe(false);
    expect(second.registration.as_token).toBe(first.registration.as_token);
    expect(second.registration.hs_token).toBe(first.registration.hs_token);
    expect(readFileSync(cfg, "utf8")).toBe(text1);
    const third = writeRegistration(cfg, reg, { newTokens: true });
    expect(third.generatedTokens).toBe(true);
    expect(third.registration.as_token).not.toBe(first.registration.as_token);
    expect(loadConfig(cfg, { purpose: "register", env: {} }).appservice.asToken).toBe(third.registration.as_token);
    expect((parse(readFileSync(reg, "utf8")) as AppserviceRegistration).as_token).toBe(third.registration.as_token);
  });

  it("placeholder tokens (uncommented from the sample) are replaced, not kept", () => {
    const { cfg, reg } = files(commentedConfig("  asToken: CHANGE_ME\n  hsToken: CHANGE_ME\n"));
    const r = writeRegistration(cfg, reg);
    expect(r.generatedTokens).toBe(true);
    expect(readFileSync(cfg, "utf8")).not.toContain("CHANGE_ME");
    expect(readFileSync(cfg, "utf8")).toContain(`asToken: ${r.registration.as_token}`);
  });

  it("an empty appservice section gets one; its comment is kept", () => {
    const text = "homeserver: {url: 'http://127.0.0.1:8008', domain: localhost}\nrelays: [ws://r.net]\n# the appservice\nappservice: # defaults please\n";
    const { cfg, reg } = files(text);
    const r = writeRegistration(cfg, reg);
    const after = readFileSync(cfg, "utf8");
    expect(after).toContain("# the appservice");
    expect(loadConfig(cfg, { purpose: "register", env: {} }).appservice.hsToken).toBe(r.registration.hs_token);
  });

  it("an invalid config writes nothing and names every problem", () => {
    const text = "homeserver: {url: 'htp://x', domain: CHANGE_ME}\nrelays: []\n";
    const { cfg, reg } = files(text);
    expect(() => writeRegistration(cfg, reg)).toThrow(ConfigErrors);
    try {
      writeRegistration(cfg, reg);
    } catch (e) {
      expect((e as ConfigErrors).errors.map((x) => x.key)).toEqual(["homeserver.url", "homeserver.domain", "relays"]);
    }
    expect(existsSync(reg)).toBe(false);
    expect(readFileSync(cfg, "utf8")).toBe(text);
    expect(mode(cfg)).toBe(0o644);
  });
});

describe("pursuance register (CLI, real process)", () => {
  it("writes both files; --help documents every flag; bad flags exit 2; a bad config exits 1", async () => {
    const { cfg, reg } = files(commentedConfig());
    const bad = files("homeserver: {url: 'http://127.0.0.1:8008'}\nrelays: [ws://r.net]\n");
    const [ok, help, unknown, badUrl, badConfig] = await Promise.all([
      run(["register", "-c", cfg, "-f", reg, "-u", "http://127.0.0.1:29994"]),
      run(["register", "--help"]),
      run(["register", "--frobnicate"]),
      run(["register", "-c", cfg, "-f", join(dir, "never.yaml"), "-u", "htp:/x"]),
      run(["register", "-c", bad.cfg, "-f", bad.reg]),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`wrote ${reg}`);
    expect(ok.stdout).toContain("exclusive users:   @_pursuance_.*:localhost");
    expect(ok.stdout).toMatch(/stored new tokens in .* and appservice\.url = http:\/\/127\.0\.0\.1:29994/);
    const written = parse(readFileSync(reg, "utf8")) as AppserviceRegistration;
    expect(written.url).toBe("http://127.0.0.1:29994");
    expect(loadConfig(cfg, { purpose: "register", env: {} }).appservice.asToken).toBe(written.as_token);
    expect(mode(cfg)).toBe(0o600);
    expect(mode(reg)).toBe(0o600);

    expect(help.code).toBe(0);
    for (const f of ["-c, --config", "-f, --file", "-u, --url", "--new-tokens", "-h, --help", "default config.yaml", "default registration.yaml", "0600"]) {
      expect(help.stdout).toContain(f);
    }
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--frobnicate/);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/--url: bad value "htp:\/x"/);
    expect(existsSync(join(dir, "never.yaml"))).toBe(false);
    expect(badConfig.code).toBe(1);
    expect(badConfig.stderr).toMatch(/homeserver\.domain: missing; expected a server name/);
    expect(existsSync(bad.reg)).toBe(false);
  }, 120_000);
});

describe("a real Synapse loads the registration", () => {
  let hs: SynapseHandle | undefined;
  let main: AppserviceRegistration;
  let other: AppserviceRegistration;

  beforeAll(async () => {
    // Two bridges' registrations, both written by `pursuance register` as a real process.
    // The second uses a prefix without a leading "_": Synapse refuses ordinary
    // users whose localpart starts with "_" anyway, so only there does a refusal
    // prove the namespace's exclusivity.
    const a = files(commentedConfig());
    const b = files(commentedConfig().replace("id: pursuance", "id: pursuance-two\n  userPrefix: ptwo_\n  aliasPrefix: ptwo_\n  botLocalpart: ptwo_bot").replace("port: 9993", "port: 9994"));
    const [ra, rb] = await Promise.all([run(["register", "-c", a.cfg, "-f", a.reg]), run(["register", "-c", b.cfg, "-f", b.reg])]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    main = parse(readFileSync(a.reg, "utf8")) as AppserviceRegistration;
    other = parse(readFileSync(b.reg, "utf8")) as AppserviceRegistration;
    hs = await startSynapse({ appserviceRegistrations: [a.reg, b.reg] });
  }, SYNAPSE_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await hs?.stop();
  }, 60_000);

  async function cs(token: string | undefined, method: string, path: string, body?: unknown) {
    const res = await fetch(`${hs!.baseUrl}/_matrix/client/v3${path}`, {
      method,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown> };
  }

  it("the as_token is the bot: whoami returns @<botLocalpart>:<domain>", async () => {
    const me = await cs(main.as_token, "GET", "/account/whoami");
    expect(me.status, JSON.stringify(me.body)).toBe(200);
    expect(me.body.user_id).toBe("@_pursuance_bot:localhost");
    const two = await cs(other.as_token, "GET", "/account/whoami");
    expect(two.body.user_id).toBe("@ptwo_bot:localhost");
    // The hs_token is not a client token.
    expect((await cs(main.hs_token, "GET", "/account/whoami")).status).toBe(401);
  });

  it("the appservice registers users in its namespace, and only there", async () => {
    // inhibit_login: the registration opts in to MSC4190 (end-to-bridge encryption), where the
    // appservice makes its users' devices itself and /register must not make one.
    const reg = await cs(main.as_token, "POST", "/register", { type: "m.login.application_service", username: "_pursuance_x", inhibit_login: true });
    expect(reg.status, JSON.stringify(reg.body)).toBe(200);
    expect(reg.body.user_id).toBe("@_pursuance_x:localhost");
    // It can act as that ghost user (?user_id=).
    const asGhost = await cs(main.as_token, "GET", `/account/whoami?user_id=${encodeURIComponent("@_pursuance_x:localhost")}`);
    expect(asGhost.body.user_id).toBe("@_pursuance_x:localhost");

    const outside = await cs(main.as_token, "POST", "/register", { type: "m.login.application_service", username: "alice_outside", inhibit_login: true });
    expect(outside.status).toBe(400);
    expect(outside.body.errcode).toBe("M_EXCLUSIVE");
    const othersSpace = await cs(main.as_token, "POST", "/register", { type: "m.login.application_service", username: "ptwo_x", inhibit_login: true });
    expect(othersSpace.status).toBe(400);
    expect(othersSpace.body.errcode).toBe("M_EXCLUSIVE");
  });

  it("an ordinary user cannot register in an exclusive namespace", async () => {
    // Control: an ordinary name registers fine through the same admin API.
    const ordinary = await hs!.registerUser(`plain${randomUUID().slice(0, 8)}`, "pw");
    expect(ordinary.userId).toMatch(/^@plain/);
    await expect(hs!.registerUser("ptwo_squatter", "pw")).rejects.toThrow(/M_EXCLUSIVE|reserved by an application service/);
    await expect(hs!.registerUser("_pursuance_squatter", "pw")).rejects.toThrow(/HTTP 400/);
  });

  it("aliases in the namespace belong to the appservice alone", async () => {
    const alice = await hs!.registerUser(`alice${randomUUID().slice(0, 8)}`, "pw");
    const room = await cs(alice.accessToken, "POST", "/createRoom", { preset: "private_chat" });
    expect(room.status).toBe(200);
    const roomId = room.body.room_id as string;
    const squat = await cs(alice.accessToken, "PUT", `/directory/room/${encodeURIComponent("#_pursuance_squat:localhost")}`, { room_id: roomId });
    expect(squat.status).toBe(400);
    expect(squat.body.errcode).toBe("M_EXCLUSIVE");
    const mine = await cs(alice.accessToken, "PUT", `/directory/room/${encodeURIComponent(`#plain${randomUUID().slice(0, 8)}:localhost`)}`, { room_id: roomId });
    expect(mine.status).toBe(200);

    const botRoom = await cs(main.as_token, "POST", "/createRoom", { preset: "private_chat" });
    expect(botRoom.status, JSON.stringify(botRoom.body)).toBe(200);
    const botAlias = await cs(main.as_token, "PUT", `/directory/room/${encodeURIComponent("#_pursuance_room:localhost")}`, { room_id: botRoom.body.room_id });
    expect(botAlias.status, JSON.stringify(botAlias.body)).toBe(200);
  });
});
