import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { SluiceError } from '../errors.js';

/** The largest catalog or state file a run reads: big catalogs run to a few MB. */
export const MAX_EXTRA_FILE_BYTES = 64 * 1024 * 1024;

/** Whether `path` is `root` or lies under it. */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Reads the JSON file an extractor's `catalog:` or `state:` extra names, relative to the project
 * root as in Meltano. Unlike Meltano, the file must be a regular file inside the project folder
 * (links are followed, and must stay inside too) and at most `MAX_EXTRA_FILE_BYTES`: on a server
 * the path is a workspace's to choose, and Sluice reads it outside any sandbox. For the same reason
 * a message never quotes the file's text nor shows where the project folder is. Answers
 * `undefined` for an empty file, which Meltano treats as no file.
 */
export async function readExtraFile(
  projectRoot: string,
  plugin: string,
  extra: 'catalog' | 'state',
  value: string,
): Promise<unknown> {
  const refuse = (why: string, what: string): never => {
    throw new SluiceError(
      'run_invalid',
      `${plugin}: the ${extra} file '${value}' (the ${extra}: extra) ${why}. ${what}`,
      { plugin, extra, file: value },
    );
  };
  const fix = `Fix the path (relative to the project folder) or remove the ${extra}: extra.`;
  let real: string;
  try {
    real = await realpath(resolve(projectRoot, value));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    return refuse(code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`, fix);
  }
  if (!isInside(await realpath(projectRoot), real)) {
    return refuse('is outside the project folder', 'Keep catalog and state files inside the project.');
  }
  // Non-blocking, so a FIFO answers at once (and is refused below) instead of waiting for a writer.
  const handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK).catch(
    (cause: NodeJS.ErrnoException) => refuse(`cannot be read (${cause.code ?? 'error'})`, fix),
  );
  let text: string;
  try {
    const info = await handle.stat();
    if (!info.isFile()) return refuse('is not a regular file', fix);
    if (info.size > MAX_EXTRA_FILE_BYTES) {
      return refuse(
        `is ${info.size} bytes, more than the ${MAX_EXTRA_FILE_BYTES} a run reads`,
        'Trim it to the streams you sync.',
      );
    }
    text = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (cause) {
    const at = /position (\d+)/.exec((cause as Error).message)?.[1];
    return refuse(
      `is not valid JSON${at === undefined ? '' : ` (at character ${at})`}`,
      `It must hold ${extra === 'catalog' ? 'a Singer catalog: {"streams": [...]}' : 'a Singer state such as {"bookmarks": {...}}'}.`,
    );
  }
}
