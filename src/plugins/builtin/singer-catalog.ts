/**
 * The Singer catalog as taps discover it and Meltano hands it back with `select` rules applied as
 * `selected` metadata. See https://hub.meltano.com/singer/spec#catalog-files.
 */

/** A JSON Schema as Singer messages carry it; kept open because catalogs may add any keyword. */
export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly format?: string;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly [keyword: string]: unknown;
}

export interface CatalogMetadata {
  readonly breadcrumb: readonly string[];
  readonly metadata: {
    readonly inclusion?: 'available' | 'automatic' | 'unsupported';
    readonly selected?: boolean;
    readonly 'selected-by-default'?: boolean;
    readonly 'table-key-properties'?: readonly string[];
    readonly [key: string]: unknown;
  };
}

export interface CatalogStream {
  readonly tap_stream_id: string;
  readonly stream: string;
  readonly schema: JsonSchema;
  readonly key_properties?: readonly string[];
  readonly metadata?: readonly CatalogMetadata[];
}

export interface SingerCatalog {
  readonly streams: readonly CatalogStream[];
}

/** The Singer state a tap resumes from and emits; `bookmarks` is keyed by stream. */
export interface SingerState {
  readonly bookmarks?: Readonly<Record<string, unknown>>;
  readonly [key: string]: unknown;
}

function metadataAt(stream: CatalogStream, breadcrumb: readonly string[]): CatalogMetadata['metadata'] {
  const entry = stream.metadata?.find(
    (m) => m.breadcrumb.length === breadcrumb.length && m.breadcrumb.every((b, i) => b === breadcrumb[i]),
  );
  return entry?.metadata ?? {};
}

/**
 * Whether a catalog stream is selected: its explicit `selected`, else `selected-by-default`, else
 * selected (the Singer SDK's rule, so a hand-written catalog without metadata syncs everything).
 */
export function isStreamSelected(stream: CatalogStream): boolean {
  const md = metadataAt(stream, []);
  return md.selected ?? md['selected-by-default'] ?? true;
}

/**
 * The properties of a selected stream that are selected: `automatic` ones always,
 * `unsupported` ones never, the rest by `selected`, then `selected-by-default`, then yes.
 */
export function selectedProperties(stream: CatalogStream): ReadonlySet<string> {
  const selected = new Set<string>();
  for (const name of Object.keys(stream.schema.properties ?? {})) {
    const md = metadataAt(stream, ['properties', name]);
    const include =
      md.inclusion === 'automatic'
        ? true
        : md.inclusion === 'unsupported'
          ? false
          : (md.selected ?? md['selected-by-default'] ?? true);
    if (include) selected.add(name);
  }
  return selected;
}
