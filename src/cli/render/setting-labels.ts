import type { ResolvedSetting, SettingSource } from '../../config/resolve.js';

const STORE_LABELS: Record<SettingSource, string> = {
  env: 'the environment',
  dotenv: '`.env`',
  environment: 'the active environment in `meltano.yml`',
  meltano_yml: '`meltano.yml`',
  inherited: 'inherited',
  default: 'default',
};

/** Meltano's words for where a value came from (meltano-semantics §4.11). */
export function sourceLabel(setting: ResolvedSetting): string {
  if (setting.source === 'default') return 'default';
  if (setting.source === 'inherited') return `inherited from '${setting.inheritedFrom}'`;
  if (setting.envVar) return `from the ${setting.envVar} variable in ${STORE_LABELS[setting.source]}`;
  return `from ${STORE_LABELS[setting.source]}`;
}

/** A short word for tables: `dev env`, `base`, `$TAP_X_Y`, ... */
export function shortSource(setting: ResolvedSetting): string {
  switch (setting.source) {
    case 'env':
      return `$${setting.envVar ?? 'env'}`;
    case 'dotenv':
      return `.env ${setting.envVar ?? ''}`.trim();
    case 'environment':
      return 'environment';
    case 'meltano_yml':
      return 'base';
    case 'inherited':
      return `inherited:${setting.inheritedFrom}`;
    default:
      return 'default';
  }
}
