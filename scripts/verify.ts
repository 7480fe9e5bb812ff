#!/usr/bin/env tsx
/**
 * `npm run verify -- [flags]`: constant-rate load through Traefik during a real canary deploy,
 * the deployment followed on Nomad, report + timeline (verify/). Exit 0 only on a pass, 1 on a
 * failure, 2 on bad flags, 130 when interrupted.
 */
import { Command, Option } from 'commander';
import { parseDurationMs } from '../config/duration.ts';
import { DEFAULTS, flagProblems, optionsFromFlags, verify, VERIFY_EXPECTS, type VerifyFlags } from '../verify/index.ts';
import { abortOnInterrupt } from '../lib/interrupt.ts';

/** `--url a --url b,c` → [a, b, c]. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter(Boolean)];
}

export async function main(argv = process.argv): Promise<number> {
  const env = process.env;
  const c = new Command('verify')
    .addOption(new Option('--url <url>', 'target URL (through Traefik); repeat or comma-separate for round robin over several').env('ZERODROP_VERIFY_URL').argParser(collect))
    .addOption(new Option('--timeout <duration>', 'per-request timeout, e.g. 2s, 5s, 500ms').env('ZERODROP_VERIFY_TIMEOUT').default('2s'))
    .addOption(new Option('--mix <file>', 'request mix, YAML/JSON: requests: [{weight, method, path, body?, expect?}]').env('ZERODROP_VERIFY_MIX'))
    .addOption(new Option('--request <spec>', 'one mix entry, repeatable: "WEIGHT METHOD PATH [STATUS] [BODY]", e.g. "10 POST /orders 201"').argParser(collect))
    .addOption(new Option('--ledger <file>', "the app's LEDGER_FILE: check every POST/PATCH ran once (none lost, none doubled)").env('ZERODROP_VERIFY_LEDGER'))
    .addOption(new Option('--consul-addr <url>', 'Consul to poll for routable instances (default: CONSUL_HTTP_ADDR, else the running local cluster); token from CONSUL_HTTP_TOKEN'))
    .addOption(new Option('--consul-service <name>', 'Consul service to count (default: --job)').env('ZERODROP_VERIFY_CONSUL_SERVICE'))
    .addOption(new Option('--host <host>', 'Host header').env('ZERODROP_VERIFY_HOST').default(DEFAULTS.host))
    .addOption(new Option('--rate <n>', 'requests per second (constant arrival rate)').env('ZERODROP_VERIFY_RATE').default(DEFAULTS.rate).argParser(Number))
    .addOption(new Option('--baseline <s>', 'seconds of load before the deploy').env('ZERODROP_VERIFY_BASELINE').default(DEFAULTS.baselineS).argParser(Number))
    .addOption(new Option('--tail <s>', 'seconds of load after the deployment ends').env('ZERODROP_VERIFY_TAIL').default(DEFAULTS.tailS).argParser(Number))
    .addOption(new Option('--max-duration <s>', 'hard bound on the whole run').env('ZERODROP_VERIFY_MAX_DURATION').default(DEFAULTS.maxDurationS).argParser(Number))
    .addOption(new Option('--threshold <ratio>', 'minimum success ratio, 0..1').env('ZERODROP_VERIFY_THRESHOLD').default(DEFAULTS.threshold).argParser(Number))
    .addOption(new Option('--expect <status>', "deployment outcome to expect; none: the deploy command makes no new job version (a node drain)").choices([...VERIFY_EXPECTS]).env('ZERODROP_VERIFY_EXPECT').default(DEFAULTS.expect))
    .addOption(new Option('--report-dir <dir>', 'where report.json/.md and timeline.svg go').env('ZERODROP_VERIFY_REPORT_DIR'))
    .addOption(new Option('--nomad-addr <url>', 'Nomad API to watch (default: the cluster the kit deploys to; with --deploy-cmd: NOMAD_ADDR, else the local cluster)'))
    .addOption(new Option('--job <id>', 'Nomad job to follow').env('ZERODROP_VERIFY_JOB').default(DEFAULTS.job))
    .addOption(new Option('--version <v>', 'version the kit deploys').env('ZERODROP_VERIFY_VERSION').default(DEFAULTS.version))
    .addOption(new Option('--config <file>', 'kit config for the default deploy').env('ZERODROP_CONFIG'))
    .addOption(new Option('--deploy-cmd <cmd>', 'deploy with this shell command instead of the kit').env('ZERODROP_VERIFY_DEPLOY_CMD'))
    .parse(argv);
  const f = c.opts<VerifyFlags>();
  const problems = flagProblems(f, parseDurationMs(f.timeout));
  if (problems.length) {
    console.error(problems.join('\n'));
    return 2;
  }
  const ac = new AbortController();
  const offSigint = abortOnInterrupt(ac, { first: '[verify] interrupted: stopping load and watch, writing what was recorded' });
  try {
    const { exitCode } = await verify(await optionsFromFlags(f, env, ac.signal, (line) => console.log(line)));
    return exitCode;
  } catch (err) {
    console.error(`[verify] ${(err as Error).message}`);
    return 1;
  } finally {
    offSigint();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main().then((code) => (process.exitCode = code));
