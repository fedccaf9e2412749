// `pursuance verify-announcement FILE|-`: check a copied announcement (a room
// message's body or content, a feed entry, an exported file) from its bytes,
// with no account and no trust in whoever served it.
// `pursuance announcements export DIR`: the announcements of the member's
// pursuance as static files (index.html, feed.atom, one signed file each) that
// any web host can serve.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadCrypto } from "../cwtch/crypto.js";
import { findCopies, keyInGroups, ProofFormatError, publicAnnouncements, verifyAnnouncement, type Copy, type Expect } from "../pursuance/announcement-proof.js";
import { atomFeed, exportIndex } from "../bridge/announce/render.js";
import { COMMON_HELP, parse, stdio, withClient, type Io } from "./client-context.js";
import { UsageError } from "./usage.js";

const VERIFY_HELP = `Usage: pursuance verify-announcement FILE|- [--pursuance ID] [--founder KEY] [--json]

Checks every announcement in FILE (or stdin): the text block from a Matrix
message, the message's JSON, an Atom feed or entry, or a file from
'pursuance announcements export', or a profile from 'pursuance client
profile export'. Each gets one verdict:
  VALID     well signed, in the pursuance named, shown as signed, and its role
            chain gives the announcer 'announce' (as of the chain's last event:
            a later removal cannot be seen from a copy)
  UNPROVEN  genuine, but nothing in the copy shows the right to announce
  ALTERED   genuine, but the text the copy shows is not the signed text
  INVALID   a forged, changed or foreign part
Exit 0 only if every one is VALID.

Options:
  --pursuance ID   the pursuance id you trust (from its members, its website…)
  --founder KEY    the founding key you trust (hex)
  --json           the verdicts as a JSON array, one object per announcement

Example:
  pursuance verify-announcement copied.txt --pursuance 3f9a1c…
`;

const HEX64 = /^[0-9a-fA-F]{64}$/;

export async function runVerifyAnnouncement(argv: string[], io: Io = stdio, stdin: () => string = () => readFileSync(0, "utf8")): Promise<number> {
  let values: { pursuance?: string; founder?: string; json?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: { pursuance: { type: "string" }, founder: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true }));
    if (values.help) return io.out(VERIFY_HELP), 0;
    if (positionals.length !== 1) throw new UsageError("give one FILE, or - for stdin");
    for (const [flag, v] of [["--pursuance", values.pursuance], ["--founder", values.founder]] as const) {
      if (v !== undefined && !HEX64.test(v)) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not 64 hex characters`);
    }
  } catch (e) {
    io.err(`pursuance verify-announcement: ${(e as Error).message}\n${VERIFY_HELP}`);
    return 2;
  }
  const file = positionals[0]!;
  let text: string;
  try {
    text = file === "-" ? stdin() : readFileSync(file, "utf8");
  } catch (e) {
    io.err(`pursuance verify-announcement: cannot read ${file}: ${(e as Error).message}`);
    return 2;
  }
  let proofs: Copy[];
  try {
    proofs = findCopies(text);
  } catch (e) {
    if (!(e instanceof ProofFormatError)) throw e;
    io.err(`✘ ${e.message}`);
    return 1;
  }
  const expect: Expect = { ...(values.pursuance ? { pursuanceId: values.pursuance.toLowerCase() } : {}), ...(values.founder ? { founderKey: values.founder.toLowerCase() } : {}) };
  const crypto = await loadCrypto();
  const verdicts = proofs.map((c) => ({ proof: c.proof, ...verifyAnnouncement(crypto, c.proof, expect, c.shown) }));
  if (values.json) {
    io.out(JSON.stringify(verdicts.map(({ proof, ...v }) => ({ pursuance: proof.pursuance, announcer: proof.announcer, ...v })), null, 2));
  } else {
    verdicts.forEach((v, i) => {
      if (verdicts.length > 1) io.out(`— announcement ${i + 1} of ${verdicts.length}`);
      io.out(v.headline);
      if (v.ok) io.out("  a later removal cannot be seen from a copy: this says who held the right as of that event, not that they still do");
      else io.out("  do not trust this copy");
      if (v.diff.length > 0) {
        io.out("  signed (-) and shown (+):");
        for (const d of v.diff) io.out(`    ${d}`);
      }
      if (v.text !== null) io.out(`  signed text: ${JSON.stringify(v.text)}`);
      io.out(`  announcer: ${keyInGroups(v.proof.announcer)}`);
      io.out(`  pursuance: ${v.proof.pursuance}`);
      if (v.ts !== null) io.out(`  signed at (the author's claim): ${new Date(v.ts).toISOString()}`);
      io.out("Checked:");
      for (const c of v.checks) io.out(`  ${c.ok ? "✔" : "✘"} ${c.what}: ${c.detail}`);
      io.out("Not checked (a copy alone cannot show it):");
      for (const n of v.notChecked) io.out(`  – ${n}`);
    });
  }
  return verdicts.every((v) => v.ok) ? 0 : 1;
}

const EXPORT_HELP = `Usage: pursuance announcements export DIR [options]

Writes the announcements of the pursuance in --home to DIR: index.html,
feed.atom and <event id>.json (each a signed event with its proof), for any
static web host. Readers check a file with 'pursuance verify-announcement'.

Options: the common options below

${COMMON_HELP}

Example:
  pursuance announcements export ./site --home ~/ada
`;

export async function runAnnouncementsCommand(argv: string[], io: Io = stdio): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "export") {
    (sub === "--help" || sub === "-h" ? io.out : io.err)(EXPORT_HELP);
    return sub === "--help" || sub === "-h" ? 0 : 2;
  }
  let p;
  try {
    p = parse(rest);
    if (p.values.help) return io.out(EXPORT_HELP), 0;
    if (p.positionals.length !== 1) throw new UsageError("give the DIR to write to");
  } catch (e) {
    io.err(`pursuance announcements export: ${(e as Error).message}`);
    return 2;
  }
  const dir = p.positionals[0]!;
  const n = await withClient(p, io, async (c) => {
    const list = publicAnnouncements(c.state, c.id, (id) => c.session.log.get(id), undefined, c.fold.applied);
    mkdirSync(dir, { recursive: true });
    for (const a of list) writeFileSync(join(dir, `${a.id}.json`), JSON.stringify({ ...a.proof, text: a.text, ts: a.ts, authorName: a.authorName }, null, 2) + "\n");
    writeFileSync(join(dir, "feed.atom"), atomFeed(c.id, c.state.name, list, null));
    writeFileSync(join(dir, "index.html"), exportIndex(c.id, c.state.name, list));
    return list.length;
  });
  io.out(`wrote ${n} announcement${n === 1 ? "" : "s"} to ${dir} (index.html, feed.atom, one .json each)`);
  return 0;
}
