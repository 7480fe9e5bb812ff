/**
 * cdktf entry point: `npm run synth` (or `cdktf synth|deploy`, which runs this).
 * Reads ZERODROP_CONFIG (default zerodrop.yaml) and writes cdktf.out/stacks/{edge,app}.
 */
import { App } from 'cdktf';
import { ConfigError } from './config/errors.ts';
import { configWarnings } from './config/lint.ts';
import { loadConfig, outputDirIssues } from './config/load.ts';
import { AppStack, EdgeStack } from './stacks/index.ts';
import { timingConfigIssues, timingPlans, timingWarnings } from './timing/model.ts';

const configFile = process.env.ZERODROP_CONFIG || 'zerodrop.yaml';
// Only the verifier's negative control sets this: it deploys a config the kit refuses.
const unsafe = process.env.ZERODROP_UNSAFE_SKIP_TIMING_CHECKS === '1';
// Only the tag-layout negative control sets this: one fixed name per Traefik object, the layout
// under which a rollout that changes a Traefik setting loses its router (see traefik/service-tags.ts).
const fixedNames = process.env.ZERODROP_UNSAFE_FIXED_TRAEFIK_NAMES === '1';
// Only the experiments (`npm run experiments`, E1/E2) set this: Nomad's built-in service discovery
// and Traefik's nomad provider, which route to an instance before it is ready. Accepted only
// together with ZERODROP_UNSAFE_SKIP_TIMING_CHECKS=1: it is an unsafe config, never a kit option.
const nomadDiscovery = process.env.ZERODROP_UNSAFE_NOMAD_DISCOVERY === '1';

// Lifts prevent_destroy from every nomad_job, for a destroy or replace on purpose (stacks/common.ts).
const allowDestroy = process.env.ZERODROP_ALLOW_DESTROY === '1';

const outdir = process.env.CDKTF_OUTDIR || 'cdktf.out';

try {
  const outdirProblems = outputDirIssues(outdir);
  if (outdirProblems.length > 0) throw new ConfigError(outdirProblems);
  if (nomadDiscovery && !unsafe) {
    throw new ConfigError([
      {
        path: '$ZERODROP_UNSAFE_NOMAD_DISCOVERY',
        value: '1',
        rule: "routes to instances before they are ready (Nomad's service registrations carry no health), an experiment only — unset it, or set ZERODROP_UNSAFE_SKIP_TIMING_CHECKS=1 too to build the unsafe experiment on purpose",
      },
    ]);
  }
  // Timing rules are checked with the schema, so one error lists every problem.
  const config = loadConfig(configFile, unsafe ? {} : { moreIssues: timingConfigIssues });
  const plans = timingPlans(config, { unsafeSkipChecks: unsafe });
  for (const warning of [...configWarnings(config), ...timingWarnings(config)]) console.error(`zerodrop: WARNING ${warning}`);
  if (unsafe) console.error(`zerodrop: WARNING timing checks skipped (ZERODROP_UNSAFE_SKIP_TIMING_CHECKS=1): ${configFile} may drop requests`);
  if (allowDestroy) console.error('zerodrop: WARNING prevent_destroy lifted (ZERODROP_ALLOW_DESTROY=1): an apply may purge and re-create Nomad jobs');
  if (nomadDiscovery) console.error("zerodrop: WARNING Nomad service discovery (ZERODROP_UNSAFE_NOMAD_DISCOVERY=1): Traefik's nomad provider routes to instances before they are ready");
  if (fixedNames) console.error('zerodrop: WARNING fixed Traefik names (ZERODROP_UNSAFE_FIXED_TRAEFIK_NAMES=1): a rollout that changes a Traefik setting drops the service');
  const app = new App({ outdir, stackTraces: false });
  const discovery = nomadDiscovery ? { discovery: 'nomad' as const } : {};
  const services = new AppStack(app, 'app', { config, plans, allowDestroy, ...(fixedNames ? { traefikNaming: 'fixed' as const } : {}), ...discovery });
  // `cdktf deploy edge app` applies the app stack first. A change of Traefik's discovery timing
  // (its routing window) then reaches Traefik only after every running allocation was started
  // with a drain that covers the new window, and old allocations stop under the window they
  // were planned for. Routers live in the app's tags, so nothing in the app waits for the edge.
  new EdgeStack(app, 'edge', { config, allowDestroy, ...discovery }).addDependency(services);
  app.synth();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
