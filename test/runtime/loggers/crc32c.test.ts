import { describe, expect, it } from "vitest";

import { crc32c, maskCrc, maskedCrc32c } from "../../../src/runtime/loggers/crc32c";
import { RECORD_OVERHEAD, encodeRecord } from "../../../src/runtime/loggers/tfrecord";
import { crc32cBitwise, maskBitwise, readTfRecords } from "./independent_tfevents_reader";

const ascii = (s: string) => new TextEncoder().encode(s);

describe("crc32c", () => {
  it("matches the standard check value and the RFC 3720 (iSCSI) test vectors", () => {
    expect(crc32c(ascii("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it("the test's bitwise implementation agrees on the same vectors", () => {
    expect(crc32cBitwise(ascii("123456789"))).toBe(0xe3069283);
    expect(crc32cBitwise(new Uint8Array(32))).toBe(0x8a9136aa);
  });

  it("agrees with a bitwise implementation on arbitrary data", () => {
    let seed = 12345;
    for (let len = 0; len < 300; len += 7) {
      const data = Uint8Array.from({ length: len }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
      expect(crc32c(data)).toBe(crc32cBitwise(data));
    }
  });

  it("masks as TFRecord does: rotate right by 15, add 0xa282ead8 modulo 2^32", () => {
    expect(maskCrc(0)).toBe(0xa282ead8);
    // 0xe3069283 rotated right by 15 is 0x2507c60d; plus the delta wraps past 2^32.
    expect(maskCrc(0xe3069283)).toBe((0x2507c60d + 0xa282ead8) % 2 ** 32);
    for (const crc of [1, 0x8000, 0xffffffff, 0x12345678, 0xe3069283]) expect(maskCrc(crc)).toBe(maskBitwise(crc));
    expect(maskedCrc32c(ascii("123456789"))).toBe(maskBitwise(0xe3069283));
  });
});

describe("TFRecord framing", () => {
  it("frames data as length, masked length CRC, data, masked data CRC", () => {
    const data = ascii("hello tensorboard");
    const record = encodeRecord(data);
    expect(record.length).toBe(data.length + RECORD_OVERHEAD);
    const view = new DataView(record.buffer);
    expect(view.getBigUint64(0, true)).toBe(BigInt(data.length));
    expect(view.getUint32(8, true)).toBe(maskBitwise(crc32cBitwise(record.subarray(0, 8))));
    expect(record.subarray(12, 12 + data.length)).toEqual(data);
    expect(view.getUint32(12 + data.length, true)).toBe(maskBitwise(crc32cBitwise(data)));
  });

  it("round-trips through the independent reader, empty records included", () => {
    const payloads = [ascii(""), ascii("a"), new Uint8Array(1000).fill(7)];
    const file = new Uint8Array(payloads.reduce((n, p) => n + p.length + RECORD_OVERHEAD, 0));
    let at = 0;
    for (const p of payloads) {
      const r = encodeRecord(p);
      file.set(r, at);
      at += r.length;
    }
    expect(readTfRecords(file)).toEqual(payloads);
  });

  it("is rejected by the reader when any byte is damaged", () => {
    const record = encodeRecord(ascii("payload"));
    for (const at of [0, 9, 13, record.length - 1]) {
      const damaged = record.slice();
      damaged[at] ^= 0x01;
      expect(() => readTfRecords(damaged)).toThrow(/checksum|truncated/);
    }
  });
});
