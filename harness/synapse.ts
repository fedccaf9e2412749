// A real Synapse homeserver for tests, driven through scripts/synapse.sh.
//
//   const hs = await startSynapse({ appserviceRegistrations: [regPath] });
//   const alice = await hs.registerUser("alice", "pw");
//   ... fetch(`${hs.baseUrl}/_matrix/client/v3/...`) ...
//   await hs.stop();
//
// The first call installs Synapse into .synapse/venv (about a minute, needs
// PyPI); later calls reuse it (the install check takes ~2 s). Starting takes
// ~2-3 s. Give the hook that calls startSynapse a long timeout
// (SYNAPSE_HOOK_TIMEOUT_MS).
import { execFile } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Generous timeout for a beforeAll that may have to install Synapse first. */
export const SYNAPSE_HOOK_TIMEOUT_MS = 10 * 60_000;

export const SYNAPSE_SCRIPT = fileURLToPath(new URL("../scripts/synapse.sh", import.meta.url));

export interface StartSynapseOptions {
  /** Server directory (config, SQLite db, logs). Default: a fresh temp dir, removed by stop(). */
  dir?: string;
  /** HTTP port on 127.0.0.1. Default: a free port. */
  port?: number;
  /** Application-service registration YAML files to load. */
  appserviceRegistrations?: string[];
  /** Default "localhost". */
  serverName?: string;
  /** Use SQLite ':memory:' instead of DIR/homeserver.db. */
  inMemoryDb?: boolean;
  /** Federate over loopback on this TLS port (give serverName "localhost:<port>"); see scripts/synapse.sh setup. */
  federationPort?: number;
}

export interface SynapseUser {
  userId: string;
  accessToken: string;
  deviceId: string | null;
}

export interface SynapseHandle {
  /** e.g. http://127.0.0.1:40123 (no trailing slash). */
  baseUrl: string;
  serverName: string;
  dir: string;
  /** Create a user through the shared-secret admin API. */
  registerUser(localpart: string, password: string, admin?: boolean): Promise<SynapseUser>;
  /** Stop the server (SIGTERM, SIGKILL after 10 s). Safe to call twice. */
  stop(): Promise<void>;
}

interface RunResult {
  stdout: string;
  stderr: string;
}

function runScript(args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      "bash",
      [SYNAPSE_SCRIPT, ...args],
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: process.env, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(
              `scripts/synapse.sh ${args.join(" ")} failed: ${error.message}\n` +
                `--- stderr ---\n${stderr.slice(-8000)}\n--- stdout ---\n${stdout.slice(-2000)}`,
            ),
          );
          return;
        }
        resolvePromise({ stdout, stderr });
      },
    );
  });
}

let installPromise: Promise<void> | undefined;

/** Install Synapse if needed (once per process; the script itself is idempotent and locked). */
export function ensureSynapseInstalled(): Promise<void> {
  installPromise ??= runScript(["install"], SYNAPSE_HOOK_TIMEOUT_MS).then(
    () => undefined,
    (err: unknown) => {
      installPromise = undefined;
      throw err;
    },
  );
  return installPromise;
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") {
        srv.close();
        reject(new Error("could not determine a free port"));
        return;
      }
      const { port } = addr;
      srv.close(() => resolvePromise(port));
    });
  });
}

// Servers started by this process, killed on exit if a test forgot stop().
const running = new Map<string, number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of running.values()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

export async function startSynapse(opts: StartSynapseOptions = {}): Promise<SynapseHandle> {
  await ensureSynapseInstalled();

  const ownDir = opts.dir === undefined;
  const dir = resolve(opts.dir ?? (await mkdtemp(join(tmpdir(), "pursuance-synapse-"))));

  // A free port can be taken between our probe and Synapse's bind: retry a few times.
  const attempts = opts.port === undefined ? 3 : 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = opts.port ?? (await freePort());
    const setupArgs = ["setup", dir, "--port", String(port)];
    if (opts.serverName !== undefined) setupArgs.push("--server-name", opts.serverName);
    for (const reg of opts.appserviceRegistrations ?? []) setupArgs.push("--appservice", resolve(reg));
    if (opts.inMemoryDb) setupArgs.push("--in-memory-db");
    if (opts.federationPort !== undefined) setupArgs.push("--federation-port", String(opts.federationPort));
    await runScript(setupArgs, 60_000);
    try {
      const { stdout } = await runScript(["start", dir], 180_000);
      const baseUrl = stdout.trim().split("\n").pop() ?? "";
      if (!baseUrl.startsWith("http://")) throw new Error(`unexpected output from start: ${stdout}`);
      return makeHandle(dir, baseUrl, ownDir);
    } catch (err) {
      lastError = err;
      const portTaken = /Failed to listen|Address already in use|already answers/.test(String(err));
      if (!portTaken) break;
    }
  }
  throw lastError;
}

function makeHandle(dir: string, baseUrl: string, ownDir: boolean): SynapseHandle {
  const serverName = readFileSync(join(dir, "server_name"), "utf8").trim();
  const pidFile = join(dir, "synapse.pid");
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    if (Number.isInteger(pid) && pid > 0) {
      running.set(dir, pid);
      installExitHook();
    }
  }
  let stopped = false;
  return {
    baseUrl,
    serverName,
    dir,
    async registerUser(localpart: string, password: string, admin = false): Promise<SynapseUser> {
      const args = ["register-user", dir, localpart, password];
      if (admin) args.push("--admin");
      const { stdout } = await runScript(args, 60_000);
      const parsed = JSON.parse(stdout.trim()) as {
        user_id: string;
        access_token: string;
        device_id?: string | null;
      };
      return { userId: parsed.user_id, accessToken: parsed.access_token, deviceId: parsed.device_id ?? null };
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      await runScript(["stop", dir], 60_000);
      running.delete(dir);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
