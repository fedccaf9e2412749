// What bounds each figure that misses its target, as the profiles showed it
// (node --cpu-prof on the section summarised by bench/profile.ts, or the
// memory breakdown the fold job reports). Kept apart from the jobs so a new
// profile updates one place; the results carry these as `bound`.
//
// Profiles taken 2026-12-05 on the 2-core bench machine, load average 13-19
// (shared), so absolute rates are low; the shares are what matter.

const RELAY_POST =
  "protocol work per post, not writes: the relay and the coalescing bare server make the same number of writev calls (0.025 per frame ingest, 0.05 fan-out-1, counted by wrapping Socket#_writev). " +
  "--cpu-prof of relay ingest (60k frames, main thread, share of all samples): ws receive 15% and writev 12% (both also paid by bare), handlePost 14% (store.append 8%: sha256 of tag‖blob 3.7% + copy 1%, duplicate map and fairness heap; base64url decode 2.8%), " +
  "onMessage 4.5% (JSON.parse of the ~1.4 KB post 3.2%), GC 8% (per-post objects and promises). Bare does none of that, so the relay costs ~2x bare per frame. " +
  "Next: parse post frames without JSON.parse of the blob (strict shape fast path), hash without the copy, fewer promises per post (a sync fast path when the store answers synchronously).";

export const RELAY_BOUNDS: Record<string, string> = {
  ingest: RELAY_POST,
  "fanout-1": `${RELAY_POST} Fan-out adds the frame's text (built by hand once per frame, not per subscriber) and a send per subscriber, as bare does.`,
};

export const FOLD_RSS_BOUND =
  "memory of the fold's input and its own indexes, not the bench: the fold runs in its own process, its input decoded one event at a time with the raw log dropped. " +
  "Breakdown at 100k events: the runtime (node + tsx + sodium-native) 82 MiB RSS before any event; 100k PEvents 137 MiB of heap (~1.4 KB each: hex id, author and parent strings, parsed body), " +
  "and V8 keeps ~100 MiB more heap committed after decoding; foldAll adds ~90 MiB of heap while it runs (Fold's maps keyed by 64-char hex ids: events, cited, slots, candidates, edges, verdicts) and keeps 30 MiB. " +
  "Plan (in src/pursuance/fold.ts and pevent.ts, which other work is changing now, so not done here): intern author hex strings and key Fold's maps by a small integer per event instead of hex ids; " +
  "let foldAll consume events in causal batches so the decoded bodies of applied events can be dropped (the state keeps what it needs).";

export const COLDLOAD_BOUND =
  "the fold and decoding inside PursuanceClient.open, not PostgreSQL: --cpu-prof of the cold-open worker (20k events) puts 35% of its samples in open(): Fold.add 17% " +
  "(of which applyTaskComment -> requireReader -> canReadTask in state.ts 5.6%), GroupSession.restore of the causal log 6.8%, toPEvent 5.1% (toHex of ids 4.2%), decodeAndVerify 4.3% (event-id hash 1.8%), " +
  "GC 11% of all samples; loadEvents (the SQL read) is 15% of the open at 100k (1.5 of 11.1 s at load 16). Next: a cached reader set per task in canReadTask, ids kept as bytes until needed as text, " +
  "and restore/fold sharing one decode (both are in files others are changing now).";

export const PIPELINE_BOUND =
  "GroupSession.receive runs on one thread: a second core is not used, so this ratio cannot pass 1 until signature verification is spread over a worker pool (verify is independent per event; ordering and dedupe would stay on the main thread).";

export const PIPELINE_ONE_CORE_BOUND =
  "Ed25519 verify itself: --cpu-prof of GroupSession.receive over 8k frames (sodium-native) puts 75% of receive in crypto.verify, which is the whole baseline; " +
  "the other 25% is event-log add/deliver (14% of receive), toHex of ids (7%), XChaCha20 open (7%), the concat of domain ‖ unsigned bytes copied per event before verify (7%), and the event-id hash (6%). " +
  "So 0.8 needs that 25% cut by more than half: verify over the bytes in place (no concat), ids kept as bytes, a cheaper causal-log insert.";

export const BRIDGE_E2EE_BOUND =
  "the bridge's store save after each encrypt, not the crypto, the user's client or the command: timing E2eeMachine's steps in a full run (load ~6-7 on 2 cores) gave ~2-3 ms of machine work per decrypt and per encrypt, " +
  "and ~10 ms to save the device's store after an encrypt (dumpStore of the whole fake-indexeddb store, ~23 KB, ~1.5 ms; sealing it and writing it to the bridge's database, the rest). " +
  "Before 2026-12-05 every decrypt saved too (~10 ms more per command); a step that leaves the snapshot unchanged now writes nothing (bridge/e2ee/machine.ts). " +
  "The user's matrix-js-sdk decrypts a reply in under 1 ms and sends no slower in the encrypted room; key sharing is paid on a room's first message only (bridge_e2ee.first_command_ms). " +
  "The echo appservice on the same crypto costs about as much over plain as the command does, so the command adds little of its own. " +
  "Next, if the margin matters: write only what changed in the store (per record) instead of the whole snapshot per encrypt.";
