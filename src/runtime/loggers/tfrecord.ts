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
