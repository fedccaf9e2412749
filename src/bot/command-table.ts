// Every `!` command, declared once: its words, arguments, flags, help line,
// the bridge permission it needs and the pursuance capability it uses. Usage
// lines and `!help` are generated from here; handlers live in files named
// for what they hold.
//
// Bridge levels: "commands" for working in a pursuance (its own rules then
// decide), "manage" for what changes who holds what or speaks publicly,
// "admin" for where the pursuance lives (the bridge's relay connections).
import { announce, announceRoomAdd, announceRoomList, announceRoomRemove } from "./announce-commands.js";
import type { CommandSpec } from "./command-spec.js";
import { help } from "./help-command.js";
import { digestCommand } from "./digest-commands.js";
import { keysDelegate, keysRevoke, keysStatus } from "./keys-commands.js";
import { linkAccept, linkAnswer, linkInbox, linkList, linkOffer, linkSent, taskSend } from "./link-commands.js";
import { pursuanceRequest, requestAdmit, requestRefuse, requestsClear, requestsClose, requestsList, requestsOpen } from "./request-commands.js";
import { pursuanceCreate, pursuanceInvite, pursuanceInviteList, pursuanceInviteRevoke, pursuanceJoin, pursuanceStatus } from "./pursuance-commands.js";
import { relayAdd, relayList, relayMove, relayRecover, relayRemove } from "./relay-commands.js";
import { leaderStatus, leaderTransfer, leaderVote, mayTransfer, mayVote, rulesPolicy } from "./leader-commands.js";
import { roleAmend, roleCreate, roleDelete, roleGrant, roleList, roleRevoke, rules } from "./role-commands.js";
import { profileSet, profileShow } from "./profile-commands.js";
import { verifyCommand, whoisCommand, whoisConfirm, whoisLink } from "./whois-commands.js";
import { taskFetch, taskFiles } from "./file-commands.js";
import { taskArchive, taskAssign, taskClose, taskComment, taskCreate, taskLabel, taskList, taskPriority, taskReopen, taskRetitle, taskSearch, taskShow, taskStatus } from "./task-commands.js";

const id = { name: "id" };
const LIST_FLAGS = [
  { name: "mine" },
  { name: "role", value: "R" },
  { name: "status", value: "S" },
  { name: "assignee", value: "WHO" },
  { name: "due", value: "SPAN|DATE" },
  { name: "overdue" },
  { name: "label", value: "L" },
  { name: "all" },
];

