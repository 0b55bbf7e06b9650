import * as fs from "node:fs";
import * as path from "node:path";

import { describe, expect, it } from "vitest";

import { ExperimentDirectory, nextVersion, versionDirName } from "../../../src/runtime/loggers/versioning";
import { tempDir } from "./tmp_dirs";

describe("version directories", () => {
  it("is 0 for a missing or empty folder", () => {
    const dir = tempDir();
    expect(nextVersion(path.join(dir, "nope"))).toBe(0);
    expect(nextVersion(dir)).toBe(0);
  });

  it("is one past the largest version_<int> directory, as Lightning counts them", () => {
    const dir = tempDir();
    for (const d of ["version_0", "version_3", "version_2_old", "version_x", "version_", "versions_9", "v_8"]) {
      fs.mkdirSync(path.join(dir, d));
    }
    fs.writeFileSync(path.join(dir, "version_7"), "");
    expect(nextVersion(dir)).toBe(4);
    fs.mkdirSync(path.join(dir, "version_10_backup"));
    expect(nextVersion(dir)).toBe(11);
  });

  it("counts a symlink to a directory, as os.path.isdir does", () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, "elsewhere"));
    fs.symlinkSync(path.join(dir, "elsewhere"), path.join(dir, "version_5"));
    expect(nextVersion(dir)).toBe(6);
  });

  it("names directories version_N for numbers and verbatim for strings", () => {
    expect(versionDirName(3)).toBe("version_3");
    expect(versionDirName("3")).toBe("3");
    expect(versionDirName("2024-06-01/run3")).toBe("2024-06-01/run3");
  });

  it("resolves the version once, on first use", () => {
    const dir = tempDir();
    const d = new ExperimentDirectory(dir, "exp");
    fs.mkdirSync(path.join(dir, "exp", "version_1"), { recursive: true });
    expect(d.version).toBe(2); // looked at when first asked, not at construction
    fs.mkdirSync(path.join(dir, "exp", "version_2"));
    expect(d.version).toBe(2); // and then stays
    expect(d.logDir).toBe(path.join(dir, "exp", "version_2"));
    expect(() => new ExperimentDirectory(dir, "exp", 1.5)).toThrow();
    expect(() => new ExperimentDirectory(dir, "exp", "..")).toThrow();
  });
});
