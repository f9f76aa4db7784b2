import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `../shared` beside the checkout, where the corpus and the product page live (CI places it there too). */
export const SHARED_DIR = fileURLToPath(new URL('../../../shared/', import.meta.url));

export function sharedPath(relative: string): string {
  const path = `${SHARED_DIR}${relative}`;
  if (!existsSync(path)) throw new Error(`${path} is missing: the tests need ../shared beside the checkout.`);
  return path;
}

/** The product page's example `meltano.yml` (tap-auth0 with dev, staging and prod), taken from the page itself. */
export function productPageMeltanoYml(): string {
  const page = readFileSync(sharedPath('reference/promoting-changes-with-dataops.txt'), 'utf8');
  const start = page.indexOf('version: 1');
  return `${page.slice(start, page.indexOf('When the workspace active environment is set to dev')).trimEnd()}\n`;
}
