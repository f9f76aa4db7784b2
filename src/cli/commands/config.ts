import { readFileSync } from 'node:fs';
import { type NamingPlugin, readEnvVars, toEnvVar, writeEnvVars } from '../../config/env-var-names.js';
import { castValue, isSensitive } from '../../config/kinds.js';
import { configMatrix } from '../../config/matrix.js';
import { LIST_MASK, PRINT_MASK, processConfig, redactedValue } from '../../config/process.js';
import { pythonRepr } from '../../config/python-text.js';
import { type ResolvedPlugin, type ResolvedSetting, resolvePlugin } from '../../config/resolve.js';
import { settingEnvValue } from '../../config/settings-env.js';
import { SluiceError } from '../../errors.js';
import { formatDotenvLine, readDotenvFile, updateDotenvFile } from '../../project/dotenv.js';
import {
  clearSettings,
  declareSensitiveSetting,
  removeSetting,
  type SettingsTarget,
  writeSetting,
} from '../../project/edit-settings.js';
import type { PluginEntry, SettingDefinition, YamlValue } from '../../project/model.js';
import { describePluginType } from '../../project/plugin-types.js';
import type { GlobalOptions } from '../global-options.js';
import type { CliIo } from '../io.js';
import {
  announceEnvironment,
  findPluginByName,
  openProject,
  type ProjectContext,
} from '../project-context.js';
import { shortSource, sourceLabel } from '../render/setting-labels.js';
import { renderTable } from '../render/table.js';

interface PluginOptions {
  readonly pluginType?: string;
  readonly unsafe?: boolean;
  readonly format?: string;
}

function checkFormat(format: string | undefined, allowed: readonly string[]): string {
  const chosen = format ?? 'text';
  if (!allowed.includes(chosen))
    throw new SluiceError('usage', `--format must be one of ${allowed.join(', ')}, not '${chosen}'.`);
  return chosen;
}

function resolveFor(globals: GlobalOptions, io: CliIo, name: string, type?: string) {
  const context = openProject(globals, io);
  const plugin = findPluginByName(context.project, name, type);
  announceEnvironment(context, io);
  const resolved = resolvePlugin(context.project, context.choice.environment, plugin, context.runtime);
  return { context, plugin, resolved };
}

function capitalized(plugin: PluginEntry): string {
  const word = describePluginType(plugin.type);
  return `${word[0]?.toUpperCase()}${word.slice(1)} '${plugin.name}'`;
}

/** `sluice config print PLUGIN`: the configuration the plugin runs with, as JSON or as variables. */
export function configPrint(globals: GlobalOptions, io: CliIo, name: string, options: PluginOptions): void {
  const format = options.format ?? 'json';
  if (format !== 'json' && format !== 'env')
    throw new SluiceError('usage', `--format must be json or env, not '${format}'.`);
  const { resolved } = resolveFor(globals, io, name, options.pluginType);
  const mask = options.unsafe ? null : PRINT_MASK;
  if (format === 'json') {
    io.stdout(`${JSON.stringify(processConfig(resolved, mask), null, 2)}\n`);
    return;
  }
  const lines: string[] = [];
  for (const setting of resolved.settings) {
    const value = redactedValue(setting, mask);
    if (value === null) continue;
    for (const variable of writeEnvVars(resolved.naming, setting.definition))
      lines.push(formatDotenvLine(variable, settingEnvValue(setting.definition, value)));
  }
  io.stdout(lines.length ? `${lines.join('\n')}\n` : '');
}

function listEntry(setting: ResolvedSetting, mask: string | null) {
  return {
    name: setting.name,
    value: redactedValue(setting, mask),
    source: setting.source,
    ...(setting.envVar ? { envVar: setting.envVar } : {}),
    ...(setting.unexpandedValue !== undefined ? { unexpandedValue: setting.unexpandedValue } : {}),
    ...(setting.inheritedFrom
      ? { inheritedFrom: setting.inheritedFrom, inheritedSource: setting.inheritedSource }
      : {}),
  };
}

