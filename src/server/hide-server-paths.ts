import { realpathSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

/**
 * The spellings of the data folder as they may appear in a JSON or text answer: as configured and
 * after symbolic links, raw and JSON-escaped, longest first so that none hides part of another.
 */
function spellingsOf(dataDir: string): string[] {
  const forms = new Set<string>();
  for (const path of [dataDir, safeRealpath(dataDir)]) {
    if (path.length <= 1) continue;
    forms.add(path);
    forms.add(JSON.stringify(path).slice(1, -1));
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

function safeRealpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * Answers never show where the server keeps its data: every text answer (error bodies above all,
 * such as a `git_failed` quoting git's `fatal: ... '/srv/sluice/repos/x.git'`) has the data folder's
 * absolute path made relative to it (`repos/x.git`). One hook for every route, so no message
 * written later can forget it; streamed answers (Git packs, log streams) are not text and pass as
 * they are.
 */
export function hideServerPaths(app: FastifyInstance, dataDir: string): void {
  const spellings = spellingsOf(dataDir);
  app.addHook('onSend', async (_request, _reply, payload) => {
    if (typeof payload !== 'string') return payload;
    let text = payload;
    for (const path of spellings) {
      if (!text.includes(path)) continue;
      text = text.replaceAll(`${path}/`, '').replaceAll(path, '<data folder>');
    }
    return text;
  });
}
