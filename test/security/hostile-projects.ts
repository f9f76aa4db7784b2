/**
 * Projects a hostile user pushes to make the server spend minutes or gigabytes on one workspace.
 * Each is small to push (but for the one about size) and stays within what Git accepts; each
 * passes every limit but the one it attacks, so that the test proves that limit.
 */

/** A plugin whose `config` is the given YAML lines (indented under it). */
function withConfig(lines: readonly string[]): string {
  return [
    'version: 1',
    'default_environment: dev',
    'environments:',
    '- name: dev',
    'plugins:',
    '  extractors:',
    '  - name: tap-github',
    '    config:',
    ...lines.map((line) => `      ${line}`),
    '',
  ].join('\n');
}

/**
 * "Billion laughs": nine levels of nine aliases of the level below, 9^9 (387 million) strings once
 * expanded, in 600 bytes. Parsed, it is a small graph of shared lists; anything that walks it as a
 * tree (flattening a plugin's config for a view) walks 387 million leaves.
 */
export function aliasBomb(): string {
  const lines = [`l0: &l0 [${Array(9).fill('"lol"').join(', ')}]`];
  for (let level = 1; level < 9; level++) {
    lines.push(
      `l${level}: &l${level} [${Array(9)
        .fill(`*l${level - 1}`)
        .join(', ')}]`,
    );
  }
  return withConfig(lines);
}

/** A 64 KB string aliased 300 times: 19 MB once expanded, from a 66 KB file. */
export function stringAliasBomb(): string {
  return withConfig([
    `text: &text "${'x'.repeat(64 * 1024)}"`,
    `copies: [${Array(300).fill('*text').join(', ')}]`,
  ]);
}

/** 1,200 aliases of one number: cheap each, but a count no configuration needs. */
export function manyAliases(): string {
  return withConfig(['one: &one 1', `many: [${Array(1200).fill('*one').join(', ')}]`]);
}

/** Keys merged again and again with `<<:`: 60 mappings each merging the same 200 keys. */
export function mergeBomb(): string {
  const base = `base: &base {${Array.from({ length: 200 }, (_, i) => `k${i}: ${i}`).join(', ')}}`;
  return withConfig([base, ...Array.from({ length: 60 }, (_, i) => `m${i}: {<<: *base}`)]);
}

/** Mappings nested 90 deep (js-yaml alone stops at 100). */
export function deepNesting(): string {
  return withConfig([`deep: ${'{a: '.repeat(90)}1${'}'.repeat(90)}`]);
}

/** One key of 100 dotted parts: flattened, nested and serialised as 100 levels. */
export function dottedDepth(): string {
  return withConfig([`${Array(100).fill('a').join('.')}: 1`]);
}

/** 55,000 settings in one plugin's config, in a file under the size limit (880 KB). */
export function manyKeys(count = 55_000): string {
  return withConfig(Array.from({ length: count }, (_, i) => `k${i}: 1`));
}

/** A 2 MB meltano.yml (a long value): more than any configuration file needs. */
export function hugeFile(): string {
  return withConfig([`blob: "${'x'.repeat(2 * 1024 * 1024)}"`]);
}

/** `include_paths` that reaches `count` files. */
export function includeFanOut(count = 260): Record<string, string> {
  const files: Record<string, string> = {
    'meltano.yml': ['version: 1', 'include_paths:', "- './fan/*.yml'", ''].join('\n'),
  };
  for (let i = 0; i < count; i++) files[`fan/f${i}.yml`] = `environments:\n- name: env${i}\n`;
  return files;
}

/** 150 patterns under `include_paths`, each matched against the whole repository. */
export function manyIncludePatterns(count = 150): Record<string, string> {
  return {
    'meltano.yml': [
      'version: 1',
      'include_paths:',
      ...Array.from({ length: count }, (_, i) => `- ./p/${i}.yml`),
      '',
    ].join('\n'),
    ...Object.fromEntries(
      Array.from({ length: count }, (_, i) => [`p/${i}.yml`, `environments:\n- name: p${i}\n`]),
    ),
  };
}

/** Five included files of 900 KB: each under the file limit, 4.5 MB together. */
export function heavyIncludes(): Record<string, string> {
  const files: Record<string, string> = {
    'meltano.yml': ['version: 1', 'include_paths:', "- './heavy/*.yml'", ''].join('\n'),
  };
  for (let i = 0; i < 5; i++) files[`heavy/h${i}.yml`] = `h${i}: "${'x'.repeat(900 * 1024)}"\n`;
  return files;
}

/**
 * A glob that makes a backtracking matcher take exponential time: 16 `**` segments against a
 * file 30 folders deep that does not match.
 */
export function backtrackingGlob(): Record<string, string> {
  return {
    'meltano.yml': [
      'version: 1',
      'include_paths:',
      `- '${Array(16).fill('**').join('/')}/nothing.yml'`,
      '',
    ].join('\n'),
    [`${Array(30).fill('d').join('/')}/deep.yml`]: 'environments: []\n',
  };
}

/** Twelve extractors each inheriting from the one before. */
export function longInheritance(): string {
  return [
    'version: 1',
    'plugins:',
    '  extractors:',
    '  - name: tap-0',
    ...Array.from({ length: 12 }, (_, i) => [`  - name: tap-${i + 1}`, `    inherit_from: tap-${i}`]).flat(),
    '',
  ].join('\n');
}

/**
 * A project that loads (400 environments, 400 settings: 1,200 keys) but whose configuration
 * matrix has 160,000 cells; with 370 settings, it is just within the view limit.
 */
export function hugeMatrix(settings = 400): string {
  return [
    'version: 1',
    'environments:',
    ...Array.from({ length: 400 }, (_, i) => `- name: e${i}`),
    'plugins:',
    '  extractors:',
    '  - name: tap-wide',
    '    config:',
    ...Array.from({ length: settings }, (_, i) => `      s${i}: ${i}`),
    '',
  ].join('\n');
}
