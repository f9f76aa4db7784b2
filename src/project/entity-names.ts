/**
 * The naming rules of a project's plugins, environments, jobs and schedules.
 *
 * Meltano itself refuses only the state ID delimiter `:` in plugin and environment names
 * (`PluginRefNameContainsStateIdDelimiterError`, `EnvironmentNameContainsStateIdDelimiterError`);
 * its schema sets no pattern. A name also becomes a folder (`.sluice/venvs/<type>/<name>`) and a
 * part of log lines, so Sluice refuses, for every kind, what would make it a path or break a line:
 * `/`, `\`, the names `.` and `..`, and control characters. No Meltano project needs them: a path
 * separator in a plugin name already breaks Meltano's own `.meltano/<type>/<name>` folders.
 */

/** The kinds of named entities a project file declares. */
export type EntityKind = 'plugin' | 'environment' | 'job' | 'schedule';

/** Kinds whose names Meltano puts into state IDs, where `:` separates the parts. */
const IN_STATE_IDS: ReadonlySet<EntityKind> = new Set(['plugin', 'environment']);

const CONTROL = /\p{Cc}/u;

/** `U+0000`-style name of a character, for messages (a control character cannot be shown). */
function describeCharacter(char: string): string {
  const code = (char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
  return CONTROL.test(char) ? `the control character U+${code}` : `'${char}'`;
}

/** A name quoted for a message: as written, or JSON-escaped when it holds a control character. */
export function quoteEntityName(name: string): string {
  return CONTROL.test(name) ? JSON.stringify(name) : `'${name}'`;
}

/**
 * Why `name` cannot name an entity of `kind`, as the end of a sentence ("cannot contain '/'"),
 * or undefined when it is valid.
 */
export function entityNameProblem(kind: EntityKind, name: string): string | undefined {
  if (name === '.' || name === '..') return `cannot be '${name}'`;
  const bad = [...name].find(
    (char) => char === '/' || char === '\\' || CONTROL.test(char) || (char === ':' && IN_STATE_IDS.has(kind)),
  );
  if (bad === undefined) return undefined;
  if (bad === ':') return "cannot contain ':', which separates the parts of state IDs";
  return `cannot contain ${describeCharacter(bad)}`;
}

/** Why names of each kind are restricted, for messages. */
const WHY: Record<EntityKind, string> = {
  plugin: 'A plugin name becomes a folder name (.sluice/venvs/<type>/<name>) and part of state IDs',
  environment: 'An environment name becomes part of state IDs and run records',
  job: 'A job name is a run argument and appears in logs',
  schedule: 'A schedule name appears in logs and run records',
};

/** The sentence that says what names may hold, for the end of a message. */
export function entityNameRule(kind: EntityKind): string {
  const colon = IN_STATE_IDS.has(kind) ? ", ':'" : '';
  return `${WHY[kind]}: it may not contain '/', '\\'${colon} or control characters, nor be '.' or '..'. Rename the ${kind}.`;
}
