// The room hears once per key when someone it cannot vouch for acts above the
// lowest role: a member who keeps their own key and whom no member has
// verified, or any member with a changed key as identity.ts defines it (a
// name a vouched key held before, or a Matrix id this bridge checked belongs
// to another key; a claim nobody confirmed counts for nothing). A Matrix user
// whose key this bridge holds is authenticated by the homeserver already;
// only a changed key is news there.
import type { PursuanceClient } from "../pursuance/client/client.js";
import { checkLinks, claimHistory, trustWarning, whois, type ClaimHistory } from "../pursuance/identity.js";
import { esc } from "./mirror-render.js";
import type { BridgeStorePort, MatrixPort } from "./ports.js";

export class TrustWarnings {
  private readonly asked = new Set<string>();
  private memo: { applied: readonly unknown[]; n: number; history: ClaimHistory } | null = null;

  constructor(
    private readonly store: Pick<BridgeStorePort, "sayOnce">,
    private readonly matrix: Pick<MatrixPort, "send">,
    /** The Matrix user whose key this bridge holds for `member`, or null. */
    private readonly hostedAs: (member: string) => string | null,
    /** Whether that Matrix account confirmed `member`'s link to it (`!whois confirm`). */
    private readonly confirmed: (member: string, matrix: string) => Promise<boolean>,
  ) {}

  async warn(c: PursuanceClient, roomId: string, author: string): Promise<void> {
    const s = c.state;
    if (!s.members.has(author)) return;
    const links = await checkLinks(s, [author], { hosts: this.hostedAs, confirmed: this.confirmed });
    const row = whois(c.crypto, s, this.history(c), author, links);
    if (this.hostedAs(author) !== null && row.changed.length === 0) return;
    const reason = trustWarning(row, s);
    if (!reason) return;
    const kind = row.changed.length > 0 ? "changed" : "unverified";
    // Every event of the author passes here: ask the store once per room, author and kind per run.
    const key = `${roomId}|${author}|${kind}`;
    if (this.asked.has(key)) return;
    this.asked.add(key);
    if (!(await this.store.sayOnce(roomId, author, `trust:${kind}`))) return;
    const plain = `⚠ ${reason}`;
    await this.matrix.send(roomId, { plain, html: esc(plain), notice: true, txnId: `trust.${author.slice(0, 24)}.${kind}` });
  }

  /** Names and Matrix ids by key, from the applied log; recomputed only when the log grew or refolded. */
  private history(c: PursuanceClient): ClaimHistory {
    const applied = c.fold.applied;
    if (this.memo && this.memo.applied === applied && this.memo.n === applied.length) return this.memo.history;
    const history = claimHistory(applied);
    this.memo = { applied, n: applied.length, history };
    return history;
  }
}
