// Run the real CLI as a separate process, as a user would.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/pursuance.js", import.meta.url));

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    const t = setTimeout(() => {
      p.kill("SIGKILL");
      reject(new Error(`pursuance ${args.join(" ")} timed out after ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    p.on("close", (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Run and require success; returns trimmed stdout. */
export async function ok(args: string[]): Promise<string> {
  const r = await run(args);
  if (r.code !== 0) throw new Error(`pursuance ${args.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout.trim();
}

/** Start `pursuance relay --port 0`; resolves with its ws URL once it listens. */
export function startRelayProcess(extra: string[] = []): Promise<{ url: string; proc: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, "relay", "--port", "0", ...extra], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const onData = (d: Buffer) => {
      out += d;
      const m = /relay listening on (ws:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, proc });
    };
    proc.stdout.on("data", onData);
    proc.stderr.on("data", (d) => (out += d));
    proc.on("exit", (code) => reject(new Error(`relay exited ${code}: ${out}`)));
    setTimeout(() => reject(new Error(`relay did not start: ${out}`)), 20_000);
  });
}

export interface CliProcess {
  proc: ChildProcess;
  /** Resolves when it exits, with everything it printed. */
  done: Promise<RunResult>;
  stdout(): string;
  stderr(): string;
  /** Wait until stderr matches (a progress line); throws with what it printed if it exits or the time runs out first. */
  waitStderr(re: RegExp, timeoutMs?: number): Promise<void>;
}

/** Start the CLI and leave it running (a join or request that waits for a member), as a user would. Kill it in a finally. */
export function startCli(args: string[]): CliProcess {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  proc.stdout!.on("data", (d) => (stdout += d));
  proc.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<RunResult>((res) => proc.on("close", (code) => res({ code: code ?? -1, stdout, stderr })));
  return {
    proc,
    done,
    stdout: () => stdout,
    stderr: () => stderr,
    async waitStderr(re, timeoutMs = 30_000) {
      const t0 = Date.now();
      while (!re.test(stderr)) {
        if (proc.exitCode !== null || Date.now() - t0 > timeoutMs) throw new Error(`pursuance ${args.join(" ")}: no ${re} on stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}