function listLine(resolved: ResolvedPlugin, setting: ResolvedSetting, mask: string | null): string {
  const vars = readEnvVars(resolved.naming, setting.definition).map((v) => v.name);
  const value = redactedValue(setting, mask);
  const shown = value === mask && mask !== null ? mask : pythonRepr(value);
  const def = setting.definition.value;
  const defaultPart =
    setting.source !== 'default' && def !== undefined && def !== null ? ` (default: ${pythonRepr(def)})` : '';
  const unexpanded = setting.unexpandedValue !== undefined ? `: ${pythonRepr(setting.unexpandedValue)}` : '';
  const description = setting.definition.description ? `\n\t${setting.definition.description}` : '';
  return `${setting.name} [env: ${vars.join(', ')}]${defaultPart} current value: ${shown} (${sourceLabel(setting)}${unexpanded})${description}`;
}

/** `sluice config list PLUGIN`: every setting with its value and where the value came from. */
export function configList(
  globals: GlobalOptions,
  io: CliIo,
  name: string,
  options: PluginOptions & { extras?: boolean; all?: boolean },
): void {
  const format = checkFormat(options.format, ['text', 'json']);
  const { resolved } = resolveFor(globals, io, name, options.pluginType);
  const mask = options.unsafe ? null : LIST_MASK;
  const settings = options.extras ? resolved.extras : resolved.settings;
  if (format === 'json') {
    io.stdout(
      `${JSON.stringify(
        settings.map((s) => listEntry(s, mask)),
        null,
        2,
      )}\n`,
    );
    return;
  }
  const sections: [string, ResolvedSetting[]][] = options.extras
    ? [['Custom extras, plugin-specific options handled by Sluice:', [...settings]]]
    : [
        ['Configured:', settings.filter((s) => !s.definition.custom && s.source !== 'default')],
        [
          'Optional:',
          options.all ? settings.filter((s) => !s.definition.custom && s.source === 'default') : [],
        ],
        ['Custom, possibly unsupported by the plugin:', settings.filter((s) => s.definition.custom)],
      ];
  const out: string[] = [];
  for (const [title, items] of sections) {
    if (items.length === 0) continue;
    out.push(
      title,
      ...[...items].sort((a, b) => a.name.localeCompare(b.name)).map((s) => listLine(resolved, s, mask)),
      '',
    );
  }
  const hidden =
    options.all || options.extras
      ? 0
      : settings.filter((s) => !s.definition.custom && s.source === 'default').length;
  if (hidden > 0)
    out.push(`Optional settings with default values: ${hidden} hidden. Use --all to show all.`, '');
  io.stdout(out.length ? out.join('\n') : 'No settings.\n');
}

/** `sluice config matrix PLUGIN`: each setting in every environment, side by side. */
export function configMatrixCommand(
  globals: GlobalOptions,
  io: CliIo,
  name: string,
  options: PluginOptions,
): void {
  const format = checkFormat(options.format, ['text', 'json']);
  const context = openProject(globals, io);
  const plugin = findPluginByName(context.project, name, options.pluginType);
  const matrix = configMatrix(context.project, plugin, context.runtime, options.unsafe ? null : PRINT_MASK);
  const active = context.choice.environment?.name;
  if (format === 'json') {
    const rows = matrix.rows.map((r) => ({
      name: r.name,
      differs: r.differs,
      values: Object.fromEntries(
        Object.entries(r.cells).map(([env, cell]) => [
          env,
          cell
            ? {
                value: cell.value,
                source: cell.source,
                ...(cell.setting.envVar ? { envVar: cell.setting.envVar } : {}),
              }
            : null,
        ]),
      ),
    }));
    io.stdout(
      `${JSON.stringify({ plugin: plugin.name, type: plugin.type, activeEnvironment: active ?? null, environments: matrix.environments, settings: rows }, null, 2)}\n`,
    );
    return;
  }
  const header = ['SETTING', ...matrix.environments.map((e) => (e === active ? `${e} (active)` : e))];
  const rows = matrix.rows.map((r) => [
    `${r.differs ? '* ' : '  '}${r.name}`,
    ...matrix.environments.map((e) => {
      const cell = r.cells[e];
      return cell
        ? `${cell.value === null ? '-' : typeof cell.value === 'string' ? cell.value : JSON.stringify(cell.value)} [${shortSource(cell.setting)}]`
        : '-';
    }),
  ]);
  io.stdout(
    `${renderTable(header, rows)}\n${matrix.rows.some((r) => r.differs) ? '\n* differs between environments\n' : ''}`,
  );
}

