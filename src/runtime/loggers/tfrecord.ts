/**
 * TFRecord framing, the container format of TensorBoard event files.
 *
 * Each record is:
 *   uint64 length (little endian) | uint32 masked CRC-32C of those 8 bytes
 *   | length bytes of data        | uint32 masked CRC-32C of the data
 * The length has its own checksum so that a reader can tell a torn write (a file still being
 * appended to while TensorBoard polls it) from a corrupt length before trusting it.
 */
import { maskedCrc32c } from "./crc32c.ts";

/** Bytes of framing around each record's data. */
export const RECORD_OVERHEAD = 8 + 4 + 4;

/** One framed record holding `data`. */
export function encodeRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_OVERHEAD + data.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** The data of each record in `buf`, checking both checksums; a torn last record (a file being written) is left out. */
export function decodeRecords(buf: Uint8Array): Uint8Array[] {
  const records: Uint8Array[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  while (pos + 12 <= buf.length) {
    if (view.getUint32(pos + 8, true) !== maskedCrc32c(buf.subarray(pos, pos + 8))) throw new Error(`corrupt record length at byte ${pos}`);
    const n = Number(view.getBigUint64(pos, true));
    if (pos + RECORD_OVERHEAD + n > buf.length) break;
    const data = buf.subarray(pos + 12, pos + 12 + n);
    if (view.getUint32(pos + 12 + n, true) !== maskedCrc32c(data)) throw new Error(`corrupt record data at byte ${pos}`);
    records.push(data);
    pos += RECORD_OVERHEAD + n;
  }
  return records;
}
