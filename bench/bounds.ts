// What bounds each figure that misses its target, as the profiles showed it
// (node --cpu-prof on the section summarised by bench/profile.ts, or the
// memory breakdown the fold job reports). Kept apart from the jobs so a new
// profile updates one place; the results carry these as `bound`.
//
// Profiles taken 2026-12-05 on the 2-core bench machine, load average 13-19
// (shared), so absolute rates are low; the shares are what matter.

// The relay figures were measured 2026-12-05 after issue 19's second pass (commits 7574ad1..6982d35),
// load average 2.5-4 on the shared 2-core machine. The end-to-end rates swing by a third between
// runs there, so each change was also timed by the server thread's CPU per frame (bench/relay-ab.ts,
// the relay before and after in one process) and with bench/relay-handler.ts, which leaves the socket out.
const RELAY_POST =
  "protocol work per post, and the server thread waiting for a core, not the number of writes: the relay and the coalescing bare server make the same number of writev calls (0.022-0.025 per frame ingest, 0.045 fan-out-1, counted by wrapping Socket#_writev). " +
  "Issue 19's first pass (commits f2a002e..b3785b1) took the relay's own cost per post (npx tsx bench/relay-handler.ts) from 12.4 to 6.4 µs: the blob decoded once into one buffer both hashes read (PostBytes), posts handled within their message event, post frames parsed without JSON.parse, hashes as text. " +
  "The second pass: the memory store holds each tag in a string of its own (a stored frame's tag was a slice of its message, which kept the whole ~1.4 KB text alive per frame, unseen by maxBytes); the posted ack and each live frame are written to the socket as whole WebSocket frames built once (relay-wire.ts; one buffer for every subscriber, where a string went through ws.send, Buffer.byteLength and writev's encoding per socket); the fairness heaps hear of an owner's change only when eviction asks. " +
  "npm run bench -- --only relay, 3 runs alternating with the code before (best-of-3 ratio per run, median), load 2.5-3.5: ingest 0.50 -> 0.53, fan-out-1 0.52 -> 0.65, fan-out-50 0.56 -> 1.08 (now bound by the clients: relay loop 64-74% busy, clients 91-99%). " +
  "npx tsx bench/relay-ab.ts <checkout before> 7 ingest,fanout-1 (median, load ~4): server-thread CPU per frame ingest 14.5 -> 13.9 µs, fan-out-1 17.6 -> 16.1 µs, bare+coalescing 6.4 and 7.2 µs; npx tsx bench/relay-handler.ts, median of 7 alternating runs: 7.8 -> 7.35 µs per post (its stand-in socket sends for free, so the send changes show only end to end: with 1 subscriber it reads 7.7 -> 8.8, the frame's bytes now built in the handler rather than by the socket). " +
  "What is left, from node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-relay.ts ingest 60000 (share of all main-thread samples, 36% idle while the clients build their posts): ws receive ~13% (framing and unmasking in JS: bufferutil is not installed) and writev 11%, both paid by bare too; " +
  "the post's handling 21% (onMessage, inclusive): the two SHA-256 passes over the ~1 KiB frame 5.1% (the duplicate key and the posted ack; neither can go: the ack is the wire protocol, the key is what duplicate detection rests on; SHA-256 is also the fastest hash node offers here, ahead of sha512-256 and blake2b512), base64url decode into the post's own buffer 4.6% with its allocation, the memory store's append 2.2%, parsing 1.1% and the message's toString 0.7%; GC 4.4%. " +
  "So the relay spends ~7 µs of CPU per post that bare does not (relay-handler.ts), while bare+coalescing spends ~6.5 µs of CPU on a whole frame: 0.7 would need the relay's own work under ~3 µs, less than its two hashes and the decode take together. " +
  "And the rate is not CPU alone: timing Socket#_writev shows each writev taking 0.3-0.5 ms of wall time in both servers (the thread is off its core while the client it woke runs on the shared cores), so the relay at 99% loop busy uses ~14 µs of CPU on a frame every ~23 µs. " +
  "Acking once per loop turn (setImmediate) instead of once per read cut writev calls 4.6x (0.023 -> 0.005 per frame), but each then took 1.5-2.5 ms and the rate did not move: not kept.";

export const RELAY_BOUNDS: Record<string, string> = {
  ingest: RELAY_POST,
  "fanout-1": `${RELAY_POST} Fan-out adds the frame's message, built once per frame as a whole WebSocket frame and written as it is to each subscriber (push 2.8% of samples inclusive, frameWire 2.0%, in bench/profile-relay.ts fanout-1), where bare forwards the bytes it received.`,
};

export const FOLD_RSS_BOUND =
  "met since 2026-12-05 (437 -> 277 MiB at 100k events, npm run bench -- --only fold, load 4): what it costs now is the runtime (node + tsx + sodium-native, 82 MiB RSS before any event), " +
  "the PEvents (83 MiB of heap at 100k, ~0.85 KB each: the body's ciphertext and nonce text, the event's own id, the objects) and what V8 keeps committed after decoding them; foldAll adds ~50 MiB of heap while it runs and keeps ~29 MiB (the state and the fold's indexes). " +
  "What took it there: PEvents built as object literals of one shape instead of spreads (a spread PEvent kept its fields in a separate backing store: 107 -> 74 MiB of heap for the same events), " +
  "one string per hex id, author and task id across a batch (toPEvents) and across the fold (shareHex), causalOrder over event indices and typed arrays instead of maps keyed by hex ids, " +
  "and the job reading the cached log event by event instead of holding the 50 MB file (whose freed pages stayed in the RSS).";

