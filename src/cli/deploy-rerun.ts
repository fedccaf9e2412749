// `init-deploy` run again on an existing deploy directory: every flag given is
// applied to the files that hold it, or refused naming the file and why. A
// rerun used to keep the old config without a word, so an admin who fixed
// --relay-url found invites still carrying the old address.
//
//   --relay-url  → bridge/config.yaml inviteRelays (what invites carry)
//   --admin      → bridge/config.yaml permissions (that user: admin)
//   --server-name → refused when it differs: every Matrix user id and room
//                  carries the name, so it cannot change under a live server.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseDocument } from "yaml";

/** A flag that cannot be applied to an existing deploy directory; names the file and why. */
export class DeployRerunError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = "DeployRerunError";
  }
}

/** Flags given on a rerun; absent: not given, keep what the files say. */
export interface RerunFlags {
  serverName?: string;
  relayUrl?: string;
  admin?: string;
}

export interface RerunPlan {
  /** The new text of bridge/config.yaml, when a flag changes it. */
  configText?: string;
  /** One line per change, for the admin ("inviteRelays: [a] → [b]"). */
  changes: string[];
}

/** The server name an existing deploy directory was made for (synapse/homeserver.yaml), if readable. */
export function existingServerName(dir: string): string | undefined {
  try {
    const hs = parse(readFileSync(join(dir, "synapse", "homeserver.yaml"), "utf8")) as { server_name?: unknown } | null;
    return typeof hs?.server_name === "string" ? hs.server_name : undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/**
 * What the flags change in `configText` (bridge/config.yaml), comments and
 * the admin's own edits kept. Throws DeployRerunError for a flag that cannot apply.
 */
export function planRerun(dirArg: string, configText: string, hsServerName: string | undefined, f: RerunFlags): RerunPlan {
  const configFile = join(dirArg, "bridge", "config.yaml");
  if (f.serverName !== undefined && hsServerName !== undefined && f.serverName !== hsServerName) {
    throw new DeployRerunError(
      `--server-name ${f.serverName}: ${join(dirArg, "synapse", "homeserver.yaml")} was made for ${hsServerName} (server_name), and so was ${configFile} (homeserver.domain). ` +
        `A Matrix server name cannot change once the server has run: every user id and room carries it. ` +
        `To start over under ${f.serverName}, take the stack down with its volumes (docker-compose --env-file ${join(dirArg, ".env")} down -v, after a backup), move ${dirArg} aside and run init-deploy again.`,
      join(dirArg, "synapse", "homeserver.yaml"),
    );
  }
  const doc = parseDocument(configText);
  if (doc.errors.length > 0) throw new DeployRerunError(`${configFile} is not valid YAML (${doc.errors[0]!.message.split("\n")[0]}): fix it by hand, then run init-deploy again`, configFile);
  const changes: string[] = [];
  if (f.relayUrl !== undefined) {
    const had = doc.get("inviteRelays");
    const before = had && typeof had === "object" && "toJSON" in had ? ((had as { toJSON(): unknown }).toJSON() as unknown) : had;
    const want = [f.relayUrl];
    if (JSON.stringify(before) !== JSON.stringify(want)) {
      doc.set("inviteRelays", want);
      changes.push(`inviteRelays: ${before === undefined ? "(none)" : JSON.stringify(before)} → ${JSON.stringify(want)} (what invites made from Matrix carry)`);
    }
  }
  if (f.admin !== undefined) {
    const level = doc.getIn(["permissions", f.admin]);
    if (level !== "admin") {
      if (!doc.has("permissions")) doc.set("permissions", {});
      doc.setIn(["permissions", f.admin], "admin");
      changes.push(`permissions: ${f.admin}: ${level === undefined ? "(none)" : String(level)} → admin`);
    }
  }
  return changes.length > 0 ? { configText: doc.toString(), changes } : { changes };
}
