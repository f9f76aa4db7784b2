import { extraValue, type ResolvedPlugin } from '../config/resolve.js';
import { SluiceError } from '../errors.js';
import {
  applyCatalogRules,
  applySelectFilter,
  type Catalog,
  type CatalogRules,
} from '../plugins/singer/catalog-rules.js';
import type { YamlValue } from '../project/model.js';
import type { PluginCapabilities } from './capabilities.js';
import { readExtraFile } from './extra-file.js';

function isMap(value: YamlValue | undefined): value is { readonly [key: string]: YamlValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The extractor's `select`, `metadata`, `schema` and `select_filter` extras, as resolved for the environment. */
export function catalogRules(resolved: ResolvedPlugin): CatalogRules {
  const select = extraValue(resolved, '_select');
  const metadata = extraValue(resolved, '_metadata');
  const schema = extraValue(resolved, '_schema');
  const selectFilter = extraValue(resolved, '_select_filter');
  return {
    ...(Array.isArray(select) ? { select: select.map(String) } : {}),
    ...(isMap(metadata) ? { metadata } : {}),
    ...(isMap(schema) ? { schema: schema as CatalogRules['schema'] & object } : {}),
    ...(Array.isArray(selectFilter) ? { selectFilter: selectFilter.map(String) } : {}),
  };
}

/**
 * Checks that `value` is a Singer catalog (an object with a `streams` list); `source` starts the
 * message, as in "'tap-x' --discover printed".
 */
export function asCatalog(value: unknown, plugin: string, source: string): Catalog {
  const streams = (value as { streams?: unknown } | null)?.streams;
  if (typeof value !== 'object' || value === null || !Array.isArray(streams)) {
    throw new SluiceError(
      'singer_protocol',
      `${source} JSON without a "streams" list; that is not a Singer catalog.`,
      { plugin },
    );
  }
  return value as Catalog;
}

export interface TapCatalogOptions {
  readonly extractor: ResolvedPlugin;
  readonly capabilities: PluginCapabilities;
  readonly projectRoot: string;
  /** Runs the tap's discovery. */
  readonly discover: () => Promise<Catalog>;
  readonly log: (line: string) => void;
}

/**
 * The catalog a tap runs with, got as Meltano's `SingerTap` gets it (`_get_catalog`,
 * `apply_catalog_rules`): the file of the `catalog:` extra, used as it is but for `select_filter`;
 * else, for a tap with the `discover` capability, its discovery with every rule applied. A tap
 * that takes a catalog (`catalog` or `properties`) but can neither discover nor was given one
 * cannot run. Undefined when the tap gets no catalog: also when it takes none (Meltano still
 * discovers, then leaves the catalog out).
 */
export async function tapCatalog(options: TapCatalogOptions): Promise<Catalog | undefined> {
  const { extractor, capabilities, projectRoot, log } = options;
  const name = extractor.plugin.name;
  const rules = catalogRules(extractor);
  const takes = ['catalog', 'properties'].find((c) => capabilities.names.has(c));
  const given = extraValue(extractor, '_catalog');
  if (typeof given === 'string' && given !== '' && takes === undefined) {
    log(`${name} declares neither the catalog nor the properties capability: its catalog: file is not used`);
    return undefined;
  }
  if (typeof given === 'string' && given !== '') {
    const file = await readExtraFile(projectRoot, name, 'catalog', given);
    const catalog = asCatalog(file, name, `${name}: the catalog file '${given}' holds`);
    log(
      `Using the catalog in ${given} (the catalog: extra); select, metadata and schema are not applied to it`,
    );
    return applySelectFilter(catalog, rules.selectFilter ?? []);
  }
  if (!capabilities.names.has('discover')) {
    if (takes === undefined) return undefined;
    throw new SluiceError(
      'run_invalid',
      `${name} declares the ${takes} capability but not discover, and has no catalog: extra, so there is no catalog to give it. Add discover to its capabilities if it supports --discover, or set catalog: to a catalog file (relative to the project root).`,
      { plugin: name, capabilities: [...capabilities.names] },
    );
  }
  const discovered = await options.discover();
  if (takes === undefined) {
    log(`${name} declares neither the catalog nor the properties capability: it runs without its catalog`);
    return undefined;
  }
  return applyCatalogRules(discovered, rules);
}
