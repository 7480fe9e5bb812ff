import { readFile } from 'node:fs/promises';

/** The last `n` lines of a text file (a log), '' when it cannot be read. */
export async function tail(file: string, n: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
