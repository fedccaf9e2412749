// How the bot writes back what the rules said: member ids in a reason become
// names. (The spellings people type are parsed in src/usecases/spellings.ts,
// the same parser the CLI uses; publishing is src/usecases/env.ts.)
import type { PursuanceState } from "../pursuance/state.js";
import { memberName } from "../pursuance/views.js";

/** Member ids in a rules reason ("3f2a…12 lacks capability …") become names people know. */
export function humanize(s: PursuanceState, text: string): string {
  let out = text;
  for (const id of s.members.keys()) out = out.split(id).join(memberName(s, id)).split(id.slice(0, 12)).join(memberName(s, id));
  return out;
}
