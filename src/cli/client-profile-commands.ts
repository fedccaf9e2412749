// `pursuance client profile set|show|export`: what the pursuance says of itself
// in public, signed in its log by a role allowed to announce, and exported as
// a copy anyone checks with `pursuance verify-announcement` (no account needed).
import { writeFileSync } from "node:fs";
import { proofFromLog, profileText } from "../pursuance/announcement-proof.js";
import { memberName } from "../pursuance/views.js";
import type { SubCommand } from "./client-context.js";
import { arg, withClient } from "./client-context.js";
import { UsageError } from "./usage.js";
import { clientEnv } from "../usecases/env.js";
import { setProfile } from "../usecases/identity.js";

export const PROFILE_COMMANDS: Record<string, SubCommand> = {
  profile: {
    usage: 'profile show | profile set --mission TEXT --join TEXT [--room #name:server…] | profile export FILE',
    summary: "the pursuance's public profile: mission, how to ask to join, public rooms; export it as a signed copy anyone can check",
    options: { mission: { type: "string" }, join: { type: "string" }, room: { type: "string", multiple: true } },
    async run(p, io) {
      const sub = arg(p, 0, "show, set or export");
      if (!["show", "set", "export"].includes(sub)) throw new UsageError(`unknown profile command ${JSON.stringify(sub)} (show, set or export)`);
      if (sub === "set" && (p.values.mission === undefined || p.values.join === undefined)) throw new UsageError("profile set needs --mission TEXT and --join TEXT (how to ask to join)");
      const file = sub === "export" ? arg(p, 1, "the FILE to write") : "";
      await withClient(p, io, async (c) => {
        if (sub === "set") {
          const rooms = (p.values.room as string[] | undefined) ?? [];
          await setProfile(clientEnv(c), { mission: p.values.mission as string, join: p.values.join as string, rooms });
          return io.out(`profile set; export it with: pursuance client profile export FILE`);
        }
        const prof = c.state.profile;
        if (!prof) return io.out(`${c.state.name} has no public profile yet (profile set --mission … --join …)`);
        if (sub === "show") {
          if (p.values.json) return io.out(JSON.stringify({ name: c.state.name, ...prof }));
          return io.out(`${c.state.name} (${c.id})\n${profileText(prof)}\nset by ${memberName(c.state, prof.by)}`);
        }
        const ev = c.session.log.get(prof.event);
        const genesis = c.session.log.get(c.id);
        if (!ev || !genesis) throw new Error("the profile or genesis event is missing from the local log; run 'pursuance client sync'");
        writeFileSync(file, JSON.stringify({ name: c.state.name, profile: { ...proofFromLog(ev, genesis, (id) => c.session.log.get(id), c.fold.applied), text: profileText(prof) } }, null, 2) + "\n");
        io.out(`wrote ${file}: check it with pursuance verify-announcement ${file} --pursuance ${c.id}`);
      });
    },
  },
};
