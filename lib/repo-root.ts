import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory (the one holding package.json), wherever the importing module sits. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
