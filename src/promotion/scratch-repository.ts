import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runGit } from '../git/run-git.js';

/**
 * A throw-away bare repository that sees the objects of both workspaces (through alternates) and
 * keeps everything a merge writes to itself: a preview never writes to either workspace.
 */
export interface ScratchRepository {
  readonly path: string;
  dispose(): Promise<void>;
}

export async function openScratchRepository(
  tmpDir: string,
  objectSources: readonly string[],
): Promise<ScratchRepository> {
  await mkdir(tmpDir, { recursive: true });
  const path = await mkdtemp(join(tmpDir, 'promote-'));
  await runGit(['init', '--quiet', '--bare', '--template=', path]);
  await writeFile(
    join(path, 'objects', 'info', 'alternates'),
    `${objectSources.map((repo) => join(repo, 'objects')).join('\n')}\n`,
  );
  // Lets the target fetch the merge commit by id, unadvertised.
  await runGit(['config', 'uploadpack.allowAnySHA1InWant', 'true'], { gitDir: path });
  return { path, dispose: () => rm(path, { recursive: true, force: true }) };
}
