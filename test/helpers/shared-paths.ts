import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `../shared` beside the checkout, where the corpus and the product page live (CI places it there too). */
export const SHARED_DIR = fileURLToPath(new URL('../../../shared/', import.meta.url));

export function sharedPath(relative: string): string {
  const path = `${SHARED_DIR}${relative}`;
  if (!existsSync(path)) throw new Error(`${path} is missing: the tests need ../shared beside the checkout.`);
  return path;
}
