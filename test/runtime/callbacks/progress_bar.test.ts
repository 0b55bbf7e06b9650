/**
 * The progress bar: tqdm's line format, plain output for logs and pipes (a bounded number of
 * lines however many batches), a real redrawn bar on a terminal (checked on an emulated
 * screen), colours and NO_COLOR, printing through the bar, and the Trainer's flags.
 */
import { describe, it, expect, beforeAll, afterEach, vi } from "vitest";
import { TQDMProgressBar, ProgressBar, Callback } from "../../../src/runtime/callbacks/index";
import { formatInterval, formatMeter, formatNum, unicodeBar } from "../../../src/runtime/callbacks/progress/tqdm_format";
import { usePureJsCpu, fakeTrainer, Tiny, Trainer, quietOptions, manualSeed, CaptureStream, RecordingLogger } from "./helpers";
import { renderScreen, stripAnsi } from "./vt";

beforeAll(usePureJsCpu);

describe("tqdm line format", () => {
  it("formats times, numbers and the bar as tqdm and Lightning do", () => {
    expect(formatInterval(65)).toBe("01:05");
    expect(formatInterval(3725)).toBe("1:02:05");
    expect(formatNum(0.5123, false)).toBe("0.512");
    expect(formatNum(1, false)).toBe("1.000");
    expect(formatNum(0.5, false)).toBe("0.500");
    expect(formatNum(123.456, false)).toBe("123.0");
    expect(formatNum(1e-5, false)).toBe("1e-5");
    expect(formatNum(12345.678, false)).toBe("1.23e+4");
    expect(formatNum(Infinity, false)).toBe("inf.0");
    expect(formatNum(12345, true)).toBe("12345");
    expect(formatNum(0, true)).toBe("0");
    expect(unicodeBar(0.45, 10)).toBe("████▌     ");
    expect(unicodeBar(1, 4)).toBe("████");
    expect(unicodeBar(0, 3)).toBe("   ");
  });

  it("lays out `desc: pct%|bar| n/total [elapsed<remaining, rate, postfix]` to the width", () => {
    const state = { desc: "Epoch 1", n: 90, total: 200, elapsedSeconds: 90 / 25.1, postfix: "v_num=0, train_loss=0.512" };
    const line = formatMeter(state, 100);
    expect(line).toMatch(/^Epoch 1: {2}45%\|█+[▏▎▍▌▋▊▉]? *\| 90\/200 \[00:03<00:04, 25\.10it\/s, v_num=0, train_loss=0\.512\]$/);
    expect([...line].length).toBe(100);
    expect(formatMeter(state, null)).toBe("Epoch 1:  45%| 90/200 [00:03<00:04, 25.10it/s, v_num=0, train_loss=0.512]");
    expect(formatMeter({ ...state, total: null }, 80)).toBe("Epoch 1: 90/? [00:03, 25.10it/s, v_num=0, train_loss=0.512]");
    expect(formatMeter({ ...state, n: 0, elapsedSeconds: 0 }, null)).toBe("Epoch 1:   0%| 0/200 [00:00<?, ?it/s, v_num=0, train_loss=0.512]");
  });
});

/** Drives a bar through `epochs` epochs of `batches` batches (and a validation of 5 per epoch) on a fake trainer. */
function driveFit(bar: TQDMProgressBar, epochs: number, batches: number): void {
  const trainer = fakeTrainer({ numTrainingBatches: batches, numValBatches: [5], maxEpochs: epochs, progressBarMetrics: { train_loss: 0.5 } });
  bar.setup(trainer, null as never, "fit");
  bar.onTrainStart(trainer, null as never);
  for (let e = 0; e < epochs; e++) {
    (trainer as { currentEpoch: number }).currentEpoch = e;
    bar.onTrainEpochStart(trainer, null as never);
    for (let b = 0; b < batches; b++) bar.onTrainBatchEnd(trainer, null as never, {}, null, b);
    bar.onValidationStart(trainer, null as never);
    for (let b = 0; b < 5; b++) {
      bar.onValidationBatchStart(trainer, null as never, null, b, 0);
      bar.onValidationBatchEnd(trainer, null as never, null, null, b, 0);
    }
    trainer.progressBarMetrics.val_loss = 0.25;
    bar.onValidationEnd(trainer, null as never);
    bar.onTrainEpochEnd(trainer, null as never);
  }
  bar.onTrainEnd(trainer, null as never);
}

