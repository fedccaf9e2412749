// Two writes of ours never sign the same seq, whichever path they take
// (attacker atk14): Group.publish waits in the same line as publishStored,
// whose store may be slow; and a group closed while a write is being stored
// adds and sends nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toHex } from "../src/cwtch/bytes.js";
import { startRelay, type RelayServer } from "../src/cwtch/relay-server.js";
import { PursuanceClient } from "../src/pursuance/client/client.js";
import { encodeBody } from "../src/pursuance/events.js";
import { identity, ports } from "./helpers/pursuance-node.js";

describe("one line for our writes", () => {
  let relay: RelayServer;
  let ada: PursuanceClient;
  beforeAll(async () => {
    relay = await startRelay();
    ada = await PursuanceClient.create(await ports(), await identity(), { name: "Line", founderName: "ada", relays: [relay.url] });
  });
  afterAll(async () => {
    ada?.close();
    await relay?.close();
  });

  it("a publish while a stored publish's store is slow signs the next seq, not the same one", async () => {
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const first = ada.group.publishStored(encodeBody({ t: "announce", text: "first" }), undefined, () => slow);
    const second = ada.group.publish(encodeBody({ t: "announce", text: "second" }));
    await new Promise((r) => setTimeout(r, 100));
    release();
    const [a, b] = [(await first).event, await second];
    expect(b.seq).toBe(a.seq + 1);
    const mine = [...ada.session.log.events()].filter((e) => toHex(e.author) === ada.me).map((e) => e.seq);
    expect(new Set(mine).size).toBe(mine.length);
    expect(ada.session.log.equivocations.length).toBe(0);
  });
});
