/** Fresh temporary directories for logger tests, removed after each test. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterEach } from "vitest";

const created: string[] = [];

export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lightning-ts-loggers-"));
  created.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});
