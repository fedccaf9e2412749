// Where a backup passphrase comes from: a file (--passphrase-file), the
// environment (PURSUANCE_BACKUP_PASSPHRASE), or a prompt on the terminal
// without echo. Never a command-line argument: those show in `ps`.
import { readFileSync } from "node:fs";
import { UsageError } from "./usage.js";

export const PASSPHRASE_ENV = "PURSUANCE_BACKUP_PASSPHRASE";
const MIN_LENGTH = 8;

export interface PassphraseSource {
  file?: string;
  env?: Record<string, string | undefined>;
  /** Backup asks twice and enforces a minimum length; restore asks once. */
  confirm: boolean;
}

export async function readPassphrase(src: PassphraseSource): Promise<string> {
  const env = src.env ?? process.env;
  let p: string;
  if (src.file !== undefined) {
    try {
      // One trailing newline is the editor's, not the passphrase's.
      p = readFileSync(src.file, "utf8").replace(/\r?\n$/, "");
    } catch (e) {
      throw new UsageError(`--passphrase-file: cannot read ${src.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  } else if (env[PASSPHRASE_ENV] !== undefined && env[PASSPHRASE_ENV] !== "") p = env[PASSPHRASE_ENV]!;
  else if (process.stdin.isTTY) {
    p = await prompt("Backup passphrase: ");
    if (src.confirm && (await prompt("Again: ")) !== p) throw new UsageError("the two passphrases differ");
  } else throw new UsageError(`no passphrase: give --passphrase-file FILE or set ${PASSPHRASE_ENV} (a passphrase is never taken as an argument)`);
  if (p === "") throw new UsageError("the passphrase is empty");
  if (src.confirm && p.length < MIN_LENGTH) throw new UsageError(`the passphrase is ${p.length} characters; use at least ${MIN_LENGTH}`);
  return p;
}

/** Read a line from the terminal with echo off. */
function prompt(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let s = "";
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(s);
    };
    const onData = (d: Buffer) => {
      for (const ch of d.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new UsageError("interrupted"));
        if (ch === "\u007f" || ch === "\b") s = s.slice(0, -1);
        else s += ch;
      }
    };
    stdin.on("data", onData);
  });
}
