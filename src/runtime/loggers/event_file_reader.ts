/**
 * Reading an event file back (what TensorBoard does): the events of a `events.out.tfevents.*`
 * file, each checked against its TFRecord checksums — to look at logged values or take the
 * images out without TensorBoard (`examples/vae/extract_images.ts`).
 */
import { readFileSync } from "node:fs";
import { decodeRecords } from "./tfrecord.ts";
import { decodeEvent, type EventMessage } from "./event_protos.ts";

export function readEventFile(file: string): EventMessage[] {
  return decodeRecords(new Uint8Array(readFileSync(file))).map(decodeEvent);
}
