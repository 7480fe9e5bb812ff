#!/usr/bin/env tsx
/**
 * `npm run verify:bench [-- RATE SECONDS]`: the verifier's load generator at 1,000 req/s
 * for 10 s against a static server on 127.0.0.1; prints a table and writes
 * docs/results/<date>-verify-bench/bench.json and bench.txt.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { benchTable, runBench } from '../verify/index.ts';

const rate = Number(process.argv[2] ?? 1000);
const seconds = Number(process.argv[3] ?? 10);
if (!(rate > 0 && rate <= 5000 && seconds > 0 && seconds <= 60)) {
  console.error('usage: npm run verify:bench [-- RATE SECONDS]  (RATE 1..5000, SECONDS 1..60)');
  process.exit(2);
}
const result = await runBench(rate, seconds * 1000);
const table = benchTable(result);
console.log(table);
const dir = path.join(REPO_ROOT, 'docs', 'results', `${result.startedAt.slice(0, 10)}-verify-bench`);
await mkdir(dir, { recursive: true });
await writeFile(path.join(dir, 'bench.json'), `${JSON.stringify(result, null, 2)}\n`);
await writeFile(path.join(dir, 'bench.txt'), `${table}\n`);
console.log(`\nwritten: ${path.relative(REPO_ROOT, dir)}/bench.{json,txt}`);
