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
  const hide = (payload: string) => {
    let text = payload;
    for (const path of spellings) {
      if (!text.includes(path)) continue;
      text = text.replaceAll(`${path}/`, '').replaceAll(path, '<data folder>');
    }
    return text;
  };
  const remembered = new Map<string, Buffer>();
  app.addHook('onSend', async (_request, _reply, payload) => {
    if (typeof payload !== 'string') return payload;
    if (payload.length < REMEMBERED_FROM) return hide(payload);
    // Long answers come again (a page of workspaces, served as the same text while it holds):
    // each is searched, and encoded, once.
    let body = remembered.get(payload);
    if (body) {
      remembered.delete(payload);
    } else {
      body = Buffer.from(hide(payload));
      if (remembered.size >= REMEMBERED) remembered.delete(remembered.keys().next().value as string);
    }
    remembered.set(payload, body);
    return body;
  });
}

/** Answers this long or longer are remembered once made safe, REMEMBERED at most. */
const REMEMBERED_FROM = 8 * 1024;
const REMEMBERED = 16;
