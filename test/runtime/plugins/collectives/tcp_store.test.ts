/** Our TCPStore client against our server: every query, waits that complete later, timeouts. */
import { describe, expect, it } from "vitest";
import { TCPStoreServer, TCPStoreClient } from "../../../../src/runtime/plugins/collectives/index";

describe("TCPStore (ours with ours)", () => {
  it("set/get, add counters, compareSet, check, wait, numKeys, deleteKey, across two clients", async () => {
    const server = await TCPStoreServer.start(0, "127.0.0.1");
    const a = await TCPStoreClient.connect("127.0.0.1", server.port);
    const b = await TCPStoreClient.connect("127.0.0.1", server.port);
    try {
      await a.set("x", "hello");
      expect((await b.get("x")).toString()).toBe("hello");
      expect(await a.add("n", 5)).toBe(5);
      expect(await b.add("n", -2)).toBe(3);
      expect((await a.get("n")).toString()).toBe("3"); // a counter is its decimal string, as in PyTorch
      expect((await a.compareSet("cs", "", "first")).toString()).toBe("first");
      expect((await b.compareSet("cs", "wrong", "second")).toString()).toBe("first");
      expect((await b.compareSet("cs", "first", "second")).toString()).toBe("second");
      expect(await a.check(["x", "n"])).toBe(true);
      expect(await a.check(["x", "missing"])).toBe(false);
      // a wait (and a get) completes when another client sets the key
      const waiting = b.get("late");
      setTimeout(() => void a.set("late", new Uint8Array([1, 2, 3])), 50);
      expect([...(await waiting)]).toEqual([1, 2, 3]);
      expect(await a.numKeys()).toBe(4);
      expect(await a.deleteKey("x")).toBe(true);
      expect(await a.deleteKey("x")).toBe(false);
      expect(await a.check(["x"])).toBe(false);
    } finally {
      a.close();
      b.close();
      await server.close();
    }
  });

  it("a client that cannot connect says where it tried and which variables set that; a wait that never ends times out", async () => {
    const server = await TCPStoreServer.start(0, "127.0.0.1");
    const port = server.port;
    await server.close();
    await expect(TCPStoreClient.connect("127.0.0.1", port, { timeoutMs: 200 })).rejects.toThrow(
      new RegExp(`could not connect to 127\\.0\\.0\\.1:${port} \\(MASTER_ADDR:MASTER_PORT\\) within 0\\.2 s`),
    );
    const again = await TCPStoreServer.start(0, "127.0.0.1");
    const c = await TCPStoreClient.connect("127.0.0.1", again.port, { timeoutMs: 150 });
    await expect(c.wait(["never"])).rejects.toThrow("TCPStore: wait(never) timed out after 0.15 s");
    c.close();
    await again.close();
  });
});
