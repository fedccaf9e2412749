// A private Tor network on loopback, built from Debian's `tor` and
// `tor-gencert` (the layout of Chutney's "hs" networks, written out by hand):
// directory authorities that are also relays, a few more relays, one tor
// publishing onion services, and client tors whose SOCKS ports reach them.
//
//   const net = await startTorNet({ services: [{ port: 80, target: relayPort }], clients: 2 });
//   // ws://${net.onion}  through  socks5h://127.0.0.1:${net.socksPorts[0]}
//   await net.stop();
//
// Every tor is started with __OwningControllerProcess (it exits when this
// process dies, even by SIGKILL), killed on this process's exit and on
// SIGINT/SIGTERM, and stop() kills them all and removes the temp dir.
// Nothing here reaches beyond 127.0.0.1.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./synapse.js";
import { newnym, socksConnectCode } from "./tor-wire.js";

export { socksConnectCode } from "./tor-wire.js";

export interface TorNetOptions {
  /** Onion-service ports: virtual port → a TCP port on 127.0.0.1. All on one onion address. */
  services: Array<{ port: number; target: number }>;
  /** Client tors, each with its own SOCKS port. Default 1. */
  clients?: number;
  /** Directory authorities (each is also a relay). Default 3. */
  authorities?: number;
  /** Plain (non-exit) relays besides the authorities. Default 3. */
  relays?: number;
  /** Give up after this long (bootstrap + descriptor upload + reachability). Default 180 s. */
  timeoutMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface TorNet {
  dir: string;
  /** The onion service's host name, `<56 chars>.onion`. */
  onion: string;
  /** One SOCKS port on 127.0.0.1 per client tor. */
  socksPorts: number[];
  /** Ask client tor `i` for fresh circuits and to forget failed onion lookups (SIGNAL NEWNYM). */
  newnym(i: number): Promise<void>;
  /** Wait until client tor `i` opens a stream to the onion (NEWNYM between tries), as a user would retry. */
  reach(i: number, timeoutMs?: number): Promise<void>;
  /** The last lines of every tor's notice log, for error reports. */
  logTails(lines?: number): string;
  /** Kill every tor this network started and remove its directory. Safe to call twice. */
  stop(): Promise<void>;
}

export class TorNetError extends Error {
  constructor(
    message: string,
    readonly logs: string,
    /** A tor died while the network was starting (a port taken, say): worth one more start. */
    readonly earlyExit = false,
  ) {
    super(`${message}\n${logs}`);
    this.name = "TorNetError";
  }
}

/** Why tor cannot run here, or undefined when `tor` and `tor-gencert` are both on PATH. */
export function torUnavailable(): string | undefined {
  for (const [bin, args] of [["tor", ["--version"]], ["tor-gencert", ["--help"]]] as const) {
    try {
      execFileSync(bin, args, { stdio: "pipe", timeout: 10_000 });
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { status?: number };
      // tor-gencert --help exits 1 after printing usage: present all the same.
      if (err.code === "ENOENT") return `${bin} is not installed (apt-get install -y tor)`;
      if (bin === "tor") return `tor --version failed: ${err.message}`;
    }
  }
  return undefined;
}

// Every tor of every network this process started, for the exit and signal hooks.
const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let hooked = false;

/** Remove a tor's tree even while a dying tor still writes into it; never throws. */
function removeDir(d: string): void {
  try {
    rmSync(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  } catch {
    // Left behind in tmpdir; nothing to do from an exit hook.
  }
}

function killAll(): void {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  live.clear();
  for (const d of dirs) removeDir(d);
  dirs.clear();
}

function installHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      killAll();
      // Nobody else listening: die of the signal as we would have without the hook.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

// Chutney's common.i + authority.i, for tor 0.4.x: fast votes, every flag
// voted for everyone, no reachability tests, no bandwidth thresholds.
const COMMON = (dataDir: string, nick: string) => [
  "TestingTorNetwork 1",
  `DataDirectory ${dataDir}`,
  `Nickname ${nick}`,
  "RunAsDaemon 0",
  `__OwningControllerProcess ${process.pid}`,
  "ShutdownWaitLength 0",
  "SafeLogging 0",
  "LogTimeGranularity 1",
  `Log notice file ${join(dataDir, "notice.log")}`,
  "PathsNeededToBuildCircuits 0.67",
  "TestingDirAuthVoteExit *",
  "TestingDirAuthVoteGuard *",
  "TestingDirAuthVoteHSDir *",
  "V3AuthNIntervalsValid 2",
  "TestingMinExitFlagThreshold 0",
  "AssumeReachable 1",
  "SocksPort 0",
  "ControlPort 0",
  "DisableDebuggerAttachment 0",
];

interface Node {
  nick: string;
  dir: string;
  torrc: string[];
  proc?: ChildProcess;
}

function tail(file: string, n: number): string {
  if (!existsSync(file)) return "(no log)";
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-n).join("\n");
}

/** The relay identity fingerprint tor makes for a data directory (creating its keys). */
function fingerprint(dataDir: string): string {
  execFileSync("tor", ["--list-fingerprint", "--DataDirectory", dataDir, "--ORPort", "1", "--DirAuthority", "placeholder 127.0.0.1:1 ffffffffffffffffffffffffffffffffffffffff", "--Log", "err stderr"], { stdio: "pipe", timeout: 30_000 });
  return readFileSync(join(dataDir, "fingerprint"), "utf8").trim().split(/\s+/)[1]!;
}

/** Authority keys by tor-gencert (empty passphrase); returns the v3 identity fingerprint. */
function authorityKeys(dataDir: string, dirPort: number): string {
  const keys = join(dataDir, "keys");
  mkdirSync(keys, { recursive: true });
  execFileSync("tor-gencert", ["--create-identity-key", "--passphrase-fd", "0", "-m", "12", "-a", `127.0.0.1:${dirPort}`, "-i", join(keys, "authority_identity_key"), "-s", join(keys, "authority_signing_key"), "-c", join(keys, "authority_certificate")], { input: "\n", stdio: ["pipe", "pipe", "pipe"], timeout: 60_000 });
  const m = /^fingerprint ([0-9A-F]{40})$/m.exec(readFileSync(join(keys, "authority_certificate"), "utf8"));
  if (!m) throw new Error(`tor-gencert wrote no fingerprint in ${keys}/authority_certificate`);
  return m[1]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Start the network; when a tor exits during start-up (most often a port that
 * freePort handed out was taken by another process before tor bound it), the
 * whole network is torn down and started again on fresh ports, up to 3 times.
 */
export async function startTorNet(opts: TorNetOptions): Promise<TorNet> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTorNetOnce(opts);
    } catch (e) {
      if (!(e instanceof TorNetError && e.earlyExit) || attempt >= 3) throw e;
      opts.log?.(`start-up attempt ${attempt} failed (${e.message.split("\n")[0]}); again on fresh ports`);
    }
  }
}

