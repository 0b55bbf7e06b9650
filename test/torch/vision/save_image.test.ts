import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { tf, saveImage } from "lightning-ts/torch";
import { decodePng } from "../../runtime/loggers/independent_png_reader";

describe("saveImage (torchvision.utils.save_image)", () => {
  it("writes makeGrid's layout as a PNG, rounding x·255 half up as torchvision does", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "save-image-"));
    const file = path.join(dir, "grid.png");
    const values = [0, 0.5, 1, 0.2, 0.7, 0.999, -1, 2]; // two 1×2×2 images
    saveImage(tf.tensor4d(values, [2, 1, 2, 2]), file, { nrow: 2, padding: 1 });
    const png = decodePng(new Uint8Array(fs.readFileSync(file)));
    expect([png.width, png.height, png.channels]).toEqual([2 * 3 + 1, 2 + 2, 3]);
    // torchvision: grid.mul(255).add_(0.5).clamp_(0, 255) in float32, then truncated to uint8
    const byte = (v: number) => Math.min(255, Math.max(0, Math.trunc(Math.fround(Math.fround(Math.fround(v) * 255) + 0.5))));
    const at = (x: number, y: number) => png.pixels[(y * png.width + x) * 3];
    expect([at(1, 1), at(2, 1), at(1, 2), at(2, 2)]).toEqual([0, 0.5, 1, 0.2].map(byte)); // 0.5 → 128 (half up)
    expect([at(4, 1), at(5, 1), at(4, 2), at(5, 2)]).toEqual([0.7, 0.999, -1, 2].map(byte));
    expect(at(4, 1)).toBe(179); // float32 0.7 · 255 = 178.5 exactly, then + 0.5 (in float64 it would truncate to 178)
    expect(at(0, 0)).toBe(0); // padding
    expect(fs.readdirSync(dir)).toEqual(["grid.png"]); // written atomically: no temporary left
    fs.rmSync(dir, { recursive: true });
  });
});
