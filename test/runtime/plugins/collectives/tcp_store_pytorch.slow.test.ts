/**
 * Our TCPStore against PyTorch's own (Debian's PyTorch 1.13, `torch.distributed.TCPStore`): a
 * PyTorch client on our server, and our client on a PyTorch server, each reading what the other
 * side wrote — so a Node rank and a PyTorch process can share one rendezvous store.
 *
 * The timeouts are generous (90 s on both sides): the slow suite runs this beside whole training
 * runs on two cores, where importing torch alone can take many seconds.
 */
import { spawn, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { TCPStoreServer, TCPStoreClient } from "../../../../src/runtime/plugins/collectives/index";

const PYTHON = "/usr/bin/python3";
const hasTorch = spawnSync(PYTHON, ["-c", "import torch.distributed"]).status === 0;
const onCI = process.env.CI === "true" || process.env.CI === "1";

function python(code: string): { done: Promise<{ code: number | null; out: string; err: string }>; lines: AsyncIterable<string> } {
  const child = spawn(PYTHON, ["-u", "-c", code], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const listeners: Array<(l: string) => void> = [];
  // Whole lines only: `python -u` writes print()'s pieces one by one ("PORT", " ", "41234", "\n"),
  // and the pipe may deliver them in separate chunks.
  let partial = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    const pieces = (partial + d.toString()).split("\n");
    partial = pieces.pop()!;
    for (const l of pieces.filter(Boolean)) listeners.forEach((f) => f(l));
  });
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.on("close", (code) => resolve({ code, out, err })));
  const lines = {
    async *[Symbol.asyncIterator]() {
      const queue: string[] = [];
      let wake: (() => void) | null = null;
      listeners.push((l) => {
        queue.push(l);
        wake?.();
      });
      for (;;) {
        while (queue.length) yield queue.shift()!;
        await new Promise<void>((r) => (wake = r));
      }
    },
  };
  return { done, lines };
}

describe.skipIf(!hasTorch && !onCI)("TCPStore against PyTorch 1.13's", () => {
  it("has PyTorch", () => expect(hasTorch, `apt-get install -y python3-torch for ${PYTHON}`).toBe(true));

  it.runIf(hasTorch)("a PyTorch client on our server: every query, and each side reads the other's keys", async () => {
    const server = await TCPStoreServer.start(0, "127.0.0.1");
    const node = await TCPStoreClient.connect("127.0.0.1", server.port);
    await node.set("from_node", "n1");
    const py = python(`
import datetime, torch.distributed as dist
s = dist.TCPStore("127.0.0.1", ${server.port}, 2, False, timeout=datetime.timedelta(seconds=90))
assert s.get("from_node") == b"n1", s.get("from_node")
s.set("from_py", "p1")
assert s.add("counter", 5) == 5 and s.add("counter", 2) == 7
assert s.get("counter") == b"7"
assert s.compare_set("cs", "", "a") == b"a" and s.compare_set("cs", "b", "c") == b"a" and s.compare_set("cs", "a", "c") == b"c"
s.set("counted", "1")
s.wait(["late"])
assert s.get("late") == b"L"
assert s.delete_key("from_py") and not s.delete_key("from_py")
print("OK", s.num_keys())
`);
    expect((await node.get("from_py")).toString()).toBe("p1");
    // (get waits for the key: once PyTorch says it has counted, the counter is its 5 + 2)
    expect((await node.get("counted")).toString()).toBe("1");
    expect(await node.add("counter", 0)).toBe(7);
    await node.set("late", "L");
    const r = await py.done;
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^OK \d+/m);
    expect((await node.compareSet("cs", "x", "y")).toString()).toBe("c");
    node.close();
    await server.close();
  }, 180_000);

  it.runIf(hasTorch)("our client on a PyTorch server (is_master): every query, and each side reads the other's keys", async () => {
    const py = python(`
import datetime, socket, torch.distributed as dist
# A free port, then the store on it; another process may take the port in between: try again.
for attempt in range(5):
    sock = socket.socket(); sock.bind(("127.0.0.1", 0)); port = sock.getsockname()[1]; sock.close()
    try:
        s = dist.TCPStore("127.0.0.1", port, 2, True, timeout=datetime.timedelta(seconds=90), wait_for_workers=False)
        break
    except RuntimeError as e:
        print("RETRY", port, e, flush=True)
s.set("from_py", "hello")
print("PORT", port, flush=True)
s.wait(["from_node"])
assert s.get("from_node") == b"world"
assert s.get("counter") == b"10"
assert s.get("cs") == b"second"
s.set("done", "1")
print("OK", flush=True)
import time; time.sleep(1)
`);
    // (a server that dies before saying its port fails the test at once, with its error)
    let port = 0;
    const exited = py.done.then((r) => {
      if (port === 0) throw new Error(`the PyTorch server exited (${r.code}) before saying its port:\n${r.err.slice(-2000)}`);
    });
    exited.catch(() => {});
    const announced = (async () => {
      for await (const line of py.lines) {
        const m = /^PORT (\d+)/.exec(line);
        if (m) return Number(m[1]);
      }
      return 0;
    })();
    port = await Promise.race([announced, exited.then(() => 0)]);
    const node = await TCPStoreClient.connect("127.0.0.1", port, { timeoutMs: 90_000 });
    expect((await node.get("from_py")).toString()).toBe("hello");
    expect(await node.add("counter", 4)).toBe(4);
    expect(await node.add("counter", 6)).toBe(10);
    expect((await node.compareSet("cs", "", "first")).toString()).toBe("first");
    expect((await node.compareSet("cs", "first", "second")).toString()).toBe("second");
    expect(await node.check(["from_py"])).toBe(true);
    expect(await node.check(["nothing"])).toBe(false);
    await node.set("from_node", "world");
    await node.wait(["done"]);
    expect(await node.numKeys()).toBeGreaterThanOrEqual(5);
    node.close();
    const r = await py.done;
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("OK");
  }, 180_000);
});
