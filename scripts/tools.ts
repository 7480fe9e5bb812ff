#!/usr/bin/env tsx
/**
 * `npm run tools [-- --only consul,nomad] [--force] [--print-paths]`: builds every pin of pins/
 * with Go (toolchain/), lays out the provider mirror and the Terraform CLI config, prints a table.
 * Exit 1 when a build fails or a provider archive named by ZERODROP_PROVIDER_SOURCES is unusable.
 */
import { Command } from 'commander';
import { DEFAULTS, ensureTools, LicenceError, PROVIDER_SOURCES_ENV, providerSourcesDir, stopRunningBuild, ToolBuildError, toolPaths, type ToolResult } from '../toolchain/index.ts';

export async function main(argv = process.argv): Promise<number> {
  const opts = new Command('tools')
    .option('--only <names>', 'comma-separated pin names (consul,nomad,traefik,terraform-provider-nomad,terraform-provider-consul,…)')
    .option('--force', 'rebuild even when up to date', false)
    .option('--print-paths', 'print the tool paths as JSON and exit (builds nothing)', false)
    .parse(argv)
    .opts<{ only?: string; force: boolean; printPaths: boolean }>();
  if (opts.printPaths) {
    console.log(JSON.stringify(toolPaths(), null, 2));
    return 0;
  }
  const onSigint = () => {
    // zx kills the whole process tree of the running `go` (compile/link children included).
    console.error('\n[tools] interrupted: stopping the running go command');
    void stopRunningBuild().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const started = Date.now();
  try {
    const only = opts.only?.split(',').map((s) => s.trim()).filter(Boolean);
    const res = await ensureTools({ ...(only ? { only } : {}), force: opts.force });
    const w = Math.max(...res.results.map((r) => `${r.name} ${r.version}`.length));
    const status = (r: ToolResult) => (r.status === 'not-built' || r.status === 'source-error' ? 'NOT BUILT' : r.status);
    console.log('\n' + res.results.map((r) => `  ${`${r.name} ${r.version}`.padEnd(w)}  ${status(r).padEnd(9)} ${(r.elapsedMs / 1000).toFixed(1).padStart(7)}s  ${r.note ?? r.log}`).join('\n'));
    console.log(`\n[tools] done in ${((Date.now() - started) / 1000).toFixed(1)}s; engine ${res.engine.kind} (${res.engine.bin})`);
    console.log(`[tools] export TF_CLI_CONFIG_FILE=${res.terraformrc}`);
    const unbuilt = res.results.filter((r) => r.help);
    for (const r of unbuilt) console.warn(`[tools] ${r.help!.join('\n')}`);
    const failed = res.results.filter((r) => r.status === 'source-error');
    if (failed.length) {
      console.error(`[tools] FAILED: ${PROVIDER_SOURCES_ENV}=${providerSourcesDir()} is set, but ${failed.map((r) => `${r.name} ${r.version}`).join(', ')} could not be built from it (above)`);
      return 1;
    }
    return 0;
  } catch (err) {
    if (err instanceof LicenceError) {
      console.error(`[tools] FAILED ${err.message}\n[tools] its binary is removed: the kit builds and runs open-source code only (pins/index.ts)`);
      return 1;
    }
    if (err instanceof ToolBuildError) {
      console.error(`[tools] FAILED ${err.tool} at step '${err.step}' (full log ${err.log}); last ${DEFAULTS.failTailLines} lines:\n${err.tail}`);
      return 1;
    }
    console.error(`[tools] ${(err as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main().then((code) => (process.exitCode = code));