async function startTorNetOnce(opts: TorNetOptions): Promise<TorNet> {
  const why = torUnavailable();
  if (why) throw new Error(why);
  installHooks();
  const log = opts.log ?? (() => {});
  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  const root = mkdtempSync(join(tmpdir(), "pursuance-tor-"));
  dirs.add(root);
  const nodes: Node[] = [];
  const stderrOf = new Map<Node, string>();
  const logTails = (n = 15) => nodes.map((x) => `--- ${x.nick} (${x.dir}/notice.log)\n${tail(join(x.dir, "notice.log"), n)}`).join("\n");
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(
      nodes.map(
        (x) =>
          new Promise<void>((res) => {
            const p = x.proc;
            if (!p || p.exitCode !== null || p.signalCode !== null) return res();
            p.once("exit", () => res());
            p.kill("SIGTERM");
            setTimeout(() => (p.kill("SIGKILL"), res()), 5000).unref();
          }),
      ),
    );
    for (const x of nodes) if (x.proc) live.delete(x.proc);
    removeDir(root);
    dirs.delete(root);
  };

  try {
    const node = (nick: string): Node => {
      const dir = join(root, nick);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const n: Node = { nick, dir, torrc: COMMON(dir, nick) };
      nodes.push(n);
      return n;
    };
    const relayLines = async (n: Node, auth: boolean) => {
      const or = await freePort();
      const dirPort = await freePort();
      n.torrc.push(`Address 127.0.0.1`, `ORPort 127.0.0.1:${or} IPv4Only`, `DirPort 127.0.0.1:${dirPort}`, "ExitRelay 0", "ExitPolicy reject *:*", `ContactInfo ${n.nick}@test.invalid`);
      if (auth) n.torrc.push("AuthoritativeDirectory 1", "V3AuthoritativeDirectory 1", "TestingV3AuthInitialVotingInterval 5", "TestingV3AuthInitialVoteDelay 2", "TestingV3AuthInitialDistDelay 2", "TestingV3AuthVotingStartOffset 0", "V3AuthVotingInterval 10", "V3AuthVoteDelay 2", "V3AuthDistDelay 2");
      return { or, dirPort };
    };

    // Authorities first: everyone's torrc names them.
    const dirAuthorities: string[] = [];
    for (let i = 0; i < (opts.authorities ?? 3); i++) {
      const n = node(`auth${i}`);
      const { or, dirPort } = await relayLines(n, true);
      const v3 = authorityKeys(n.dir, dirPort);
      const fp = fingerprint(n.dir);
      dirAuthorities.push(`DirAuthority ${n.nick} orport=${or} no-v2 v3ident=${v3} 127.0.0.1:${dirPort} ${fp}`);
    }
    for (let i = 0; i < (opts.relays ?? 3); i++) await relayLines(node(`relay${i}`), false);
    const hs = node("hs");
    const hsDir = join(hs.dir, "hidden_service");
    hs.torrc.push(`HiddenServiceDir ${hsDir}`, "HiddenServiceVersion 3", ...opts.services.map((s) => `HiddenServicePort ${s.port} 127.0.0.1:${s.target}`), `Log info file ${join(hs.dir, "info.log")}`);
    const socksPorts: number[] = [];
    const controlPorts: number[] = [];
    for (let i = 0; i < (opts.clients ?? 1); i++) {
      const n = node(`client${i}`);
      const port = await freePort();
      const control = await freePort();
      socksPorts.push(port);
      controlPorts.push(control);
      // A control port (loopback, no auth: a throwaway network) only to send NEWNYM.
      n.torrc = n.torrc.filter((l) => l !== "SocksPort 0" && l !== "ControlPort 0");
      n.torrc.push(`ControlPort 127.0.0.1:${control}`);
      // ExtendedErrors: onion failures answer 0xF0-0xF7 (no descriptor, bad address, …), not a bare 0x04.
      n.torrc.push(`SocksPort 127.0.0.1:${port} ExtendedErrors`, "FetchDirInfoEarly 1", "FetchDirInfoExtraEarly 1", "FetchUselessDescriptors 1");
    }

    for (const n of nodes) {
      n.torrc.push(...dirAuthorities);
      writeFileSync(join(n.dir, "torrc"), n.torrc.join("\n") + "\n");
      const p = spawn("tor", ["-f", join(n.dir, "torrc"), "--defaults-torrc", "/dev/null"], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      // Before its log file is open, tor reports (a port it cannot bind, say) on stdout.
      const keep = (d: Buffer) => {
        stderr = (stderr + d).slice(-4000);
        stderrOf.set(n, stderr);
      };
      p.stdout!.on("data", keep);
      p.stderr!.on("data", keep);
      p.on("exit", (code, sig) => {
        live.delete(p);
        if (!stopped) log(`tor ${n.nick} exited early (${code ?? sig}): ${stderr}`);
      });
      n.proc = p;
      live.add(p);
    }
    log(`tor network: ${nodes.length} tors in ${root}`);

    const check = (what: string) => {
      const dead = nodes.find((x) => x.proc!.exitCode !== null || x.proc!.signalCode !== null);
      if (dead) throw new TorNetError(`tor ${dead.nick} exited (${dead.proc!.exitCode ?? dead.proc!.signalCode}) while waiting for ${what}: ${stderrOf.get(dead) ?? ""}`, logTails(), true);
      if (Date.now() > deadline) throw new TorNetError(`tor network: timed out waiting for ${what}`, logTails());
    };
    const waitLog = async (n: Node, file: string, re: RegExp, what: string) => {
      const f = join(n.dir, file);
      while (!(existsSync(f) && re.test(readFileSync(f, "utf8")))) {
        check(`${n.nick}: ${what}`);
        await sleep(500);
      }
      log(`${n.nick}: ${what} (${Math.round((Date.now() - t0) / 1000)} s)`);
    };
    // One CONNECT through client tor `i` to the onion's first port, retried
    // until tor answers 0. A lookup that found no descriptor is not retried by
    // tor for 15 minutes, and the test network's time period (one shared-random
    // run: 24 votes, a few minutes) rotates the HSDirs under a running test;
    // NEWNYM forgets failed lookups and circuits.
    const reachable = async (i: number, giveUp: (what: string) => void) => {
      const port = socksPorts[i]!;
      const target = opts.services[0]!.port;
      for (;;) {
        giveUp(`a circuit to ${onion}:${target} via SOCKS ${port}`);
        const code = await socksConnectCode(port, onion, target).catch(() => -1);
        if (code === 0) return;
        log(`SOCKS ${port} → ${onion}: reply 0x${code.toString(16)}; NEWNYM and retry`);
        await newnym(controlPorts[i]!).catch((e: Error) => log(`NEWNYM failed: ${e.message}`));
        await sleep(2000);
      }
    };
    let onion = "";
    const t0 = Date.now();
    for (const n of nodes.filter((x) => x.nick.startsWith("client"))) await waitLog(n, "notice.log", /Bootstrapped 100%/, "bootstrapped");
    await waitLog(hs, "info.log", /Uploading hidden service descriptor: finished with status 200/, "onion descriptor uploaded");
    onion = readFileSync(join(hsDir, "hostname"), "utf8").trim();

    // The descriptor is on at least one HSDir; make sure every client really gets through.
    for (const i of socksPorts.keys()) await reachable(i, check);
    log(`tor network ready in ${Math.round((Date.now() - t0) / 1000)} s: ${onion}, SOCKS ${socksPorts.join(", ")}`);
    const reach = async (i: number, timeoutMs = 120_000) => {
      const until = Date.now() + timeoutMs;
      await reachable(i, (what) => {
        if (Date.now() > until) throw new TorNetError(`tor network: no ${what} within ${timeoutMs / 1000} s`, logTails());
      });
    };
    return { dir: root, onion, socksPorts, newnym: (i) => newnym(controlPorts[i]!), reach, logTails, stop };
  } catch (e) {
    const logs = logTails(40);
    await stop();
    if (e instanceof TorNetError) throw e;
    throw new TorNetError(`tor network failed: ${(e as Error).message}`, logs);
  }
}
