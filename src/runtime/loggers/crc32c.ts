/**
 * CRC-32C (Castagnoli), the checksum TFRecord files carry, and TFRecord's "masked" form of it.
 *
 * TensorBoard's reader verifies both checksums of every record and drops a file at the first
 * mismatch, so these have to be exactly right. Table-driven, one byte per step: event files are
 * small and written a few records at a time, so slicing-by-8 would buy nothing measurable.
 */

/** The reflected Castagnoli polynomial 0x1EDC6F41. */
const POLYNOMIAL = 0x82f63b78;

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C of `data` (as an unsigned 32-bit integer). `crc32c("123456789") === 0xe3069283`. */
export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * TFRecord's masking constant. Computing a CRC over data that embeds CRCs of its own parts is
 * weak (LevelDB's and TensorFlow's crc32c.h note this), so stored checksums are rotated and
 * offset first.
 */
const MASK_DELTA = 0xa282ead8;

/** `((crc >>> 15) | (crc << 17)) + 0xa282ead8` modulo 2^32, as TFRecord stores checksums. */
export function maskCrc(crc: number): number {
  const rotated = ((crc >>> 15) | (crc << 17)) >>> 0;
  return (rotated + MASK_DELTA) >>> 0;
}

/** The masked CRC-32C of `data`. */
export function maskedCrc32c(data: Uint8Array): number {
  return maskCrc(crc32c(data));
}
