// The relay CLI as a real process: `node bin/pursuance.js relay …`.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { TestClient } from "./helpers/ws-client.js";

const BIN = fileURLToPath(new URL("../bin/pursuance.js", import.meta.url));
const children: ChildProcess[] = [];

function run(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((res) =>
    child.on("exit", (code, signal) => setImmediate(() => res({ code, signal, stdout, stderr }))),
  );
  const line = (re: RegExp, ms = 15_000) =>
    new Promise<RegExpExecArray>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no ${re} in ${ms} ms; stdout=${stdout} stderr=${stderr}`)), ms);
      const check = () => {
        const m = re.exec(stdout);
        if (m) (clearTimeout(t), res(m));
      };
      child.stdout!.on("data", check);
      check();
    });
  return { child, exited, line };
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

describe("pursuance relay (CLI)", () => {
  it("--help documents every flag with its default", async () => {
    const r = await run(["relay", "--help"]).exited;
    expect(r.code).toBe(0);
    for (const flag of ["--host", "--port", "--store", "--max-messages", "--max-bytes", "--max-age", "--pow-bits", "--help"]) {
      expect(r.stdout).toContain(flag);
    }
    for (const dflt of ["127.0.0.1", "default memory", "default 100000", "default 256MiB", "default 7d", "default 0"]) expect(r.stdout).toContain(dflt);
    const top = await run(["--help"]).exited;
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/relay\s+run an untrusted relay/);
  });

  it("exits 2 naming a bad flag or a bad value", async () => {
    const cases: [string[], RegExp][] = [
      [["relay", "--frobnicate"], /--frobnicate/],
      [["relay", "--port", "70000"], /--port.*"70000"/],
      [["relay", "--max-age", "7 fortnights"], /--max-age.*"7 fortnights"/],
      [["relay", "--max-bytes", "lots"], /--max-bytes.*"lots"/],
      [["relay", "--pow-bits", "-3"], /--pow-bits/],
      [["relay", "--store", "mysql://x"], /--store.*"mysql:\/\/x"/],
      [["relay", "stray"], /stray/],
      [["nosuchcommand"], /unknown command "nosuchcommand"/],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args).exited));
    results.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(" ")).toBe(2);
      expect(r.stderr, cases[i]![0].join(" ")).toMatch(cases[i]![1]);
    });
  });

  it("starts, serves healthz and the protocol, and exits 0 on SIGTERM", async () => {
    const p = run(["relay", "--port", "0", "--max-messages", "2", "--max-bytes", "64KiB", "--max-age", "15m", "--pow-bits", "0"]);
    const [, ws, http] = await p.line(/relay listening on (ws:\/\/\S+) \(health (http:\/\/\S+)\/healthz/);
    const c = await TestClient.connect(ws!);
    for (const s of ["a", "b", "c"]) expect((await c.post("cli", Buffer.from(s))).op).toBe("posted");
    const health = await (await fetch(`${http}/healthz`)).json();
    expect(health).toEqual({ ok: true, frames: 2, bytes: 8, oldest: 2, latest: 3 });
    c.ws.terminate();
    const t0 = Date.now();
    p.child.kill("SIGTERM");
    const r = await p.exited;
    expect(r).toMatchObject({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
