// The insider attacks on authority as scenario builders: each writes a history
// with the project's own builders (ids ground below the event the attacker must
// beat, timestamps backdated, deps citing only what came before) and names its
// events. test/authority-attacks.test.ts asserts their verdicts in many
// delivery orders; test/vectors/generate-resolution.ts publishes them as
// resolution vectors for a second implementation.
import { toB64 } from "../../src/cwtch/bytes.js";
import type { Crypto } from "../../src/cwtch/crypto.js";
import { commentBody, grantBody, inviteBody, joinBody, rotateBody, shareBody, taskCreateBody } from "../../src/pursuance/actions.js";
import type { PEvent } from "../../src/pursuance/apply-common.js";
import type { Body } from "../../src/pursuance/events.js";
import { History, type HMember } from "./history.js";

/** Ids tried per forged event: the attacker keeps the smallest. */
export const GRIND = 1000;

export interface Scenario {
  name: string;
  description: string;
  h: History;
  /** Named events, and whether the rule must apply (true) or reject (false) them. */
  expect: Record<string, { event: PEvent; applied: boolean; reason?: RegExp }>;
  members: Record<string, HMember>;
}

/** Founder (primary), two admins, a recruiter, a change agent. */
export function world(base: Crypto, seed: number) {
  const h = new History(base, seed);
  const F = h.member("founder");
  const A = h.member("admin");
  const A2 = h.member("admin2");
  const R = h.member("recruiter");
  const C = h.member("agent");
  h.genesis(F);
  h.addMember(F, A, "admin");
  h.addMember(F, A2, "admin");
  h.addMember(F, R, "recruiter");
  h.addMember(F, C, "change agent");
  return { h, F, A, A2, R, C };
}

/** The attacker's options: an id ground below `beat`'s, a timestamp before it. */
export const ground = (beat: PEvent) => ({ grind: GRIND, ts: beat.ts - 60_000 });

const ok = (event: PEvent) => ({ event, applied: true });
const no = (event: PEvent, reason: RegExp) => ({ event, applied: false, reason });

export function backdatingAfterRemoval(base: Crypto, seed: number): Scenario {
  const { h, F, A, C } = world(base, seed);
  const P = h.member("puppet");
  const before = h.tips();
  const rm = h.remove(F, A);
  const rot = h.rotate(F, "group");
  const rotAdmin = h.rotate(F, "admin");
  const t = h.task(F, ["admin"], { title: "after the removal" });
  // Days later: A writes as if it had never seen the removal.
  const task = h.emit(A, (s) => taskCreateBody(A.actor, s, { text: { title: "backdated", deliverables: "" }, readers: ["admin"] }), before, ground(rm))!;
  let secret: ReturnType<typeof inviteBody>["secret"] | null = null;
  const inv = h.emit(A, (s) => {
    const r = inviteBody(A.actor, s, "recruiter");
    secret = r.secret;
    return r.body;
  }, [task], ground(rm))!;
  const join = h.join(P, secret!, [inv]);
  return {
    name: "backdating-after-removal",
    description: "A removed admin signs a task, an invite and its puppet's join citing only heads from before its removal, ids ground below the removal's, timestamps backdated.",
    h,
    members: { F, A, C, P },
    expect: { rm: ok(rm), rot: ok(rot), rotAdmin: ok(rotAdmin), t: ok(t), task: no(task, /is not a member/), inv: no(inv, /is not a member/), join: no(join, /unknown invite/) },
  };
}

export function backdatingAfterDemotion(base: Crypto, seed: number): Scenario {
  const { h, F, A, C } = world(base, seed);
  h.grant(F, A, "recruiter");
  const before = h.tips();
  const demote = h.revoke(F, A, "admin");
  const rot = h.rotate(F, "admin");
  const t = h.task(F, ["admin"], { title: "admin only, after the demotion" });
  const grant = h.emit(A, (s) => grantBody(A.actor, s, C.hex, "recruiter"), before, ground(demote))!;
  const evilRot = h.emit(A, (s) => rotateBody(A.actor, s, "admin").body, [grant], ground(demote))!;
  return {
    name: "backdating-after-demotion",
    description: "An admin demoted to recruiter signs a backdated grant and a backdated rotation of the admin key to a key it chose.",
    h,
    members: { F, A, C },
    expect: { demote: ok(demote), rot: ok(rot), t: ok(t), grant: no(grant, /does not outrank role "recruiter"/), evilRot: no(evilRot, /not entitled to the "admin" key/) },
  };
}

export function concurrentRemoval(base: Crypto, seed: number): Scenario {
  const { h, F, A, C } = world(base, seed);
  const at = h.tips();
  const rm = h.remove(F, A, at);
  const grant = h.emit(A, (s) => grantBody(A.actor, s, C.hex, "recruiter"), at, ground(rm))!;
  return {
    name: "concurrent-removal",
    description: "The primary removes admin A while A, concurrently, grants C a role with an id ground below the removal's.",
    h,
    members: { F, A, C },
    expect: { rm: ok(rm), grant: no(grant, /is not a member/) },
  };
}

