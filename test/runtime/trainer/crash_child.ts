/**
 * Child process for the checkpoint crash test: trains, saving `trainer.saveCheckpoint(argv[2])`
 * after every epoch. From the second save on, every file write is slowed down and
 * "slow-writing" is printed, so the parent can SIGKILL it in the middle of the write.
 * Not a test file itself.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as os from "node:os";

const { Trainer, Callback } = await import("lightning-ts");
const { manualSeed } = await import("lightning-ts/torch");
const { Classifier, usePureJsCpu } = await import("./helpers");

await usePureJsCpu();
const target = process.argv[2];
let saves = 0;

// Slow every FileHandle.write once the second save starts.
const probe = await fs.promises.open(path.join(os.tmpdir(), `probe-${process.pid}`), "w");
const proto = Object.getPrototypeOf(probe) as { write: (...a: unknown[]) => Promise<unknown> };
await probe.close();
const realWrite = proto.write;
proto.write = async function (this: unknown, ...args: unknown[]) {
  if (saves >= 2) {
    process.stdout.write("slow-writing\n");
    await new Promise((r) => setTimeout(r, 200));
  }
  return realWrite.apply(this, args);
};

class SaveEachEpoch extends Callback {
  override async onTrainEpochEnd(trainer: InstanceType<typeof Trainer>): Promise<void> {
    saves++;
    await trainer.saveCheckpoint(target);
    process.stdout.write(`saved ${saves}\n`);
  }
}

manualSeed(0);
await new Trainer({ maxEpochs: 3, logger: false, enableCheckpointing: false, enableProgressBar: false, enableModelSummary: false, callbacks: [new SaveEachEpoch()] }).fit(
  new Classifier(),
);
process.stdout.write("done\n");