function findDefinition(resolved: ResolvedPlugin, name: string): SettingDefinition {
  const all = [...resolved.settings, ...resolved.extras].map((s) => s.definition);
  return (
    all.find((d) => d.name === name) ?? all.find((d) => d.aliases?.includes(name)) ?? { name, custom: true }
  );
}

function targetFor(context: ProjectContext): SettingsTarget {
  const { choice } = context;
  return choice.explicit && choice.environment
    ? { kind: 'environment', environment: choice.environment }
    : { kind: 'base' };
}

/** Names the file written, which is an included file when the plugin or environment is defined there. */
function describeTarget(target: SettingsTarget, plugin: PluginEntry): string {
  return target.kind === 'environment'
    ? `the '${target.environment.name}' environment in \`${target.environment.file}\``
    : `\`${plugin.file}\``;
}

/** The variable a sensitive value is stored under in `.env`: the setting's own `env`, else `<PLUGIN>_<SETTING>`. */
function primaryVariable(naming: NamingPlugin, def: SettingDefinition): string {
  return def.env ?? toEnvVar(naming.name, def.name);
}

function reportCurrent(
  globals: GlobalOptions,
  io: CliIo,
  plugin: PluginEntry,
  def: SettingDefinition,
  prefix: string,
  unless?: (s: ResolvedSetting) => boolean,
): void {
  const context = openProject(globals, { ...io, stderr: () => {} });
  const resolved = resolvePlugin(
    context.project,
    context.choice.environment,
    findPluginByName(context.project, plugin.name, plugin.type),
    context.runtime,
  );
  const setting = [...resolved.settings, ...resolved.extras].find((s) => s.name === def.name);
  if (!setting || setting.value === null || unless?.(setting)) return;
  io.stdout(`${prefix}: ${pythonRepr(redactedValue(setting, LIST_MASK))} (${sourceLabel(setting)})\n`);
}

/** `sluice config set PLUGIN SETTING... VALUE`. */
export function configSet(
  globals: GlobalOptions,
  io: CliIo,
  name: string,
  args: readonly string[],
  options: { pluginType?: string; fromFile?: string },
): void {
  const parts = options.fromFile !== undefined ? [...args] : args.slice(0, -1);
  if (parts.length === 0)
    throw new SluiceError(
      'usage',
      'Usage: sluice config set PLUGIN SETTING [SETTING...] VALUE (or --from-file FILE instead of VALUE).',
    );
  const text =
    options.fromFile !== undefined ? readValueFile(options.fromFile) : (args[args.length - 1] as string);
  const { context, plugin, resolved } = resolveFor(globals, io, name, options.pluginType);
  const def = findDefinition(resolved, parts.join('.'));
  const current = [...resolved.settings, ...resolved.extras].find((s) => s.name === def.name);
  if (text === LIST_MASK && current?.sensitive) {
    io.stdout(
      `${capitalized(plugin)} setting '${def.name}' was left as it is: '(redacted)' stands for its current value.\n`,
    );
    return;
  }
  const value: YamlValue = def.kind ? castValue(def, text, 'the value given') : text;
  // A setting not yet defined or set anywhere (`current` is undefined) is judged by its name.
  const sensitive = current?.sensitive ?? isSensitive(def);
  if (sensitive) {
    const variable = primaryVariable(resolved.naming, def);
    const others = readEnvVars(resolved.naming, def)
      .map((v) => v.name)
      .filter((v) => v !== variable);
    updateDotenvFile(context.dotenvPath, { [variable]: settingEnvValue(def, value) }, others);
    io.stdout(
      `${capitalized(plugin)} setting '${def.name}' was set in \`.env\` as ${variable}: (redacted)\n`,
    );
    if (def.custom) {
      // Without a definition the variable would feed no setting: declare it (name only, never the value).
      declareSensitiveSetting(context.project, plugin, def.name);
      io.stdout(
        `Declared setting '${def.name}' as sensitive in the \`settings\` of ${plugin.name} in \`${plugin.file}\`.\n`,
      );
    }
  } else {
    const target = targetFor(context);
    writeSetting(context.project, plugin, target, def, value);
    io.stdout(
      `${capitalized(plugin)} setting '${def.name}' was set in ${describeTarget(target, plugin)}: ${pythonRepr(value)}\n`,
    );
  }
  // Say so when another store still wins, e.g. the default environment over a value just set in the base config.
  const written = sensitive
    ? 'dotenv'
    : targetFor(context).kind === 'environment'
      ? 'environment'
      : 'meltano_yml';
  reportCurrent(globals, io, plugin, def, 'Current value is still', (s) => s.source === written);
}

