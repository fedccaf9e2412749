// What a use case is given: the acting member's client, the clock, and (where
// a host knows chat accounts) how a chat user id maps to a member. The bot's
// BoundContext is one as it stands; the CLI builds one from its client.
import type { PursuanceClient } from "../pursuance/client/client.js";
import { encodeBody, type Body } from "../pursuance/events.js";
import { parseBody } from "../pursuance/events-parse.js";
import type { PursuanceState } from "../pursuance/state.js";
import type { Who } from "./spellings.js";

export interface Env extends Who {
  client: PursuanceClient;
  /** Wall-clock ms: what "today" and "+3d" count from. */
  now(): number;
  /** Where the command came from, carried in the event (idempotent retries). */
  via?: string;
}

/** The CLI's env: its own client and its clock. */
export const clientEnv = (client: PursuanceClient): Env => ({ client, now: () => client.ports.now() });

/**
 * Publish as the acting member. The body is first parsed exactly as every
 * receiver will parse it (a bad role name would otherwise reach the log as a
 * rejected event), then the client's dry run applies the rules; either
 * refusal throws before anything is posted.
 */
export async function publish(env: Pick<Env, "client" | "via">, body: Body | ((s: PursuanceState) => Body)): Promise<{ id: string }> {
  if (typeof body !== "function") parseBody(encodeBody(body));
  return env.client.publish(body, undefined, env.via ? { via: env.via } : {});
}
