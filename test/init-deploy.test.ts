// `pursuance init-deploy`: a deploy directory the stack starts from, secrets
// made once and never replaced, and bad flags named. (The stack itself runs in
// test/compose-stack.test.ts.)
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseConfig, resolveIdentityKey } from "../src/bridge/config/config.js";
import { parseEnv, SECRET_NAMES } from "../src/cli/deploy-files.js";
import { hostnameOfSecretKeyFile } from "../src/cli/onion-key.js";
import { initDeploy, runInitDeployCommand } from "../src/cli/init-deploy-command.js";

const dirs: string[] = [];
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), "init-deploy-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const quiet = { out: () => {}, err: () => {}, chown: false };
const read = (d: string, f: string) => readFileSync(join(d, f), "utf8");
const opts = { serverName: "matrix.pursuance.test", admin: "@alice:matrix.pursuance.test" };

describe("pursuance init-deploy", () => {
  it("writes a config the bridge accepts with the .env key, a matching registration and Synapse's files, all private", () => {
    const d = fresh();
    const fates = initDeploy(d, opts, quiet);
    expect(fates).toMatchObject({ ".env": "written", "bridge/config.yaml": "written", "synapse/homeserver.yaml": "written", "synapse/signing.key": "written" });
    const env = parseEnv(read(d, ".env"));
    for (const k of SECRET_NAMES) expect(env[k], k).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // The bridge's own check, with the key from .env and not from the file.
    const configText = read(d, "bridge/config.yaml");
    expect(configText).not.toContain(env.PURSUANCE_IDENTITY_KEY);
    const config = parseConfig(configText, "config.yaml", { env: { PURSUANCE_IDENTITY_KEY: env.PURSUANCE_IDENTITY_KEY } });
    expect(Buffer.from(resolveIdentityKey(config, { PURSUANCE_IDENTITY_KEY: env.PURSUANCE_IDENTITY_KEY })).toString("base64url")).toBe(env.PURSUANCE_IDENTITY_KEY);
    expect(config.database.url).toBe(`postgres://pursuance:${env.POSTGRES_PASSWORD}@postgres:5432/pursuance`);
    expect(config.homeserver).toMatchObject({ url: "http://synapse:8008", domain: "matrix.pursuance.test" });
    // Without the key anywhere, the bridge refuses to start, naming what is missing.
    expect(() => parseConfig(configText, "config.yaml", { env: {} })).toThrow(/identities\.key: missing and PURSUANCE_IDENTITY_KEY is not set/);

    const reg = parse(read(d, "synapse/registration.yaml")) as { as_token: string; hs_token: string; url: string };
    expect(reg.as_token).toBe(config.appservice.asToken);
    expect(reg.hs_token).toBe(config.appservice.hsToken);
    expect(reg.url).toBe("http://bridge:9993");

    const hs = parse(read(d, "synapse/homeserver.yaml")) as Record<string, unknown>;
    expect(hs.server_name).toBe("matrix.pursuance.test");
    expect(hs.app_service_config_files).toEqual(["/config/registration.yaml"]);
    expect(hs.registration_shared_secret).toBe(env.SYNAPSE_REGISTRATION_SECRET);
    expect(hs.enable_registration).toBe(false);
    // Private defaults: no guests, and only the bridge's bot lists rooms in the directory.
    expect(hs.allow_guest_access).toBe(false);
    expect(hs.room_list_publication_rules).toEqual([{ user_id: "@_pursuance_bot:matrix.pursuance.test", alias: "*", room_id: "*", action: "allow" }, { action: "deny" }]);
    // The bridge reaches the relay inside the stack; invites carry the onion address of the key made here.
    const onion = hostnameOfSecretKeyFile(readFileSync(join(d, "tor/hs_ed25519_secret_key")));
    expect(config.relays).toEqual(["ws://relay:7717"]);
    expect(config.inviteRelays).toEqual([`ws://${onion}/`]);
    expect(config.permissions).toMatchObject({ "@alice:matrix.pursuance.test": "admin" });
    expect(read(d, "synapse/signing.key")).toMatch(/^ed25519 a_[A-Za-z0-9_-]{4} [A-Za-z0-9+/]{43}\n$/);

    for (const f of [".env", "bridge/config.yaml", "synapse/homeserver.yaml", "synapse/signing.key", "synapse/registration.yaml", "tor/hs_ed25519_secret_key"]) {
      expect((statSync(join(d, f)).mode & 0o077).toString(8), f).toBe("0");
    }
  });

  it("a rerun keeps every secret and file; a .env missing one secret gets only that one", () => {
    const d = fresh();
    initDeploy(d, opts, quiet);
    const files = [".env", "bridge/config.yaml", "synapse/homeserver.yaml", "synapse/signing.key", "synapse/registration.yaml", "tor/hs_ed25519_secret_key"];
    const before = Object.fromEntries(files.map((f) => [f, read(d, f)]));
    const fates = initDeploy(d, { serverName: opts.serverName }, quiet);
    expect(fates).toMatchObject({ ".env": "kept", "bridge/config.yaml": "kept", "synapse/homeserver.yaml": "kept", "synapse/signing.key": "kept", "tor/hs_ed25519_secret_key": "kept" });
    for (const f of files) expect(read(d, f), f).toBe(before[f]);

    const env = parseEnv(before[".env"]!);
    writeFileSync(join(d, ".env"), `# mine\nPOSTGRES_PASSWORD=${env.POSTGRES_PASSWORD}\nPURSUANCE_IDENTITY_KEY=${env.PURSUANCE_IDENTITY_KEY}\n`);
    expect(initDeploy(d, opts, quiet)[".env"]).toBe("updated");
    const after = parseEnv(read(d, ".env"));
    expect(after.POSTGRES_PASSWORD).toBe(env.POSTGRES_PASSWORD);
    expect(after.PURSUANCE_IDENTITY_KEY).toBe(env.PURSUANCE_IDENTITY_KEY);
    expect(after.SYNAPSE_FORM_SECRET).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("bad input exits 2 naming the flag and writes nothing", async () => {
    const d = fresh();
    const cases: [string[], RegExp][] = [
      [[], /DIR is required/],
      [[join(d, "x")], /--server-name is required/],
      [[join(d, "x"), "--server-name", "CHANGE_ME", "--admin", "@a:b.test"], /--server-name: "CHANGE_ME" is not a Matrix server name/],
      // The guide's own example is refused with the reason, not silently.
      [[join(d, "x"), "--server-name", "matrix.example.org", "--admin", "@you:matrix.example.org"], /"matrix\.example\.org" is a placeholder or a name reserved for documentation .*RFC 2606.*use your own domain/],
      [[join(d, "x"), "--server-name", "ok.test"], /--admin is required: the Matrix user .* who may !pursuance create; .*permissions: in .*bridge\/config\.yaml/],
      [[join(d, "x"), "--server-name", "ok.test", "--admin", "@a:ok.test", "--relay-url", "http://relay"], /--relay-url: "http:\/\/relay" is not a ws:\/\/ or wss:\/\/ URL/],
      [[join(d, "x"), "--server-name", "ok.test", "--admin", "alice"], /--admin: "alice" is not a Matrix user id/],
      [[join(d, "x"), "--server-name", "ok.test", "--admin", "@a:ok.test", "--bogus"], /bogus/],
    ];
    for (const [argv, why] of cases) {
      const err: string[] = [];
      expect(await runInitDeployCommand(argv, { out: () => {}, err: (l) => err.push(l), chown: false }), argv.join(" ")).toBe(2);
      expect(err.join("\n")).toMatch(why);
    }
    expect(() => statSync(join(d, "x"))).toThrow();
    const out: string[] = [];
    expect(await runInitDeployCommand(["--help"], { out: (l) => out.push(l), err: () => {} })).toBe(0);
    expect(out.join("\n")).toMatch(/--server-name NAME/);
  });

  it("a rerun with a changed flag applies it to the file that holds it, or refuses naming the file", async () => {
    const d = fresh();
    const run = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runInitDeployCommand([d, ...argv], { out: (l) => out.push(l), err: (l) => err.push(l), chown: false });
      return { code, out: out.join("\n"), err: err.join("\n") };
    };
    const first = await run("--server-name", "matrix.pursuance.test", "--admin", "@alice:matrix.pursuance.test");
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/members outside this server reach the relay at: ws:\/\/[a-z2-7]{56}\.onion\//);
    const secretsBefore = read(d, ".env");
    const config = () => parseConfig(read(d, "bridge/config.yaml"), "config.yaml", { env: { PURSUANCE_IDENTITY_KEY: parseEnv(read(d, ".env")).PURSUANCE_IDENTITY_KEY } });

    // --relay-url: applied to bridge/config.yaml (inviteRelays), the admin's own lines kept.
    writeFileSync(join(d, "bridge/config.yaml"), read(d, "bridge/config.yaml") + "# my own note\n");
    const moved = await run("--relay-url", "wss://relay.pursuance.test");
    expect(moved.code).toBe(0);
    expect(moved.out).toMatch(/updated +.*bridge\/config\.yaml/);
    expect(moved.out).toMatch(/inviteRelays: \["ws:\/\/[a-z2-7]{56}\.onion\/"\] → \["wss:\/\/relay\.pursuance\.test"\]/);
    expect(moved.out).toMatch(/restart bridge/);
    expect(config().inviteRelays).toEqual(["wss://relay.pursuance.test"]);
    expect(config().relays).toEqual(["ws://relay:7717"]);
    expect(read(d, "bridge/config.yaml")).toContain("# my own note");

    // --admin: another admin added under permissions:, the first kept.
    expect((await run("--admin", "@bob:matrix.pursuance.test")).code).toBe(0);
    expect(config().permissions).toMatchObject({ "@alice:matrix.pursuance.test": "admin", "@bob:matrix.pursuance.test": "admin" });
    // The registration still matches the config's tokens, and no secret moved.
    const reg = parse(read(d, "synapse/registration.yaml")) as { as_token: string };
    expect(reg.as_token).toBe(config().appservice.asToken);
    expect(read(d, ".env")).toBe(secretsBefore);

    // The same flags again: nothing to change, said as "kept".
    const same = await run("--relay-url", "wss://relay.pursuance.test");
    expect(same.out).toMatch(/kept +.*bridge\/config\.yaml/);

    // --server-name cannot change: refused, naming the file and why, nothing written.
    const before = read(d, "bridge/config.yaml");
    const renamed = await run("--server-name", "other.pursuance.test");
    expect(renamed.code).toBe(1);
    expect(renamed.err).toMatch(/--server-name other\.pursuance\.test: .*synapse\/homeserver\.yaml was made for matrix\.pursuance\.test \(server_name\).*cannot change/);
    expect(read(d, "bridge/config.yaml")).toBe(before);
  });

  it.runIf(process.getuid?.() === 0)("as root under sudo: the containers' folders to their users, the folder and .env to the admin who ran sudo", () => {
    const d = fresh();
    const saved = { uid: process.env.SUDO_UID, gid: process.env.SUDO_GID };
    process.env.SUDO_UID = "4242";
    process.env.SUDO_GID = "4343";
    try {
      initDeploy(d, opts, { out: () => {}, err: () => {}, chown: true });
    } finally {
      for (const [k, v] of [["SUDO_UID", saved.uid], ["SUDO_GID", saved.gid]] as const) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    const owner = (f: string) => `${statSync(join(d, f)).uid}:${statSync(join(d, f)).gid}`;
    expect(owner(".")).toBe("4242:4343");
    expect(owner(".env")).toBe("4242:4343");
    expect(owner("bridge")).toBe("1000:1000");
    expect(owner("bridge/config.yaml")).toBe("1000:1000");
    expect(owner("synapse/homeserver.yaml")).toBe("991:991");
    expect(owner("tor/hs_ed25519_secret_key")).toBe("0:0");
  });

  const canDropPrivileges = process.getuid?.() === 0 && spawnSync("sh", ["-c", "command -v setpriv"]).status === 0;
  it.runIf(canDropPrivileges)("rerun as the admin without sudo: stops before writing, naming the folder, its owner, and sudo", () => {
    const d = fresh();
    chmodSync(d, 0o755);
    const deploy = join(d, "deploy");
    const sudo = { uid: process.env.SUDO_UID, gid: process.env.SUDO_GID };
    process.env.SUDO_UID = "65534";
    process.env.SUDO_GID = "65534";
    try {
      initDeploy(deploy, opts, { out: () => {}, err: () => {}, chown: true });
    } finally {
      for (const [k, v] of [["SUDO_UID", sudo.uid], ["SUDO_GID", sudo.gid]] as const) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    const before = readFileSync(join(deploy, "bridge", "config.yaml"), "utf8");
    const bin = new URL("../bin/pursuance.js", import.meta.url).pathname;
    const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "env", "HOME=/tmp", process.execPath, bin, "init-deploy", deploy, "--relay-url", "wss://relay.pursuance.test"], { encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/cannot read .*deploy\/bridge \(it belongs to uid 1000, the bridge container's user, mode 700\): run init-deploy as root \(sudo\)/);
    expect(readFileSync(join(deploy, "bridge", "config.yaml"), "utf8")).toBe(before);
  });
});
