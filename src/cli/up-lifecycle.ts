// Processes `pursuance up` owns and how they end: its own pid in DIR/up.pid
// (so `pursuance down` and the next `up` can find it), Synapse's in
// DIR/synapse/synapse.pid (written by scripts/synapse.sh). Every stop is
// bounded: SIGTERM, then SIGKILL when the grace runs out.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

export const upPidFile = (home: string) => join(home, "up.pid");
export const synapseDir = (home: string) => join(home, "synapse");
export const synapsePidFile = (home: string) => join(synapseDir(home), "synapse.pid");

export function readPid(path: string): number | null {
  if (!existsSync(path)) return null;
  const n = Number(readFileSync(path, "utf8").trim());
  return Number.isInteger(n) && n > 0 ? n : null;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether `pid` is still the program we think (pids are reused): its command line names it. */
export function runs(pid: number, needle: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(needle);
  } catch {
    // No /proc (not Linux): trust the pid file.
    return alive(pid);
  }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. Resolves when the process is gone (or after the kill). */
export async function stopPid(pid: number, graceMs: number): Promise<void> {
  if (!alive(pid)) return;
  signal(pid, "SIGTERM");
  const end = Date.now() + graceMs;
  while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  if (!alive(pid)) return;
  signal(pid, "SIGKILL");
  const hard = Date.now() + 2_000;
  while (alive(pid) && Date.now() < hard) await new Promise((r) => setTimeout(r, 20));
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** The Synapse this data dir started, if it still runs. */
export function runningSynapse(home: string): number | null {
  const pid = readPid(synapsePidFile(home));
  return pid !== null && alive(pid) && runs(pid, "synapse") ? pid : null;
}

/** Stop this data dir's Synapse, if it runs, within `graceMs` (then SIGKILL). */
export async function stopSynapse(home: string, graceMs: number): Promise<number | null> {
  const pid = runningSynapse(home);
  if (pid !== null) await stopPid(pid, graceMs);
  rmSync(synapsePidFile(home), { force: true });
  return pid;
}

/** The `up` running for this data dir, other than this process. */
export function runningUp(home: string): number | null {
  const pid = readPid(upPidFile(home));
  return pid !== null && pid !== process.pid && alive(pid) && runs(pid, "up") ? pid : null;
}
