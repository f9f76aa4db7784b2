/**
 * Meltano's plugin types, with the words Meltano derives from each: the verb used in generic
 * `MELTANO_<VERB>_<SETTING>` variables and the singular used in `MELTANO_<SINGULAR>_NAME`.
 * (meltano-semantics §4.4.)
 */
export const PLUGIN_TYPES = {
  extractors: { verb: 'EXTRACT', singular: 'EXTRACTOR', singer: true },
  loaders: { verb: 'LOAD', singular: 'LOADER', singer: true },
  mappers: { verb: 'MAP', singular: 'MAPPER', singer: true },
  transforms: { verb: 'TRANSFORM', singular: 'TRANSFORM', singer: false },
  transformers: { verb: 'TRANSFORM', singular: 'TRANSFORMER', singer: false },
  utilities: { verb: 'UTILIZE', singular: 'UTILITY', singer: false },
  orchestrators: { verb: 'ORCHESTRAT', singular: 'ORCHESTRATOR', singer: false },
  files: { verb: 'FI', singular: 'FILE', singer: false },
} as const satisfies Record<string, { verb: string; singular: string; singer: boolean }>;

export type PluginType = keyof typeof PLUGIN_TYPES;

export const PLUGIN_TYPE_NAMES = Object.keys(PLUGIN_TYPES) as readonly PluginType[];

export function isPluginType(value: string): value is PluginType {
  return Object.hasOwn(PLUGIN_TYPES, value);
}

/** `extractors` -> `extractor`, for messages. */
export function describePluginType(type: PluginType): string {
  return PLUGIN_TYPES[type].singular.toLowerCase();
}
