// A Matrix account's confirmation that a member's key, which linked itself to
// that account in the log, is theirs (`!whois confirm`). Only the bridge sees
// the homeserver authenticate the account, so the record lives in its store.
import type { BridgeStorePort } from "./ports.js";

const scope = (groupId: string) => `confirm:${groupId}`;

export class Confirmations {
  constructor(
    private readonly store: Pick<BridgeStorePort, "said" | "sayOnce">,
    private readonly groupId: string,
  ) {}

  confirmed(member: string, matrix: string): Promise<boolean> {
    return this.store.said(scope(this.groupId), matrix, member);
  }

  async confirm(member: string, matrix: string): Promise<void> {
    await this.store.sayOnce(scope(this.groupId), matrix, member);
  }
}
