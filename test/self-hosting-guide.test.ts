// docs/self-hosting.md, checked without Docker (the compose test runs its
// blocks for real): the blocks it runs exist, every docker-compose command in
// the guide gives --env-file (docker-compose.yml refuses to run without the
// database password), every file the backup writes is made under umask 077,
// and the SOCKS5 stand-in the compose test uses for Tor carries a real relay
// client to a relay by its onion name and refuses every other address.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { socksStandIn } from "../harness/socks-standin.js";
import { loadCrypto } from "../src/cwtch/crypto.js";
import { RelayClient } from "../src/cwtch/relay-client.js";
import { startRelay } from "../src/cwtch/relay-server.js";

const ROOT = new URL("..", import.meta.url).pathname;
const guide = readFileSync(join(ROOT, "docs", "self-hosting.md"), "utf8");
const shBlocks = [...guide.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
const marked = new Map([...guide.matchAll(/<!-- guide: ([a-z-]+)[^>]*-->\n```sh\n([\s\S]*?)```/g)].map((m) => [m[1]!, m[2]!]));

describe("the self-hosting guide", () => {
  it("marks, in order, every block the compose test runs", () => {
    expect([...marked.keys()]).toEqual(["local-images", "init", "ps", "register", "onion", "stop-start", "upgrade", "backup", "restore"]);
  });

  it("gives --env-file deploy/.env to every docker-compose command, in blocks and in the text", () => {
    const commands = [...guide.matchAll(/docker-compose (?:-|up|run|exec|ps|stop|start|down|logs|restart|pull|build|create)[^\n`]*/g)].map((m) => m[0]);
    expect(commands.length).toBeGreaterThan(20);
    const bare = commands.filter((c) => !/^docker-compose --env-file deploy\/\.env( |$)/.test(c));
    expect(bare).toEqual([]);
  });

  it("writes every backup file under umask 077 (tar in the containers too) and restores onto the volumes it backed up", () => {
    const backup = marked.get("backup")!;
    expect(backup.split("\n")[0]).toMatch(/^umask 077 /);
    const tars = backup.split("\n").filter((l) => l.includes("tar "));
    expect(tars.length).toBe(4);
    for (const t of tars.filter((l) => l.includes("docker-compose"))) expect(t).toContain("'umask 077 && tar ");
    const archives = [...backup.matchAll(/\/backup\/(\w+\.tgz)|backup\/(deploy\.tgz)/g)].map((m) => m[1] ?? m[2]).sort();
    const restore = marked.get("restore")!;
    const restored = [...restore.matchAll(/\/backup\/(\w+\.tgz)|backup\/(deploy\.tgz)/g)].map((m) => m[1] ?? m[2]).sort();
    expect(restored).toEqual(archives);
    expect(archives).toEqual(["deploy.tgz", "pgdata.tgz", "synapse.tgz", "tor.tgz"]);
  });

  it("has no sh block that runs init-deploy without sudo (its files belong to the containers' users)", () => {
    for (const b of shBlocks) for (const l of b.split("\n").filter((x) => x.includes("init-deploy"))) expect(l, l).toMatch(/^sudo npx pursuance init-deploy /);
  });
});

describe("the SOCKS5 stand-in for Tor (compose test)", () => {
  it("carries a relay client to the relay by its onion name, and refuses other addresses", async () => {
    const relay = await startRelay({ port: 0, host: "127.0.0.1" });
    const onion = `${"a".repeat(56)}.onion`;
    const socks = await socksStandIn(onion, { host: "127.0.0.1", port: relay.port });
    const crypto = await loadCrypto();
    const ok = new RelayClient({ url: `ws://${onion}/`, crypto, socksProxy: socks.url }).start();
    const other = new RelayClient({ url: `ws://${"b".repeat(56)}.onion/`, crypto, socksProxy: socks.url, helloTimeoutMs: 1000 }).start();
    try {
      const hello = await ok.ready();
      expect(hello.op).toBe("hello");
      await new Promise((r) => setTimeout(r, 500));
      expect(other.connected).toBe(false);
      expect(socks.asked).toContain(`${onion}:80`);
      expect(socks.asked).toContain(`${"b".repeat(56)}.onion:80`);
    } finally {
      ok.close();
      other.close();
      await socks.close();
      await relay.close();
    }
  });
});
