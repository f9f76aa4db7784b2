import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { splitPath, unescapeDots } from '../config/flatten.js';
import { SluiceError } from '../errors.js';
import { loadProject } from './load.js';
import type { Environment, PluginEntry, Project, SettingDefinition, YamlValue } from './model.js';
import { folderSource } from './project-source.js';
import { writeFileAtomic } from './write-file-atomic.js';
import { deleteIn, hasIn, setIn, type YamlPathStep } from './yaml-edit.js';

/** Where a plugin's settings are written: its base entry, or its entry in one environment. */
export type SettingsTarget =
  | { readonly kind: 'base' }
  | { readonly kind: 'environment'; readonly environment: Environment };

function entryPath(plugin: PluginEntry, target: SettingsTarget): { file: string; path: YamlPathStep[] } {
  if (target.kind === 'base')
    return { file: plugin.file, path: ['plugins', plugin.type, { name: plugin.name }] };
  return {
    file: target.environment.file,
    path: [
      'environments',
      { name: target.environment.name },
      'config',
      'plugins',
      plugin.type,
      { name: plugin.name },
    ],
  };
}

/**
 * The YAML path of a setting within a plugin entry: regular settings live under `config`, nested on
 * unescaped dots (`auth.user` -> `config: {auth: {user}}`); extras are keys on the entry itself
 * (`_select` -> `select`).
 */
function settingSteps(name: string): string[] {
  if (name.startsWith('_')) return splitPath(name.slice(1)).map(unescapeDots);
  return ['config', ...splitPath(name).map(unescapeDots)];
}

/** Every spelling a setting may already be written under: nested, flat-dotted, and its aliases. */
function existingSpellings(def: SettingDefinition): string[][] {
  const out: string[][] = [];
  for (const key of [def.name, ...(def.aliases ?? [])]) {
    out.push(settingSteps(key));
    if (!key.startsWith('_') && key.includes('.')) out.push(['config', key]);
  }
  return out;
}

/**
 * Applies an edit to one of the project's YAML files and checks that the project still loads; if
 * it does not, the file is put back as it was and the error is raised.
 */
function editProjectFile(project: Project, file: string, edit: (text: string) => string): void {
  const path = join(project.root, file);
  const before = readFileSync(path, 'utf8');
  const after = edit(before);
  if (after === before) return;
  writeFileAtomic(path, after);
  try {
    loadProject(folderSource(project.root));
  } catch (error) {
    writeFileAtomic(path, before);
    throw error;
  }
}

/** Writes a setting's value into the plugin's base entry or an environment's entry. */
export function writeSetting(
  project: Project,
  plugin: PluginEntry,
  target: SettingsTarget,
  def: SettingDefinition,
  value: YamlValue,
): void {
  const { file, path } = entryPath(plugin, target);
  editProjectFile(project, file, (text: string) => {
    let next = text;
    const steps = settingSteps(def.name);
    // The spelling being written is replaced in place (setIn), so that the key keeps its line.
    for (const spelling of existingSpellings(def)) {
      if (spelling.join('\0') !== steps.join('\0')) next = deleteIn(next, [...path, ...spelling]);
    }
    return setIn(next, [...path, ...steps], value);
  });
}

/** Removes a setting from one place; answers whether it was there. */
export function removeSetting(
  project: Project,
  plugin: PluginEntry,
  target: SettingsTarget,
  def: SettingDefinition,
): boolean {
  const { file, path } = entryPath(plugin, target);
  const text = readFileSync(join(project.root, file), 'utf8');
  const present = existingSpellings(def).filter((s) => hasIn(text, [...path, ...s]));
  if (present.length === 0) return false;
  editProjectFile(project, file, (t: string) =>
    present.reduce((acc, spelling) => deleteIn(acc, [...path, ...spelling]), t),
  );
  return true;
}

/** Clears a plugin's `config` and extras in one place, keeping the entry and its other keys. */
export function clearSettings(
  project: Project,
  plugin: PluginEntry,
  target: SettingsTarget,
  extraKeys: readonly string[],
): void {
  const { file, path } = entryPath(plugin, target);
  editProjectFile(project, file, (text: string) => {
    let next = text;
    if (hasIn(next, [...path, 'config'])) next = setIn(next, [...path, 'config'], {});
    for (const key of extraKeys) next = deleteIn(next, [...path, key]);
    return next;
  });
}

/** Adds `- name: NAME` to `environments` in `meltano.yml`. */
export function addEnvironment(project: Project, name: string): void {
  if (name.trim() === '' || name.includes(':') || name.toLowerCase() === 'null') {
    throw new SluiceError(
      'environment_invalid',
      `'${name}' cannot be an environment name: it must be non-empty, must not contain ':' (it separates the parts of state IDs) and must not be 'null' (which means no environment).`,
      { environment: name },
    );
  }
  if (project.environments.some((e) => e.name === name)) {
    throw new SluiceError('environment_exists', `An environment named '${name}' already exists.`, {
      environment: name,
    });
  }
  editProjectFile(project, 'meltano.yml', (text: string) => setIn(text, ['environments', { name }], null));
}

/** Removes an environment from the file that defines it. */
export function removeEnvironment(project: Project, environment: Environment): void {
  editProjectFile(project, environment.file, (text: string) =>
    deleteIn(text, ['environments', { name: environment.name }]),
  );
}

/** Adds `- name: NAME` with `sensitive: true` to a plugin's `settings:`, so a secret kept in `.env` has a setting to feed. */
export function declareSensitiveSetting(project: Project, plugin: PluginEntry, name: string): void {
  const { file, path } = entryPath(plugin, { kind: 'base' });
  editProjectFile(project, file, (text: string) =>
    setIn(text, [...path, 'settings', { name }, 'sensitive'], true),
  );
}