export const COMMAND_TABLE: readonly CommandSpec[] = [
  {
    path: ["task", "create"],
    aliases: ["new", "add"],
    required: [{ name: "title", quoted: true, rest: true }],
    flags: [{ name: "role", value: "R" }, { name: "assign", value: "WHO" }, { name: "due", value: "DATE" }, { name: "parent", value: "ID" }, { name: "deliverables", value: "TEXT" }],
    help: "create a task readable by role R (default: your lowest role with a key); WHO is @user, a name or a role",
    level: "commands",
    cap: "task.create",
    run: taskCreate,
  },
  {
    path: ["task", "list"],
    aliases: ["ls"],
    flags: LIST_FLAGS,
    help: "list tasks, overdue first, then by due date (--mine: assigned to you or your roles; --due 14d: open and due within 14 days; --overdue; --assignee WHO; --all: archived too)",
    level: "commands",
    cap: null,
    run: taskList,
  },
  {
    path: ["task", "search"],
    aliases: ["find"],
    required: [{ name: "words", rest: true }],
    flags: LIST_FLAGS,
    help: "tasks whose title, deliverables, comments or close reason hold every word (only what you may read; searched here, never sent anywhere)",
    level: "commands",
    cap: null,
    run: taskSearch,
  },
  {
    path: ["task", "send"],
    required: [{ name: "link" }, { name: "title", quoted: true, rest: true }],
    flags: [{ name: "body", value: "TEXT" }],
    help: "send a task to a linked pursuance (LINK: its name or the link id); it goes with our speaker's word that you hold a role the link allows",
    level: "commands",
    cap: null,
    run: taskSend,
  },
  { path: ["task", "show"], required: [id], help: "a task with its comments (ID is #12, 12 or an id prefix)", level: "commands", cap: null, run: taskShow },
  { path: ["task", "assign"], required: [id, { name: "who", rest: true }], help: "assign to @user, a name, a role, or none", level: "commands", cap: "task.assign", run: taskAssign },
  {
    path: ["task", "status"],
    required: [id, { name: "status", rest: true }],
    help: "set the status: new, started, help wanted, ready for review, reviewing, done",
    level: "commands",
    // Assignees may set status without task.update, so help cannot hide it by capability; the rules decide.
    cap: null,
    run: taskStatus,
  },
  { path: ["task", "comment"], required: [id, { name: "text", quoted: true, rest: true }], content: "text", help: "comment on a task", level: "commands", cap: "task.comment", run: taskComment },
  { path: ["task", "close"], aliases: ["done"], required: [id], optional: [{ name: "reason", rest: true }], content: "reason", help: "close a task", level: "commands", cap: "task.close", run: taskClose },
  { path: ["task", "files"], required: [id], help: "the documents of a task: names (where the keys held here open the task) and sizes; `pursuance client task fetch` gets one", level: "commands", cap: null, run: taskFiles },
  {
    path: ["task", "fetch"],
    aliases: ["file"],
    required: [id, { name: "file", rest: true }],
    // A file's name is the task's content: typed in a room that may not read it, the command is taken out.
    content: "file",
    help: "post a task's document here (FILE: its number in !task files, or its name), every chunk checked against its hash; only in a room that may read the task",
    level: "commands",
    cap: null,
    run: taskFetch,
  },
  { path: ["task", "reopen"], required: [id], help: "reopen a closed task", level: "commands", cap: "task.close", run: taskReopen },
  { path: ["task", "archive"], required: [id], help: "archive a task (hidden from !task list unless --all)", level: "commands", cap: "task.archive", run: taskArchive },
  {
    path: ["task", "retitle"],
    aliases: ["rename"],
    required: [id, { name: "title", quoted: true, rest: true }],
    content: "title",
    help: "give a task a new title (encrypted for its readers as before)",
    level: "commands",
    cap: "task.update",
    run: taskRetitle,
  },
  {
    path: ["task", "label"],
    aliases: ["labels", "tag"],
    required: [id, { name: "labels", rest: true }],
    // Which task carries which label is sealed: typed in a room that may not read the task, the command is taken out.
    content: "labels",
    help: "add (+name) or remove (-name) labels the rules define (!rules shows them); sealed for the task's readers",
    level: "commands",
    cap: "task.update",
    run: taskLabel,
  },
  {
    path: ["task", "priority"],
    required: [id, { name: "priority" }],
    content: "priority",
    help: "set a task's priority: low, normal, high or urgent (sealed for its readers)",
    level: "commands",
    cap: "task.update",
    run: taskPriority,
  },

  { path: ["role", "list"], aliases: ["ls"], help: "roles, their ranks and capabilities, and who holds them", level: "commands", cap: null, run: roleList },
  {
    path: ["role", "create"],
    required: [{ name: "name", rest: true }],
    flags: [{ name: "rank", value: "N", required: true }, { name: "caps", value: "a,b" }, { name: "reads", value: "role|assigned" }],
    help: "define a role ranked below yours, with capabilities you hold",
    level: "manage",
    cap: "rules.change",
    run: roleCreate,
  },
  {
    path: ["role", "amend"],
    required: [{ name: "name", rest: true }],
    flags: [{ name: "rank", value: "N" }, { name: "caps", value: "a,b" }, { name: "reads", value: "role|assigned" }],
    help: "change a role ranked below yours: its rank, capabilities (ones you hold) or what it reads",
    level: "manage",
    cap: "rules.change",
    run: roleAmend,
  },
  { path: ["role", "delete"], required: [{ name: "name", rest: true }], help: "delete a role ranked below yours (never the succession role); its holders lose it", level: "manage", cap: "rules.change", run: roleDelete },
  { path: ["role", "grant"], required: [{ name: "who" }, { name: "role", rest: true }], help: "give a member ranked below you a role ranked below yours", level: "manage", cap: "role.grant", run: roleGrant },
  { path: ["role", "revoke"], required: [{ name: "who" }, { name: "role", rest: true }], help: "take a role back (its keys rotate away)", level: "manage", cap: "role.grant", run: roleRevoke },
  { path: ["rules"], help: "the pursuance's rules: roles, succession, key rotation", level: "commands", cap: null, run: rules },
  {
    path: ["rules", "policy"],
    flags: [{ name: "succession-role", value: "R" }, { name: "quorum", value: "N" }, { name: "silent-after", value: "DUR" }, { name: "rotate-every", value: "DUR|off" }, { name: "file-limit", value: "SIZE" }, { name: "labels", value: "a,b,c" }],
    help: "(leader) who votes a successor, how many votes, after how long a silence (e.g. 14d); how often keys rotate; the largest document (e.g. 50MB); the labels tasks may carry",
    level: "manage",
    cap: "rules.change",
    shownTo: mayTransfer,
    run: rulesPolicy,
  },

  { path: ["leader"], help: "who leads, when they were last heard from, and pending succession votes", level: "commands", cap: null, run: leaderStatus },
  { path: ["leader", "vote"], required: [{ name: "who", rest: true }], help: "vote WHO the next leader (succession role; counts only once the leader has been silent past the limit)", level: "manage", cap: null, shownTo: mayVote, run: leaderVote },
  { path: ["leader", "transfer"], required: [{ name: "who", rest: true }], help: "hand leadership to WHO", level: "manage", cap: null, shownTo: mayTransfer, run: leaderTransfer },

  { path: ["relay", "list"], aliases: ["ls"], help: "relays holding the pursuance, and their state", level: "commands", cap: null, run: relayList },
  { path: ["relay", "add"], required: [{ name: "url" }], help: "add a relay (ws:// or wss://) for every member, and copy the whole history to it", level: "admin", cap: "relays.change", run: relayAdd },
  { path: ["relay", "move"], required: [{ name: "url" }], help: "move the pursuance to this relay for every member: copy the whole history there, then leave the others", level: "admin", cap: "relays.change", run: relayMove },
  { path: ["relay", "recover"], required: [{ name: "url" }], help: "every relay lost its data: rebuild the pursuance on this new relay from the bridge's copy", level: "admin", cap: null, run: relayRecover },
  { path: ["relay", "remove"], required: [{ name: "url" }], help: "stop using a relay, for every member (never the last one)", level: "admin", cap: "relays.change", run: relayRemove },

  { path: ["keys", "status"], help: "which roles' tasks this bridge can read", level: "commands", cap: null, run: keysStatus },
  { path: ["keys", "delegate"], required: [{ name: "role", rest: true }], help: "let this bridge hold your key for a role (revocable)", level: "manage", cap: null, run: keysDelegate },
  { path: ["keys", "revoke"], required: [{ name: "role", rest: true }], help: "take back a role key you delegated", level: "manage", cap: null, run: keysRevoke },

  { path: ["pursuance", "create"], required: [{ name: "name", quoted: true, rest: true }], help: "found a pursuance and bind this room to it", level: "manage", cap: null, room: "unbound", run: pursuanceCreate },
  { path: ["pursuance", "join"], required: [{ name: "invite" }], help: "join with an invite and bind this room to it", level: "manage", cap: null, room: "unbound", run: pursuanceJoin },
  {
    path: ["pursuance", "invite"],
    optional: [{ name: "who" }],
    flags: [{ name: "role", value: "R" }, { name: "expires", value: "DUR" }],
    help: "admit a Matrix user, or (without one) print a single-use keyless invite for a CLI member (expires in 7d unless --expires)",
    level: "commands",
    cap: "member.invite",
    run: pursuanceInvite,
  },
  { path: ["pursuance", "invite", "list"], help: "invites: open, used, expired or revoked", level: "commands", cap: null, run: pursuanceInviteList },
  { path: ["pursuance", "invite", "revoke"], required: [{ name: "id" }], help: "revoke an unused invite (its inviter, or anyone who could have made it)", level: "commands", cap: null, run: pursuanceInviteRevoke },
  {
    path: ["pursuance", "request"],
    required: [{ name: "address" }],
    flags: [{ name: "message", value: "TEXT" }],
    help: "ask to join a pursuance by its public request address; its members' answer is posted here, and if admitted this room is bound to it",
    level: "manage",
    cap: null,
    room: "unbound",
    run: pursuanceRequest,
  },
  { path: ["pursuance", "requests"], help: "join requests and their outcomes; the public request address while requests are open", level: "commands", cap: null, run: requestsList },
  { path: ["pursuance", "requests", "open"], flags: [{ name: "limit", value: "N" }, { name: "work", value: "BITS" }], help: "let outsiders ask to join: prints the public request address (at most N pending, default 20; each request costs BITS of proof-of-work, default 20)", level: "commands", cap: "member.invite", run: requestsOpen },
  { path: ["pursuance", "requests", "clear"], help: "drop every pending join request at once (a flood); they stop counting toward the limit", level: "commands", cap: "member.invite", run: requestsClear },
  { path: ["pursuance", "requests", "close"], help: "stop taking join requests; the address stops working", level: "commands", cap: "member.invite", run: requestsClose },
  { path: ["pursuance", "admit"], required: [{ name: "who" }], flags: [{ name: "role", value: "R" }], help: "admit a pending join request (by name or key prefix; default role change agent)", level: "commands", cap: "member.invite", run: requestAdmit },
  { path: ["pursuance", "refuse"], required: [{ name: "who" }], optional: [{ name: "reason", quoted: true, rest: true }], help: "refuse a pending join request; the requester is told the reason", level: "commands", cap: "member.invite", run: requestRefuse },
  { path: ["link", "offer"], flags: [{ name: "roles", value: "R[,R…]", required: true }], help: "offer a link to another pursuance: a token (sent to you privately) for one of its members to accept", level: "manage", cap: "rules.change", run: linkOffer },
  { path: ["link", "accept"], required: [{ name: "token" }], help: "accept another pursuance's link token", level: "manage", cap: "rules.change", run: linkAccept },
  { path: ["link", "list"], aliases: ["ls"], help: "links to other pursuances", level: "commands", cap: null, run: linkList },
  { path: ["link", "inbox"], help: "tasks other pursuances sent us, and our answers", level: "commands", cap: null, run: linkInbox },
  { path: ["link", "sent"], help: "tasks we sent to other pursuances, and their answers", level: "commands", cap: null, run: linkSent },
  { path: ["link", "answer"], required: [{ name: "id" }, { name: "status" }], optional: [{ name: "note", quoted: true, rest: true }], help: "answer a task sent to us: accepted, declined or done", level: "commands", cap: "task.create", run: linkAnswer },
  { path: ["pursuance", "status"], help: "relays, sync state, gaps and the state hash", level: "commands", cap: null, run: pursuanceStatus },

  { path: ["pursuance", "profile"], help: "the pursuance's public profile: mission, how to ask to join, public rooms", level: "commands", cap: null, run: profileShow },
  {
    path: ["pursuance", "profile", "set"],
    required: [{ name: "mission", quoted: true }],
    flags: [{ name: "join", value: "TEXT", required: true }, { name: "room", value: "#name:server" }],
    help: "set the public profile, mirrored with its proof to the public rooms and the feed",
    level: "manage",
    cap: "announce",
    run: profileSet,
  },
  { path: ["whois"], optional: [{ name: "who" }], help: "a member's key fingerprint (compare it aloud or on paper), linked Matrix id and who verified it; all members without an argument", level: "commands", cap: null, run: whoisCommand },
  { path: ["whois", "link"], help: "link your key here to your Matrix id, signed in the log", level: "commands", cap: null, run: whoisLink },
  { path: ["whois", "confirm"], room: "bound-any", required: [{ name: "member" }], help: "confirm, as this Matrix account, a member's key that linked itself to you (members on the CLI)", level: "commands", cap: null, run: whoisConfirm },
  { path: ["whois", "verify"], required: [{ name: "member" }, { name: "fingerprint", quoted: true, rest: true }], help: "vouch for a member's key after comparing its fingerprint (signed in the log)", level: "commands", cap: null, run: verifyCommand },
  { path: ["verify"], required: [{ name: "member" }, { name: "fingerprint", quoted: true, rest: true }], help: "the same as !whois verify", level: "commands", cap: null, run: verifyCommand },
  { path: ["announce"], required: [{ name: "text", quoted: true, rest: true }], help: "post a signed public announcement", level: "manage", cap: "announce", run: announce },
  { path: ["announce", "room", "add"], required: [{ name: "alias" }], help: "mirror announcements (all past ones, then each new one) to a public room, #name:server", level: "manage", cap: "announce", run: announceRoomAdd },
  { path: ["announce", "room", "remove"], required: [{ name: "alias" }], help: "stop mirroring announcements to a public room", level: "manage", cap: "announce", run: announceRoomRemove },
  { path: ["announce", "room", "list"], help: "the public rooms announcements go to", level: "commands", cap: null, run: announceRoomList },
  {
    path: ["digest"],
    optional: [{ name: "setting", rest: true }],
    help: "your daily digest of your open tasks due within 14 days and what changed on them, in your direct chat with me: on, off, or at HH:MM [time zone] (default 08:00 UTC)",
    level: "commands",
    cap: null,
    room: "any",
    run: digestCommand,
  },
  { path: ["help"], optional: [{ name: "command", rest: true }], help: "what you may run here", level: "commands", cap: null, room: "any", run: help },
];

/** First words the bot answers to (`!tasks` is forgiven as `!task`). */
export const ROOTS = new Set(COMMAND_TABLE.map((s) => s.path[0]!));
export const ROOT_ALIASES: Readonly<Record<string, string>> = { tasks: "task", roles: "role", relays: "relay", key: "keys" };
