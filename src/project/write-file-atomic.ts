import { renameSync, statSync, writeFileSync } from 'node:fs';

/** Replaces a file in one step (write a sibling, then rename), keeping its mode, so a crash never leaves half a file. */
export function writeFileAtomic(path: string, text: string): void {
  let mode = 0o644;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    // A new file: default mode.
  }
  const temp = `${path}.sluice-${process.pid}.tmp`;
  writeFileSync(temp, text, { mode });
  renameSync(temp, path);
}
