// Who may see what in a Matrix room: a room shows a thing only if EVERY
// person in it (joined or invited; the bridge's own bot and ghosts aside) may
// read it under the pursuance's rules. A Matrix user reads as the custodial
// identity the bridge holds for them; one with none, or whose identity is not
// (or no longer) a member, is a non-member and reads nothing but what is public.
//
// "Public" is what the pursuance addresses to the world: announcements. Group
// notices (joins, grants, rule and key changes) need every person present to
// be a member; a task's content needs every person present to read the task.
// So a non-member in a room withholds even group-readable tasks there.
import type { PEvent } from "../pursuance/apply-common.js";
import { canReadTask, type PursuanceState, type Task } from "../pursuance/state.js";
import { entitledScopes } from "../pursuance/rules.js";

/** One person in a room, as the pursuance knows them. */
export interface Present {
  user: string;
  /** Their custodial member id here, or null: no identity in this pursuance. */
  member: string | null;
}

/** What an event reveals: nothing restricted, the group's business, or one task's content. */
export type Scope = { kind: "public" } | { kind: "group" } | { kind: "task"; taskId: string };

export type Standing = "member" | "joining" | "non-member";

/** A hosted identity not yet in the state (its join is on its way) is "joining": it reads nothing yet but is no stranger. */
export function standingOf(s: PursuanceState, p: Present): Standing {
  if (p.member === null) return "non-member";
  if (s.members.has(p.member)) return "member";
  return s.former.has(p.member) ? "non-member" : "joining";
}

export function scopeOf(e: PEvent): Scope {
  const b = e.body;
  if (!b) return { kind: "group" };
  if (b.t === "announce") return { kind: "public" };
  if (b.t === "task.create") return { kind: "task", taskId: e.id };
  if ("task" in b && typeof (b as { task?: unknown }).task === "string") return { kind: "task", taskId: (b as { task: string }).task };
  return { kind: "group" };
}

export function mayRead(s: PursuanceState, p: Present, scope: Scope): boolean {
  if (scope.kind === "public") return true;
  if (p.member === null || !s.members.has(p.member)) return false;
  if (scope.kind === "group") return true;
  const t = s.tasks.get(scope.taskId);
  return t !== undefined && canReadTask(s, p.member, t);
}

/**
 * The room may show it: everyone present may read it. An empty room shows
 * only what is public: whoever comes next is unknown (and where the bot cannot
 * hide earlier history from newcomers, would read it).
 */
export function mayShow(s: PursuanceState, present: readonly Present[], scope: Scope): boolean {
  if (present.length === 0) return scope.kind === "public";
  return present.every((p) => mayRead(s, p, scope));
}

/** Those present who may not read it (for logs and tests). */
export function blockers(s: PursuanceState, present: readonly Present[], scope: Scope): string[] {
  return present.filter((p) => !mayRead(s, p, scope)).map((p) => p.user);
}

/**
 * Roles whose holders read the task by holding the role (a role's key opens
 * every role ranked at or below it), so the task belongs in those roles' rooms.
 */
export function rolesReading(s: PursuanceState, t: Task): string[] {
  return Object.keys(s.rules.roles)
    .filter((r) => {
      const scopes = ["group", ...entitledScopes(s.rules, [r])];
      return t.readers.some((x) => scopes.includes(x));
    })
    .sort();
}