function readValueFile(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new SluiceError('usage', `Cannot read the value from ${path}: ${(error as Error).message}.`);
  }
}

/**
 * `sluice config unset PLUGIN SETTING...`: with an explicitly chosen environment, removes the value
 * from that environment only (Meltano also removes the base value); otherwise from the base entry and `.env`.
 */
export function configUnset(
  globals: GlobalOptions,
  io: CliIo,
  name: string,
  parts: readonly string[],
  options: { pluginType?: string },
): void {
  const { context, plugin, resolved } = resolveFor(globals, io, name, options.pluginType);
  const def = findDefinition(resolved, parts.join('.'));
  const target = targetFor(context);
  const removed: string[] = [];
  if (removeSetting(context.project, plugin, target, def)) removed.push(describeTarget(target, plugin));
  if (target.kind === 'base') {
    const dotenv = readDotenvFile(context.dotenvPath, {});
    const vars = readEnvVars(resolved.naming, def)
      .map((v) => v.name)
      .filter((v) => v in dotenv);
    if (vars.length > 0) {
      updateDotenvFile(context.dotenvPath, {}, vars);
      removed.push('`.env`');
    }
  }
  io.stdout(
    removed.length
      ? `${capitalized(plugin)} setting '${def.name}' was unset in ${removed.join(' and ')}.\n`
      : `${capitalized(plugin)} setting '${def.name}' was not set in ${describeTarget(target, plugin)}; nothing changed.\n`,
  );
  reportCurrent(globals, io, plugin, def, 'Current value is now');
}

/** `sluice config reset PLUGIN`: clears the plugin's settings in one place and its own `.env` variables. */
export async function configReset(
  globals: GlobalOptions,
  io: CliIo,
  name: string,
  options: { pluginType?: string; yes?: boolean },
): Promise<void> {
  const { context, plugin, resolved } = resolveFor(globals, io, name, options.pluginType);
  const target = targetFor(context);
  if (!options.yes) {
    if (!io.stdinIsTTY)
      throw new SluiceError(
        'usage',
        'config reset changes files: confirm with --yes when not running in a terminal.',
      );
    if (
      !(await io.confirm(
        `Reset every setting of ${plugin.name} in ${describeTarget(target, plugin)}${target.kind === 'base' ? ' and its variables in .env' : ''}?`,
      ))
    ) {
      io.stdout('Nothing was changed.\n');
      return;
    }
  }
  const extraKeys = resolved.extras.filter((s) => !s.name.includes('.')).map((s) => s.name.slice(1));
  clearSettings(context.project, plugin, target, extraKeys);
  // `.env` holds values for every environment: an environment's reset leaves it alone.
  const dotenv = target.kind === 'base' ? readDotenvFile(context.dotenvPath, {}) : {};
  const own = new Set(
    [...resolved.settings, ...resolved.extras].flatMap((s) =>
      readEnvVars(resolved.naming, s.definition).map((v) => v.name),
    ),
  );
  const vars = Object.keys(dotenv).filter((v) => own.has(v));
  if (vars.length > 0) updateDotenvFile(context.dotenvPath, {}, vars);
  io.stdout(
    `${capitalized(plugin)} settings in ${describeTarget(target, plugin)}${vars.length ? ` and its ${vars.length} variable(s) in \`.env\`` : ''} were reset.\n`,
  );
}