describe("plain output (not a TTY)", () => {
  it("prints about ten lines for an epoch of 1000 batches, never one per batch", () => {
    const stream = new CaptureStream({ isTTY: false });
    driveFit(new TQDMProgressBar({ stream }), 1, 1000);
    const lines = stream.lines;
    expect(lines.length).toBeLessThanOrEqual(11);
    expect(lines.length).toBeGreaterThanOrEqual(9);
    expect(lines[0]).toMatch(/^Epoch 0: {2}10%\| 100\/1000 \[/);
    expect(lines.at(-1)).toMatch(/^Epoch 0: 100%\| 1000\/1000 \[.*, train_loss=0\.500, val_loss=0\.250\]$/);
    // Plain text: no carriage returns, cursor moves or colours.
    expect(stream.text).not.toMatch(/[\r\x1b]/);
  });

  it("stays bounded per epoch over several epochs, with refreshRate too", () => {
    const stream = new CaptureStream({ isTTY: false });
    driveFit(new TQDMProgressBar({ stream, refreshRate: 7 }), 3, 500);
    expect(stream.lines.length).toBeLessThanOrEqual(33);
    expect(stream.lines.filter((l) => /^Epoch \d: 100%/.test(l))).toHaveLength(3);
  });

  it("on a real fit: lines with the epoch's metrics, no line per batch", async () => {
    manualSeed(0);
    const stream = new CaptureStream({ isTTY: false });
    const trainer = new Trainer(
      quietOptions({ maxEpochs: 2, enableProgressBar: true, logger: new RecordingLogger(3), callbacks: [new TQDMProgressBar({ stream })] }),
    );
    await trainer.fit(new Tiny({ n: 400, batchSize: 4 }));
    const finals = stream.lines.filter((l) => / 100%\| 100\/100 \[/.test(l));
    expect(finals).toHaveLength(2);
    expect(finals[1]).toMatch(/^Epoch 1: 100%\| 100\/100 \[\d\d:\d\d<00:00, +[\d.]+it\/s, v_num=3, train_loss=[\d.]+, val_loss=[\d.]+\]$/);
    expect(stream.lines.length).toBeLessThanOrEqual(22);
  });
});

describe("terminal output (TTY)", () => {
  // Snapshot after the file's beforeAll (usePureJsCpu sets LIGHTNING_TS_LOG_LEVEL=warning), so
  // restoring it keeps the Trainer's info messages, which print through the bar, off the screen.
  let env: NodeJS.ProcessEnv = {};
  beforeAll(() => {
    env = { ...process.env };
  });
  afterEach(() => {
    process.env = { ...env };
  });

  it("draws one bar that is redrawn in place, with the validation bar below it while validating", async () => {
    manualSeed(0);
    process.env.NO_COLOR = "1";
    const stream = new CaptureStream({ isTTY: true, columns: 100 });
    const trainer = new Trainer(quietOptions({ maxEpochs: 2, enableProgressBar: true, callbacks: [new TQDMProgressBar({ stream })] }));
    let midValidation: string[] = [];
    const module = new Tiny({ n: 32, batchSize: 8, valN: 16 });
    module.onValidationBatchEnd = () => {
      if (!trainer.sanityChecking) midValidation = renderScreen(stream.text);
    };
    await trainer.fit(module);

    expect(midValidation).toHaveLength(2);
    expect(midValidation[0]).toMatch(/^Epoch \d: 100%\|█+\| 4\/4 \[/);
    expect(midValidation[1]).toMatch(/^Validation DataLoader 0: +\d+%\|[█▏▎▍▌▋▊▉ ]+\| \d\/2 \[/);

    const screen = renderScreen(stream.text);
    // The sanity check and validation bars are gone; the training bar stays with its final numbers.
    expect(screen).toHaveLength(1);
    expect(screen[0]).toMatch(/^Epoch 1: 100%\|█+\| 4\/4 \[\d\d:\d\d<00:00, +[\d.]+it\/s, train_loss=[\d.]+, val_loss=[\d.]+\]$/);
    expect([...screen[0]].length).toBeLessThanOrEqual(100);
    expect(stream.text).toContain("\x1b[");
    expect(stream.text).not.toMatch(/\x1b\[[0-9;]*m/);
  });

  it("keeps every epoch's line with leave: true, and prints messages above the bar", async () => {
    manualSeed(0);
    process.env.NO_COLOR = "1";
    const stream = new CaptureStream({ isTTY: true, columns: 120 });
    const trainer = new Trainer(quietOptions({ maxEpochs: 3, enableProgressBar: true, callbacks: [new TQDMProgressBar({ stream, leave: true })] }));
    const module = new Tiny();
    module.onTrainEpochEnd = () => trainer.print(`done with epoch ${trainer.currentEpoch}`);
    await trainer.fit(module);
    const screen = renderScreen(stream.text);
    // The bar's own onTrainEpochEnd (closing the epoch's bar) runs before the module's.
    expect(screen.map((l) => l.replace(/\|.*$/, "|"))).toEqual([
      "Epoch 0: 100%|",
      "done with epoch 0",
      "Epoch 1: 100%|",
      "done with epoch 1",
      "Epoch 2: 100%|",
      "done with epoch 2",
    ]);
  });

  it("shows the Trainer's own messages (`Trainer.fit` stopped: …) above the bar instead of writing into it", async () => {
    manualSeed(0);
    process.env.NO_COLOR = "1";
    // The helpers silence info messages; this test is about where they go.
    process.env.LIGHTNING_TS_LOG_LEVEL = "info";
    const stream = new CaptureStream({ isTTY: true, columns: 100 });
    const trainer = new Trainer(quietOptions({ maxEpochs: 2, enableProgressBar: true, callbacks: [new TQDMProgressBar({ stream })] }));
    // A message written straight to stdout while the bar is drawn would land in the middle of
    // its line on a real terminal: nothing of the run may go there.
    const stdout: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => (stdout.push(String(s)), true));
    try {
      await trainer.fit(new Tiny());
    } finally {
      write.mockRestore();
    }
    expect(stdout.join("")).toBe("");
    const screen = renderScreen(stream.text);
    expect(screen).toHaveLength(2);
    expect(screen[0]).toBe("`Trainer.fit` stopped: `maxEpochs=2` reached.");
    expect(screen[1]).toMatch(/^Epoch 1: 100%\|█+\| 4\/4 \[/);
  });

  it("colours the bar unless NO_COLOR is set", () => {
    delete process.env.NO_COLOR;
    delete process.env.FORCE_COLOR;
    const colored = new CaptureStream({ isTTY: true });
    driveFit(new TQDMProgressBar({ stream: colored }), 1, 20);
    expect(colored.text).toMatch(/\x1b\[35m█/);
    expect(renderScreen(stripAnsi(colored.text))[0]).toMatch(/^Epoch 0: 100%\|█+\| 20\/20 \[/);

    process.env.NO_COLOR = "1";
    const plain = new CaptureStream({ isTTY: true });
    driveFit(new TQDMProgressBar({ stream: plain }), 1, 20);
    expect(plain.text).not.toMatch(/\x1b\[[0-9;]*m/);
  });
});

describe("progress bar and the Trainer", () => {
  it("is the Trainer's default, and absent with enableProgressBar: false", () => {
    const withBar = new Trainer({ logger: false });
    expect(withBar.progressBarCallback).toBeInstanceOf(TQDMProgressBar);
    expect(withBar.callbacks.filter((c) => c instanceof ProgressBar)).toHaveLength(1);
    const without = new Trainer({ logger: false, enableProgressBar: false });
    expect(without.callbacks.some((c) => c instanceof ProgressBar)).toBe(false);
    expect(without.progressBarCallback).toBeNull();
  });

  it("recognises a user's bar by class (instanceof ProgressBar), whatever its name", async () => {
    class MyBar extends TQDMProgressBar {
      printed: string[] = [];
      override print(...args: unknown[]): void {
        this.printed.push(args.map(String).join(" "));
      }
    }
    const mine = new MyBar({ stream: new CaptureStream({ isTTY: false }) });
    const trainer = new Trainer({ logger: false, callbacks: [mine] });
    expect(trainer.progressBarCallback).toBe(mine);
    // It takes the default bar's place: no second bar is added.
    expect(trainer.callbacks.filter((c) => c instanceof ProgressBar)).toEqual([mine]);
    trainer.print("hello");
    expect(mine.printed).toEqual(["hello"]);
    expect(() => new Trainer({ logger: false, enableProgressBar: false, callbacks: [new MyBar()] })).toThrow(
      "Trainer was configured with `enableProgressBar=false` but found `MyBar` in callbacks list.",
    );

    // A direct ProgressBar subclass with an unrelated name is the bar too …
    class Dots extends ProgressBar {
      private on = true;
      disable(): void {
        this.on = false;
      }
      enable(): void {
        this.on = true;
      }
      get isEnabled(): boolean {
        return this.on;
      }
    }
    const dots = new Dots();
    expect(new Trainer({ logger: false, callbacks: [dots] }).progressBarCallback).toBe(dots);
    // … and a callback whose name only looks like one is not.
    class FakeProgressBar extends Callback {}
    const withFake = new Trainer({ logger: false, callbacks: [new FakeProgressBar()] });
    expect(withFake.progressBarCallback).toBeInstanceOf(TQDMProgressBar);
    expect(withFake.callbacks.filter((c) => c instanceof ProgressBar)).toHaveLength(1);
    expect(new Trainer({ logger: false, enableProgressBar: false, callbacks: [new FakeProgressBar()] }).progressBarCallback).toBeNull();
  });

  it("shows v_num and the progress-bar metrics, warning once about a clash", () => {
    const bar = new TQDMProgressBar({ stream: new CaptureStream({ isTTY: false }) });
    const trainer = fakeTrainer({ loggers: [new RecordingLogger(7)], progressBarMetrics: { loss: 0.25 } });
    expect(bar.getMetrics(trainer, null)).toEqual({ v_num: { value: 7, isInt: true }, loss: 0.25 });
    expect(bar.getMetrics(fakeTrainer({ loggers: [new RecordingLogger("my_run_2024")] }), null)).toEqual({ v_num: "2024" });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    bar.getMetrics(fakeTrainer({ loggers: [new RecordingLogger(1)], progressBarMetrics: { v_num: 5 } }), null);
    expect(warn.mock.calls.some((c) => String(c[0]).includes("The progress bar already tracks a metric with the name(s) 'v_num'"))).toBe(true);
    warn.mockRestore();
  });

  it("draws nothing when disabled (refreshRate 0, or not rank 0)", () => {
    const off = new CaptureStream({ isTTY: true });
    driveFit(new TQDMProgressBar({ stream: off, refreshRate: 0 }), 1, 10);
    expect(off.text).toBe("");
    const rank1 = new CaptureStream({ isTTY: false });
    const bar = new TQDMProgressBar({ stream: rank1 });
    bar.setup(fakeTrainer({ isGlobalZero: false }), null as never, "fit");
    expect(bar.isEnabled).toBe(false);
  });
});