export function lateInvite(base: Crypto, seed: number): Scenario {
  const { h, F, A } = world(base, seed);
  const J = h.member("joiner");
  const { event: inv, secret } = h.invite(A, "change agent");
  const rm = h.remove(F, A);
  for (const k of h.inviteKeys.get(secret.publicKey) ?? []) J.ring.add(k.scope, k.key);
  const late = h.emit(J, joinBody(J.actor, h.genesisId!, secret.seed, "late"), [inv], ground(rm))!;
  return {
    name: "late-invite",
    description: "A join citing only its invite, redeemed after the inviter was removed, with an id ground below the removal's.",
    h,
    members: { F, A, J },
    expect: { inv: ok(inv), rm: ok(rm), late: no(late, /the inviter can no longer admit/) },
  };
}

export function retroactiveEquivocation(base: Crypto, seed: number): Scenario {
  const { h, F, R } = world(base, seed);
  const J = h.member("joiner");
  const old = h.tips();
  const { event: inv, secret } = h.invite(R, "change agent");
  const join = h.join(J, secret);
  const jt = h.task(J, ["change agent"], { title: "the joiner's work" });
  const rm = h.remove(F, R);
  const rot = h.rotate(F, "group");
  const seq = R.chain.indexOf(inv.id) + 1;
  const forged = h.emit(R, (s) => inviteBody(R.actor, s, "change agent").body, old, { ...ground(inv), fork: { seq } })!;
  return {
    name: "retroactive-equivocation",
    description: "A removed recruiter re-signs the seq of an invite it once issued; an honest member had joined with it and worked since.",
    h,
    members: { F, R, J },
    expect: { inv: ok(inv), join: ok(join), jt: ok(jt), rm: ok(rm), rot: ok(rot), forged: no(forged, /equivocated/) },
  };
}

export function puppetEquivocation(base: Crypto, seed: number): Scenario {
  const { h, R } = world(base, seed);
  const P1 = h.member("puppet1");
  const P2 = h.member("puppet2");
  h.addMember(R, P1, "change agent");
  h.addMember(R, P2, "change agent");
  const J = h.member("joiner");
  const old = h.tips();
  const { event: inv, secret } = h.invite(R, "change agent", old);
  const join = h.join(J, secret);
  const jt = h.task(J, ["change agent"], { title: "the joiner's work" });
  const seq = R.chain.indexOf(inv.id) + 1;
  const task = (title: string) => (st: Parameters<typeof taskCreateBody>[1]) => taskCreateBody(R.actor, st, { text: { title, deliverables: "" }, readers: ["recruiter"] });
  const forged = h.emit(R, task("re-signed"), old, { ...ground(inv), fork: { seq } })!;
  const w1 = h.task(P1, ["change agent"], { title: "puppet 1" }, [forged.id]);
  const w2 = h.task(P2, ["change agent"], { title: "puppet 2" }, [forged.id]);
  const after = h.emit(R, task("carry on"), [inv.id])!;
  return {
    name: "puppet-equivocation",
    description: "A recruiter re-signs the seq of an invite an honest member joined with; two change agents it admitted build only on the new variant. Both variants are kept: the joiner and its work stand; the recruiter's continuation nobody built on is rejected.",
    h,
    members: { R, J, P1, P2 },
    expect: { inv: ok(inv), join: ok(join), jt: ok(jt), forged: ok(forged), w1: ok(w1), w2: ok(w2), after: no(after, /equivocated/) },
  };
}

export function rotationSabotage(base: Crypto, seed: number): Scenario {
  const { h, F, A, A2 } = world(base, seed);
  h.grant(F, A, "recruiter");
  const bad = h.rotate(A, "group", "tips", (sealed) => {
    sealed[F.hex] = toB64(h.rng.bytes(80));
  });
  const kid = (bad.body as Extract<Body, { t: "keys.rotate" }>).keyId;
  const at = h.tips();
  const complaint = h.emit(F, { t: "keys.unreadable", scope: "group", keyId: kid }, at)!;
  const side = h.task(A2, ["admin"], { title: "concurrent with the complaint" }, at);
  const share = h.emit(A2, (s) => shareBody(A2.actor, s, F.hex))!;
  const t = h.task(A2, ["admin"], { title: "after the sabotage" });
  return {
    name: "rotation-sabotage",
    description: "An admin rotates the group key sealing random bytes to the founder; the founder reports it, another admin re-shares.",
    h,
    members: { F, A, A2 },
    expect: { bad: ok(bad), complaint: ok(complaint), side: ok(side), share: ok(share), t: ok(t) },
  };
}

export function demotedActs(base: Crypto, seed: number): Scenario {
  const { h, F, A } = world(base, seed);
  h.grant(F, A, "recruiter");
  const t = h.task(F, ["recruiter"], { title: "recruiters" });
  const before = h.tips();
  const demote = h.revoke(F, A, "admin");
  const comment = h.emit(A, (s) => commentBody(A.actor, s.tasks.get(t.id)!, "still on it"), before, ground(demote))!;
  const hello = h.emit(A, { t: "announce", text: "hello" }, [comment], ground(demote))!;
  return {
    name: "demoted-acts",
    description: "A demoted admin's backdated acts are judged after the demotion: a comment its new role allows stands, an announcement it no longer may make fails.",
    h,
    members: { F, A },
    expect: { demote: ok(demote), t: ok(t), comment: ok(comment), hello: no(hello, /lacks capability announce/) },
  };
}

export const SCENARIOS = [backdatingAfterRemoval, backdatingAfterDemotion, concurrentRemoval, lateInvite, retroactiveEquivocation, puppetEquivocation, rotationSabotage, demotedActs];
