/**
 * Writes every image logged in a TensorBoard event file as a PNG (`<tag>_step<N>.png`), without
 * TensorBoard: `npx tsx examples/vae/extract_images.ts lightning_logs/version_0 [out-dir]`.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readEventFile } from "lightning-ts";

const [dir, out = "."] = process.argv.slice(2);
if (!dir) {
  console.error("usage: extract_images.ts <log dir with events.out.tfevents.*> [out dir]");
  process.exit(2);
}
mkdirSync(out, { recursive: true });
for (const file of readdirSync(dir).filter((f) => f.startsWith("events.out.tfevents."))) {
  for (const event of readEventFile(join(dir, file))) {
    for (const value of event.summary?.value ?? []) {
      if (!value.image) continue;
      const name = `${value.tag.replace(/[^\w.-]+/g, "_")}_step${event.step ?? 0}.png`;
      writeFileSync(join(out, name), value.image.encoded_image_string);
      console.log(`${join(out, name)}  ${value.image.width}x${value.image.height}`);
    }
  }
}
