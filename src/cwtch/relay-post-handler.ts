// A post's way through the relay (relay-connection.ts hands it over in
// arrival order): its checks (size, canonical base64url, proof-of-work), the
// store, eviction to the bounds, the `posted` answer and the live push. A
// refusal is thrown as a FrameError, which the connection answers.
import { WebSocket } from "ws";
import { checkPow } from "./pow.js";
import { PostBytes } from "./relay-post-bytes.js";
import { FrameError, type ClientFrame } from "./relay-protocol.js";
import { frameBytes } from "./relay-store.js";
import type { RelayContext, RequestOutlet } from "./relay-context.js";
import { postedWire } from "./relay-subscriptions.js";

type PostFrame = Extract<ClientFrame, { op: "post" }>;

/**
 * A post's checks before it is stored: its bytes, or null when it was
 * refused with an answer already sent (proof-of-work). Throws FrameError.
 * `decoded`: its bytes from the fast path, which decodes only blobs that pass
 * the two checks here before the others.
 */
function checkPost(c: RequestOutlet, ctx: RelayContext, f: PostFrame, decoded?: PostBytes): PostBytes | null {
  const { limits: o, crypto } = ctx;
  if (f.blob.length > ctx.maxB64 + 4) throw new FrameError("too-large", `blob over ${o.maxBlobBytes} bytes`, f.rid);
  // Canonical encoding only: the relay then forwards the client's own string
  // and two spellings of one blob cannot dodge duplicate detection.
  const post = decoded ?? PostBytes.decode(f.tag, f.blob);
  const blob = post?.blob;
  if (!post || !blob || blob.length === 0) throw new FrameError("bad-frame", "post.blob must be non-empty canonical base64url", f.rid);
  if (blob.length > o.maxBlobBytes) throw new FrameError("too-large", `blob is ${blob.length} bytes, max ${o.maxBlobBytes}`, f.rid);
  if (frameBytes(f.tag, blob) > o.maxBytes / 2) throw new FrameError("too-large", `frame is ${frameBytes(f.tag, blob)} bytes with its tag, more than half this relay's store (${o.maxBytes})`, f.rid);
  const bits = ctx.pow.required(ctx.now());
  if (bits > 0 && crypto) {
    // Name the difficulty in the error: it may have risen since this client's hello.
    if (f.pow === undefined) return c.rejectPow("pow-required", `this relay requires a proof-of-work stamp of ${bits} bits now`, f.rid, bits), null;
    if (!checkPow(crypto, f.tag, blob, f.pow, bits)) return c.rejectPow("pow-invalid", `stamp does not reach the ${bits} bits required now for this frame`, f.rid, bits), null;
  }
  return post;
}

/** A post to a store that answers at once (store.appendNow, ctx.sweepNow): handlePost without a promise. */
export function postNow(c: RequestOutlet, ctx: RelayContext, f: PostFrame, decoded?: PostBytes): void {
  const post = checkPost(c, ctx, f, decoded);
  if (!post) return;
  const r = ctx.store.appendNow!(f.tag, post.blob, ctx.now(), c.owner, post.digest());
  if (!r.duplicate) {
    try {
      ctx.sweepNow!();
    } catch (e) {
      ctx.log.error("eviction failed", { error: String(e) });
    }
  }
  answerPost(c, ctx, f, post, r);
}

export async function handlePost(c: RequestOutlet, ctx: RelayContext, f: PostFrame, decoded?: PostBytes): Promise<void> {
  // A store that answers at once stores, evicts and answers in one step, so answers and live frames
  // keep seq order across connections: with an await between the append and the answer, a post that
  // had to evict answered after a later one that did not (subscribers saw seq 12 before 11).
  if (ctx.sweepNow && ctx.store.appendNow) return postNow(c, ctx, f, decoded);
  const post = checkPost(c, ctx, f, decoded);
  if (!post) return;
  const r = await ctx.store.append(f.tag, post.blob, ctx.now(), c.owner, post.digest());
  // Evict before answering, so the bounds already hold when a client sees
  // `posted`; the frame is stored, so an eviction failure is not its error.
  // Checked synchronously first: an await per post costs more than the check.
  if (!r.duplicate && ctx.needsSweep()) await ctx.sweep().catch((e) => ctx.log.error("eviction failed", { error: String(e) }));
  answerPost(c, ctx, f, post, r);
}

/** A stored post's answer, and its live push. */
function answerPost(c: RequestOutlet, ctx: RelayContext, f: PostFrame, post: PostBytes, r: { seq: number; duplicate: boolean }): void {
  const { limits: o, store } = ctx;
  // A store may evict what was just appended (the memory store does not: its
  // fairness spares unsettled frames); `posted` would then be a lie the
  // client relies on (it stops offering the frame to this relay).
  if (store.holds && !store.holds(r.seq)) {
    throw new FrameError("too-large", `frame of ${frameBytes(f.tag, post.blob)} bytes was evicted at once: it is more than this relay's fair share of its ${o.maxBytes}-byte store while others hold the rest`, f.rid);
  }
  ctx.metrics.accepted++;
  // The ack binds this answer to the frame as received and the seq it holds: a client
  // whose copy was bent on the way, or whose answer is, does not take it as held.
  if (c.ws.readyState === WebSocket.OPEN && !c.shedding) {
    c.sendWire(postedWire(f.rid, r.seq, r.duplicate, post.ack(r.seq)));
  }
  if (!r.duplicate && !ctx.fed) ctx.subs.push(f.tag, r.seq, f.blob);
}
