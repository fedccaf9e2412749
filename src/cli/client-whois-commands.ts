// `pursuance client whois [NAME] | whois verify NAME <fingerprint> | whois link
// @you:server`: who is who, from the log every member holds. Fingerprints to
// compare aloud or on paper; a vouch is a signed event every member sees. The
// CLI cannot see a Matrix account's confirmation (only the bridge can), so it
// flags a changed key by name only and never judges between Matrix claims.
import type { PursuanceClient } from "../pursuance/client/client.js";
import { changedLine } from "../bot/whois-commands.js";
import { claimHistory, membersLinkedTo, whois, type WhoisRow } from "../pursuance/identity.js";
import { LookupError, memberName } from "../pursuance/views.js";
import type { SubCommand } from "./client-context.js";
import { arg, withClient } from "./client-context.js";
import { UsageError } from "./usage.js";
import { resolveMember } from "../usecases/spellings.js";
import { clientEnv } from "../usecases/env.js";
import { linkMatrix, parseFingerprint, verifyMemberKey } from "../usecases/identity.js";

const MATRIX_ID = /^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-:[\]]+$/;

function target(c: PursuanceClient, ref: string): string {
  if (ref.startsWith("@") && ref.includes(":")) {
    const linked = membersLinkedTo(c.state, ref);
    // Several keys claim it and the CLI cannot tell which one that account confirmed: refuse to pick.
    if (linked.length > 1) throw new LookupError(`${linked.length} keys claim ${ref} (${linked.map((m) => memberName(c.state, m)).join(", ")}); only the bridge can tell which one that account confirmed: ask !whois ${ref} there, or name the member`, ref);
    if (linked[0]) return linked[0];
  }
  return resolveMember({ client: c }, ref);
}

function describe(c: PursuanceClient, row: WhoisRow): Record<string, unknown> {
  return {
    member: row.member,
    name: row.name,
    roles: row.roles,
    fingerprint: row.fingerprint,
    matrix: row.matrix,
    verifiedBy: row.verifiedBy.map((v) => memberName(c.state, v)),
    changed: row.changed,
    you: row.member === c.me,
  };
}

export const WHOIS_COMMANDS: Record<string, SubCommand> = {
  whois: {
    usage: 'whois [NAME|@matrix:id|ID] | whois verify NAME "<fingerprint>" | whois link @you:server | whois unlink',
    summary: "a member's key fingerprint (compare it aloud or on paper), Matrix link and who verified it; vouch for a key; link yours to your Matrix id",
    async run(p, io) {
      const first = p.positionals[0];
      if (first === "verify") return verifyMember({ ...p, positionals: p.positionals.slice(1) }, io);
      if (first === "link" || first === "unlink") {
        const matrix = first === "link" ? arg(p, 1, "your Matrix id (@you:server)") : "";
        if (matrix !== "" && !MATRIX_ID.test(matrix)) throw new UsageError(`${JSON.stringify(matrix)} is not a Matrix user id (@you:server)`);
        await withClient(p, io, async (c) => {
          await linkMatrix(clientEnv(c), { matrix });
          io.out(matrix ? `linked your key to ${matrix} in the log; now, as ${matrix}, say in a bridged room: !whois confirm ${memberName(c.state, c.me)}` : "unlinked your Matrix id");
        });
        return;
      }
      await withClient(p, io, async (c) => {
        const history = claimHistory(c.fold.applied);
        const ids = first ? [target(c, first)] : [...c.state.members.keys()].sort((a, b) => memberName(c.state, a).localeCompare(memberName(c.state, b)));
        const rows = ids.map((m) => whois(c.crypto, c.state, history, m));
        if (p.values.json) return io.out(JSON.stringify(rows.map((r) => describe(c, r))));
        for (const r of rows) {
          io.out(`${r.name}${r.member === c.me ? " (you)" : ""} — ${r.roles.join(", ") || "no role"}`);
          io.out(`  fingerprint: ${r.fingerprint}`);
          io.out(`  key:         ${r.member}`);
          io.out(`  Matrix:      ${r.matrix ? `${r.matrix} (linked by this key; only the bridge can check that account confirmed it)` : "none linked"}`);
          io.out(`  verified by: ${r.verifiedBy.length ? r.verifiedBy.map((v) => memberName(c.state, v)).join(", ") : "no member yet"}`);
          for (const ch of r.changed) io.out(`  ${changedLine(ch)}`);
        }
      });
    },
  },
};

/** `client whois verify NAME <digits…>`: publish a member.verify once the digits match that member's key. */
export async function verifyMember(p: Parameters<SubCommand["run"]>[0], io: Parameters<SubCommand["run"]>[1]): Promise<void> {
  const ref = arg(p, 0, "the member to verify");
  const fingerprint = parseFingerprint(p.positionals.slice(1).join(" "), "'whois'");
  await withClient(p, io, async (c) => {
    const { name } = await verifyMemberKey(clientEnv(c), { member: target(c, ref), fingerprint });
    io.out(`verified ${name}'s key (signed in the log: every member sees who vouched for it)`);
  });
}
