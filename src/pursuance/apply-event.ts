// One event applied to the state: the reducer its kind names (apply-*.ts),
// then what follows from it for every event (a link's speaker who lost the
// right to speak is succeeded). Fold (fold.ts) decides the order and whether
// the event stands; this only applies it.
import { applyLinkAccept, applyLinkOffer, applyLinkPeer, applyLinkReceive, applyLinkSpeaker, applyLinkStatus, applyTaskSend, succeedSpeakers } from "./apply-links.js";
import { applyRequestAnswer, applyRequestDrop, applyRequestPending, applyRequestsSet } from "./apply-requests.js";
import { Rejected, type ApplyContext, type PEvent } from "./apply-common.js";
import { applyDelegate, applyRotate, applyShare, applyUndelegate, applyUnreadable } from "./apply-keys.js";
import { applyGenesis, applyGrant, applyInvite, applyInviteRevoke, applyJoin, applyLeave, applyPolicy, applyRemove, applyRevoke, applyRoleChange, applyTransfer, applyVote } from "./apply-membership.js";
import {
  applyAnnounce,
  applyTaskArchive, applyTaskMeta,
  applyTaskAssign,
  applyTaskAttach,
  applyTaskClose,
  applyTaskComment,
  applyTaskCreate,
  applyTaskReopen,
  applyTaskUpdate,
} from "./apply-tasks.js";
import { applyRelaysSet } from "./apply-relays.js";
import { applyIdentityLink, applyMemberVerify, applyProfileSet } from "./apply-identity.js";
import { MAX_TS } from "./events.js";
import type { PursuanceState } from "./state.js";

export function applyOne(s: PursuanceState, e: PEvent, ctx: ApplyContext, genesisId: string | null): void {
  applyBody(s, e, ctx, genesisId);
  // A link's speaker who lost membership or rules.change is succeeded at once (apply-links.ts).
  if (s.peers.size > 0) succeedSpeakers(s, e);
}

function applyBody(s: PursuanceState, e: PEvent, ctx: ApplyContext, genesisId: string | null): void {
  const b = e.body;
  if (!(e.ts >= 0 && e.ts <= MAX_TS)) throw new Rejected(`event ts ${e.ts} out of range (0..${MAX_TS})`);
  if (!b) throw new Rejected(`malformed body: ${e.bodyError ?? "unknown"}`);
  if (s.id === null && b.t !== "genesis") throw new Rejected("no genesis before this event");
  switch (b.t) {
    case "genesis":
      return applyGenesis(s, e, b, genesisId);
    case "role.create":
    case "role.amend":
    case "role.delete":
      return applyRoleChange(s, e, b);
    case "rules.policy":
      return applyPolicy(s, e, b);
    case "role.grant":
      return applyGrant(s, e, b);
    case "role.revoke":
      return applyRevoke(s, e, b);
    case "invite":
      return applyInvite(s, e, b);
    case "invite.revoke":
      return applyInviteRevoke(s, e, b);
    case "join":
      return applyJoin(s, e, b, ctx);
    case "leave":
      return applyLeave(s, e);
    case "remove":
      return applyRemove(s, e, b);
    case "keys.rotate":
      return applyRotate(s, e, b);
    case "keys.share":
      return applyShare(s, e, b);
    case "keys.unreadable":
      return applyUnreadable(s, e, b);
    case "keys.delegate":
      return applyDelegate(s, e, b);
    case "keys.undelegate":
      return applyUndelegate(s, e, b);
    case "task.create":
      return applyTaskCreate(s, e, b);
    case "task.update":
      return applyTaskUpdate(s, e, b);
    case "task.assign":
      return applyTaskAssign(s, e, b);
    case "task.comment":
      return applyTaskComment(s, e, b);
    case "task.close":
      return applyTaskClose(s, e, b);
    case "task.attach":
      return applyTaskAttach(s, e, b);
    case "task.reopen":
      return applyTaskReopen(s, e, b);
    case "task.archive":
      return applyTaskArchive(s, e, b);
    case "task.meta":
      return applyTaskMeta(s, e, b);
    case "announce":
      return applyAnnounce(s, e, b);
    case "leader.transfer":
      return applyTransfer(s, e, b);
    case "leader.vote":
      return applyVote(s, e, b);
    case "relays.set":
      return applyRelaysSet(s, e, b);
    case "identity.link":
      return applyIdentityLink(s, e, b);
    case "member.verify":
      return applyMemberVerify(s, e, b, ctx);
    case "profile.set":
      return applyProfileSet(s, e, b);
    case "requests.set":
      return applyRequestsSet(s, e, b);
    case "request.pending":
      return applyRequestPending(s, e, b, ctx);
    case "request.answer":
      return applyRequestAnswer(s, e, b);
    case "request.drop":
      return applyRequestDrop(s, e, b);
    case "link.offer":
      return applyLinkOffer(s, e, b);
    case "link.accept":
      return applyLinkAccept(s, e, b);
    case "link.peer":
      return applyLinkPeer(s, e, b, ctx);
    case "link.speaker":
      return applyLinkSpeaker(s, e, b, ctx);
    case "task.send":
      return applyTaskSend(s, e, b);
    case "link.status":
      return applyLinkStatus(s, e, b);
    case "link.receive":
      return applyLinkReceive(s, e, b, ctx);
  }
}

