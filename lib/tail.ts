import { readFile } from 'node:fs/promises';

/** The last `n` lines of a text. */
export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

/** The last `n` lines of a text file (a log), '' when it cannot be read. */
export async function tail(file: string, n: number): Promise<string> {
  return lastLines(await readFile(file, 'utf8').catch(() => ''), n);
}
