import * as fs from "node:fs";

import { describe, expect, it } from "vitest";

import { SummaryWriter } from "../../../src/runtime/loggers/summary_writer";
import { readEventFile, readTfRecords } from "./independent_tfevents_reader";
import { tempDir } from "./tmp_dirs";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("SummaryWriter", () => {
  it("encodes a scalar event byte for byte as event.proto / summary.proto define it", () => {
    const writer = new SummaryWriter(tempDir());
    writer.addScalar("x", 0.5, 3, 1.5);
    writer.close();
    const records = readTfRecords(new Uint8Array(fs.readFileSync(writer.filePath)));
    expect(records).toHaveLength(2);
    // Event { wall_time(1, double) = 1.5, step(2, int64) = 3,
    //         summary(5) = Summary { value(1) = Value { tag(1) = "x", simple_value(2, float) = 0.5 } } }
    expect(hex(records[1])).toBe(["09", "000000000000f83f", "1003", "2a0a", "0a08", "0a0178", "150000003f"].join(""));
    // Event { wall_time(1) = now, file_version(3) = "brain.Event:2",
    //         source_metadata(10) = SourceMetadata { writer(1) = "lightning-ts" } }
    const first = hex(records[0]);
    expect(first.slice(0, 2)).toBe("09");
    expect(first.slice(18)).toBe(
      "1a0d" + hex(Buffer.from("brain.Event:2")) + "520e0a0c" + hex(Buffer.from("lightning-ts")),
    );
  });

  it("omits step 0 like a proto3 writer, while the value 0 itself is always written", () => {
    const writer = new SummaryWriter(tempDir());
    writer.addScalar("zero", 0, 0, 2);
    writer.addScalar("nostep", 1, undefined, 2);
    writer.close();
    const records = readTfRecords(new Uint8Array(fs.readFileSync(writer.filePath)));
    expect(hex(records[1])).toBe("09" + "0000000000000040" + "2a0d" + "0a0b" + "0a047a65726f" + "1500000000");
    const events = readEventFile(writer.filePath);
    expect(events.slice(1).map((e) => [e.step, e.values?.[0].tag, e.values?.[0].simpleValue])).toEqual([
      [0n, "zero", 0],
      [0n, "nostep", 1],
    ]);
  });

  it("refuses writes to a closed file only until it reopens a new one", () => {
    const dir = tempDir();
    const writer = new SummaryWriter(dir);
    const first = writer.filePath;
    writer.close();
    writer.close(); // harmless
    writer.flush(); // harmless on a closed file
    writer.addScalar("later", 1, 1);
    expect(writer.filePath).not.toBe(first);
    writer.close();
    expect(fs.readdirSync(dir)).toHaveLength(2);
  });
});