export const COLDLOAD_BOUND =
  "the client's own work per event, spread thin: --cpu-prof of PursuanceClient.open over 100k events on PostgreSQL (2026-12-05, after issue 19's second pass; 4.5 s sampled at load ~4) puts 52% of samples in reopen: " +
  "toPEvents 17% (parseBody 8%: JSON and its checks; one string per hex id 4%), Fold.add 17% (the passes over every event: step 8%, causalOrder 2.5%), GroupSession.restore 9% (the causal log's maps), decode 9% (the event id's BLAKE2b 4%), loadEvents 3% of main-thread CPU with the rest waiting on the server; GC 12.5%, idle 13.6%. " +
  "What issue 19 removed: PGlite's bytea parsing (events read as base64 text: 6.7 -> 1.6 s of PGlite's read alone), a copy of every stored event, a TextDecoder per body, spread PEvents, keyring calls for events that seal nothing, maps keyed by hex in the order and the fold (before: 4.3 s PostgreSQL, ~9 s PGlite; after: ~2.7-3.5 s PostgreSQL, ~3.3-4 s PGlite at load 3-4). " +
  "Under 2 s needs the log not replayed at all on open (a persisted fold checkpoint that later events continue from, with the full log loaded only if a refold needs it), not a faster replay: no part left is over a fifth of the open.";

export const PIPELINE_BOUND =
  "the main thread's own work per frame beside the workers' verifying: GroupSession.receiveMany verifies on a VerifyPool (src/cwtch/verify-pool.ts: one sodium-native worker per core, batches of 256 in one transferred buffer, two canaries per batch signed afresh) " +
  "and is what a client's catch-up uses (Group reads a fetch through it when the crypto port has verifyMany; the CLI and the bridge give their clients a pool that starts past 2,000 signatures). " +
  "npm run bench (2026-12-05, load 0.4-1.5, a quiet machine): 1.53x the one-core bare verify (28.3k events/s against 18.6k); at load 2-3 it measured 1.34, at load 3 with two other engineers' tests running 0.67 (the second core was not ours). " +
  "On 2 cores the ceiling is 2 x verify / (verify + main-thread work): verify 54 µs a frame here, the main thread's decrypt, decode, hash, bind and log ~13 µs (bench/profile-pipeline-overhead.ts), plus packing each batch for the worker and the canaries' signing, so 1.6 is at the ceiling itself. " +
  "Next: move the event-id hash into the workers (the main thread's largest share after decrypt).";

export const PIPELINE_ONE_CORE_BOUND =
  "XChaCha20 open, the event-id hash and the one copy beside Ed25519 verify: 0.77-0.84 across runs after issue 19's receive work (npm run bench -- --only pipeline, same run, load 2.2-2.9: 0.73 on the code before -> 0.84; 0.77 in the README's quiet run): one copy per message into a buffer laid out as SIG_DOMAIN ‖ bytes, verified in place; " +
  "base64url decoded and the frame decrypted into buffers the session reuses; the padding checked with Buffer.compare (a byte loop cost as much as decrypting); u64 fields read without BigInt; " +
  "ids spelt in hex once per add with Buffer's hexSlice, no per-seq Set, no 'referenced' set in the event log; no Buffer views made per call for verify, hash and decrypt. " +
  "Receive without verify (npx tsx bench/profile-pipeline-overhead.ts 10000 9, CPU time per frame, best of 9, alternating with the code before at load 8): 25-28 -> 12.7-13 µs. " +
  "What is left beside Ed25519 verify (node --cpu-prof --import tsx bench/profile-pipeline-overhead.ts): XChaCha20 open 20% of it, the event-id hash 16%, the decode's one copy 10%, base64url decode 9%, event-log add/deliver ~14%.";

export const BRIDGE_E2EE_BOUND =
  "the bridge's store save after each encrypt, not the crypto, the user's client or the command: timing E2eeMachine's steps in a full run (load ~6-7 on 2 cores) gave ~2-3 ms of machine work per decrypt and per encrypt, " +
  "and ~10 ms to save the device's store after an encrypt (dumpStore of the whole fake-indexeddb store, ~23 KB, ~1.5 ms; sealing it and writing it to the bridge's database, the rest). " +
  "Before 2026-12-05 every decrypt saved too (~10 ms more per command); a step that leaves the snapshot unchanged now writes nothing (bridge/e2ee/machine.ts). " +
  "The user's matrix-js-sdk decrypts a reply in under 1 ms and sends no slower in the encrypted room; key sharing is paid on a room's first message only (bridge_e2ee.first_command_ms). " +
  "The echo appservice on the same crypto costs about as much over plain as the command does, so the command adds little of its own. " +
  "Next, if the margin matters: write only what changed in the store (per record) instead of the whole snapshot per encrypt.";
