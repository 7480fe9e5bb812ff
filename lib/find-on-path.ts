import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';

/** The first executable file called `name` in the directories of `envPath` (like `which`). */
export function findOnPath(name: string, envPath: string): string | undefined {
  for (const dir of envPath.split(':').filter(Boolean)) {
    const candidate = resolve(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      /* not in this dir */
    }
  }
  return undefined;
}
