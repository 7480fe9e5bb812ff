import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { resolveConfig, type ZerodropConfig } from '../../config/index.ts';
import { loadConfig, outputDirIssues, parseYamlConfig } from '../../config/load.ts';
import { traefikJob } from '../../jobs/index.ts';
import { timingConfigIssues } from '../../timing/model.ts';
import { traefikServiceTags, traefikStaticConfig } from '../../traefik/index.ts';
import { traefikPlan } from '../../timing/model.ts';
import { issuesOf, minimalProps, NO_ENV } from './fixtures.ts';

/**
 * Bad configs, one per row: each names the config path the error must point at and a fragment
 * of the rule it must state. Configs are checked as `npm run synth` checks them: schema, then
 * the timing rules in the same error.
 */

type Props = Record<string, any>;
type Row = readonly [name: string, mutate: (p: Props) => void, path: string, rule: string | RegExp, env?: Record<string, string>];

const svc = (p: Props) => p.services[0] as Props;
const GATE = () => ({ smoke: [{ path: '/' }], analysis: { maxP99Ratio: 2 } });
const gated = (p: Props, over: Props) => Object.assign(svc(p), { promotion: 'gated', gate: { ...GATE(), ...over } });
const second = (p: Props, over: Props = {}) => p.services.push({ ...structuredClone(svc(p)), name: 'web', host: 'web.example.com', ...over });

function check(props: unknown, env: Record<string, string> = {}): ZerodropConfig {
  return resolveConfig(props, { env: { ...NO_ENV, ...env }, moreIssues: timingConfigIssues });
}

const bad: Row[] = [
  // wrong types
  ['count as text', (p) => (svc(p).count = 'two'), 'services[0].count', 'expected number'],
  ['a fractional count', (p) => (svc(p).count = 1.5), 'services[0].count', 'expected int'],
  ['a 400-digit count (Infinity)', (p) => (svc(p).count = Number('9'.repeat(400))), 'services[0].count', 'received Infinity'],
  ['services as a map', (p) => (p.services = { api: svc(p) }), 'services', 'expected array'],
  ['no services', (p) => (p.services = []), 'services', 'at least one service'],
  ['a number as host', (p) => (svc(p).host = 42), 'services[0].host', 'host name'],
  ['a number as warm-up', (p) => (svc(p).warmup = 15), 'services[0].warmup', 'must be a duration'],
  ['acl as text', (p) => (p.cluster.consul.acl = 'yes'), 'cluster.consul.acl', 'expected boolean'],
  ['an env value that is a number', (p) => (svc(p).env = { WORKERS: 5 }), 'services[0].env.WORKERS', 'quote numbers'],
  // Traefik on a host network listens on each node's address there
  ['a host network with a fixed entry host', (p) => (p.traefik = { hostNetwork: 'edge', entryPoint: { host: '127.0.0.1' } }), 'traefik.entryPoint.host', 'cannot be set with traefik.hostNetwork'],
  ['a host network with a fixed admin host', (p) => (p.traefik = { hostNetwork: 'edge', adminHost: '0.0.0.0' }), 'traefik.adminHost', 'cannot be set with traefik.hostNetwork'],
  ['a host network named with a space', (p) => (p.traefik = { hostNetwork: 'my edge' }), 'traefik.hostNetwork', 'lowercase letters'],
  // typos
  ['a top-level typo', (p) => (p.traefk = {}), 'traefk', 'unknown key'],
  ['a nested typo', (p) => (p.traefik = { discovery: { refreshIntervall: '2s' } }), 'traefik.discovery.refreshIntervall', 'unknown key'],
  ['a duration without unit', (p) => (svc(p).warmup = '15'), 'services[0].warmup', 'a unit is required'],
  ['days as a unit', (p) => (svc(p).warmup = '1d'), 'services[0].warmup', 'a unit is required'],
  ['an uppercase name', (p) => (svc(p).name = 'API'), 'services[0].name', 'lowercase letters'],
  ['a version with a shell command', (p) => (svc(p).version = 'v1; rm -rf /'), 'services[0].version', 'docker-tag-like'],
  ['duplicate service names', (p) => second(p, { name: 'api' }), 'services[1].name', 'names must be unique'],
  // huge numbers
  ['a 400-digit warm-up', (p) => (svc(p).warmup = `${'9'.repeat(400)}s`), 'services[0].warmup', 'at most 24h'],
  ['99999999999999h of warm-up (blamed on the input, not progressDeadline)', (p) => (svc(p).warmup = '99999999999999h'), 'services[0].warmup', 'at most 24h'],
  ['a 25h kill timeout', (p) => (svc(p).killTimeout = '25h'), 'services[0].killTimeout', 'at most 24h'],
  ['port 70000', (p) => (svc(p).ports = { http: 70000 }), 'services[0].ports.http', 'between 1 and 65535'],
  ['port 0', (p) => (p.traefik = { adminPort: 0 }), 'traefik.adminPort', 'between 1 and 65535'],
  // injections into Terraform blocks
  ['a Terraform expression as Nomad region', (p) => (p.cluster.nomad.region = '${file("/etc/passwd")}'), 'cluster.nomad.region', 'Nomad region name'],
  ['a Terraform reference in the Nomad address', (p) => (p.cluster.nomad.address = 'http://${var.x}:4646'), 'cluster.nomad.address', 'must not contain "${"'],
  ['a Terraform directive in the Consul address', (p) => (p.cluster.consul.address = 'http://%{if true}x%{endif}:8500'), 'cluster.consul.address', '"%{"'],
  ['a Terraform reference as state path', (p) => (p.cluster.state = { backend: 'consul', path: '${var.x}' }), 'cluster.state.path', 'Consul KV prefix'],
  ['a Terraform reference as state dir', (p) => (p.cluster.state = { backend: 'local', dir: '${path.root}/x' }), 'cluster.state.dir', 'must not contain "${"'],
  ['a Terraform reference in ZERODROP_TF_STATE_DIR', () => {}, 'cluster.state.dir', 'must not contain "${"', { ZERODROP_TF_STATE_DIR: '/tmp/${var.x}' }],
  ['a Terraform reference in NOMAD_ADDR', (p) => delete p.cluster.nomad.address, '$NOMAD_ADDR', 'must not contain "${"', { NOMAD_ADDR: 'http://${var.x}:4646' }],
  ['a Nomad template in a datacenter', (p) => (p.cluster.nomad.datacenters = ['dc1', '{{ env "x" }}']), 'cluster.nomad.datacenters[1]', 'datacenter name'],
  // injections into Traefik's Nomad template
  ['a Nomad template as entry point host', (p) => (p.traefik = { entryPoint: { host: '{{ with nomadVar "nomad/jobs/traefik" }}{{ .consul_token }}{{ end }}' } }), 'traefik.entryPoint.host', 'IP address'],
  ['a host name as entry point host', (p) => (p.traefik = { entryPoint: { host: 'localhost' } }), 'traefik.entryPoint.host', 'IP address'],
  ['an admin host with a trailing space', (p) => (p.traefik = { adminHost: '0.0.0.0 ' }), 'traefik.adminHost', 'IP address'],
  ['a Nomad template in Traefik\'s Consul address', (p) => (p.traefik = { consulAddress: 'http://{{.x}}:8500' }), 'traefik.consulAddress', '"{{"'],
  ['a Terraform reference in the Traefik image', (p) => (p.traefik = { driver: { type: 'docker', image: 'traefik:${var.tag}' } }), 'traefik.driver.image', 'docker image reference'],
  ['a Terraform reference in the app image', (p) => (svc(p).driver = { type: 'docker', image: 'ghcr.io/${var.x}' }), 'services[0].driver.image', 'image name'],
  // addresses
  ['an ftp:// Consul address', (p) => (p.cluster.consul.address = 'ftp://consul:8500'), 'cluster.consul.address', 'http:// or https://'],
  ['an address that is not a URL', (p) => (p.cluster.nomad.address = 'nomad:4646:x'), 'cluster.nomad.address', 'http'],
  ['credentials in an address', (p) => (p.cluster.nomad.address = 'http://user:secret@nomad:4646'), 'cluster.nomad.address', 'credentials'],
  ['a path in an address', (p) => (p.cluster.nomad.address = 'http://nomad:4646/v1'), 'cluster.nomad.address', 'no path'],
  ['a bad host in an address', (p) => (p.cluster.nomad.address = 'http://-bad-:4646'), 'cluster.nomad.address', 'IP address or DNS name'],
  // probes
  ['a query in the readiness path (would make /readyz public)', (p) => (svc(p).readiness.path = '/readyz?probe=1'), 'services[0].readiness.path', 'make the probe public'],
  ['a fragment in the liveness path', (p) => (svc(p).liveness = { path: '/livez#x' }), 'services[0].liveness.path', 'plain absolute path'],
  ['a backtick in the readiness path', (p) => (svc(p).readiness.path = '/ready`) || Path(`/x'), 'services[0].readiness.path', 'plain absolute path'],
  ['a space in the readiness path', (p) => (svc(p).readiness.path = '/ready z'), 'services[0].readiness.path', 'plain absolute path'],
  ['a relative readiness path', (p) => (svc(p).readiness.path = 'readyz'), 'services[0].readiness.path', 'plain absolute path'],
  // host names
  ['host "-..-"', (p) => (svc(p).host = '-..-'), 'services[0].host', 'DNS host name'],
  ['a wildcard host', (p) => (svc(p).host = '*.example.com'), 'services[0].host', 'no wildcard'],
  ['an empty label', (p) => (svc(p).host = 'api..example.com'), 'services[0].host', 'DNS host name'],
  ['a 64-character label', (p) => (svc(p).host = `${'a'.repeat(64)}.example.com`), 'services[0].host', '1–63'],
  ['a router-rule injection as host', (p) => (svc(p).host = 'api.example.com`) || Host(`evil.example.com'), 'services[0].host', 'DNS host name'],
  ['an IP address as host', (p) => (svc(p).host = '10.0.0.1'), 'services[0].host', 'last label must not be all digits'],
  ['the same host on two services', (p) => second(p, { host: 'api.example.com' }), 'services[1].host', 'already routed by services[0].host'],
  ['the same host in other case on two services', (p) => second(p, { host: ['web.example.com', 'API.Example.com'] }), 'services[1].host[1]', 'already routed'],
  ['a host listed twice', (p) => (svc(p).host = ['api.example.com', 'api.example.com']), 'services[0].host', 'lists a host twice'],
  // port collisions
  ['entry point port = admin port', (p) => (p.traefik = { entryPoint: { port: 8082 } }), 'traefik.adminPort', 'must differ from traefik.entryPoint.port'],
  ['internalStatic on Traefik\'s entry point port', (p) => (svc(p).ports = { internalStatic: 80 }), 'services[0].ports.internalStatic', "collides with Traefik's traefik.entryPoint.port"],
  ['internalStatic on Traefik\'s admin port', (p) => (svc(p).ports = { internalStatic: 8082 }), 'services[0].ports.internalStatic', 'traefik.adminPort'],
  ['one internalStatic for two services', (p) => (svc(p).ports = { internalStatic: 9081 }, second(p)), 'services[1].ports.internalStatic', 'also services[0].ports.internalStatic'],
  ['probes on the routed port', (p) => (svc(p).ports = { http: 8080, internal: 8080 }), 'services[0].ports.internal', 'must differ from ports.http'],
  // limits the timing model relies on
  ['a readiness interval of 500ms', (p) => (svc(p).readiness.interval = '500ms'), 'services[0].readiness.interval', 'Nomad refuses check intervals and timeouts under 1s'],
  ['a readiness timeout of 200ms', (p) => (svc(p).readiness.timeout = '200ms'), 'services[0].readiness.timeout', 'at least 1s'],
  ['a liveness timeout above its interval', (p) => (svc(p).liveness = { interval: '5s', timeout: '6s' }), 'services[0].liveness.timeout', 'at most liveness.interval (5s)'],
  ['a health-check timeout of 30s with interval 1s', (p) => (p.traefik = { healthCheck: { interval: '1s', timeout: '30s' } }), 'traefik.healthCheck.timeout', 'at most traefik.healthCheck.interval (1s)'],
  ['retry.initialInterval 0s', (p) => (p.traefik = { retry: { initialInterval: '0s' } }), 'traefik.retry.initialInterval', 'at least 10ms'],
  ['timing.margin 0s', (p) => (p.timing = { margin: '0s' }), 'timing.margin', 'at least 1s'],
  ['timing.margin 500ms', (p) => (p.timing = { margin: '500ms' }), 'timing.margin', '1s granularity'],
  ['a refresh interval of 0s', (p) => (p.traefik = { discovery: { refreshInterval: '0s' } }), 'traefik.discovery.refreshInterval', 'at least 100ms'],
  ['an accept grace beyond max_kill_timeout', (p) => (p.traefik = { acceptGrace: '1m' }), 'traefik.acceptGrace', 'traefik-kill-timeout-within-max-kill-timeout'],
  ['an accept grace the front check outlasts', (p) => (p.traefik = { acceptGrace: '10s', frontCheck: { interval: '5s', timeout: '3s', unhealthyThreshold: 2 } }), 'traefik.acceptGrace', 'traefik-accept-grace-covers-front-check'],
  ['a front check without a threshold', (p) => (p.traefik = { frontCheck: { interval: '5s', timeout: '3s' } }), 'traefik.frontCheck.unhealthyThreshold', 'is required'],
  ['a front check of 0 failures', (p) => (p.traefik = { frontCheck: { interval: '5s', timeout: '3s', unhealthyThreshold: 0 } }), 'traefik.frontCheck.unhealthyThreshold', 'must be at least 1'],
  ['drain 1s against refresh 15s', (p) => ((p.traefik = { discovery: { refreshInterval: '15s' } }), (svc(p).drainGrace = '1s'), (svc(p).shutdownDelay = '0s')), 'services[0].drainGrace', 'servable-window-covers-routing-window'],
  // env
  ['env key BAD-NAME', (p) => (svc(p).env = { 'BAD-NAME': 'x' }), 'services[0].env.BAD-NAME', 'env name "BAD-NAME" must be a shell-style identifier'],
  ['env key PORT (set by zerodrop)', (p) => (svc(p).env = { PORT: '80' }), 'services[0].env.PORT', 'is set by zerodrop'],
  // the health-check trap
  ['no word on /readyz on the routed port', (p) => delete svc(p).readiness.servedOnRoutedPort, 'services[0].readiness.servedOnRoutedPort', 'Traefik health-checks /readyz on the ROUTED port'],
  // health-check lint
  ['readiness and liveness on one path', (p) => (svc(p).liveness = { path: '/readyz' }), 'services[0].liveness.path', 'restart the instance mid-drain'],
  // the promotion gate
  ['promotion gated without a gate', (p) => (svc(p).promotion = 'gated'), 'services[0].gate', 'is required with promotion: gated'],
  ['a gate with promotion auto', (p) => (svc(p).gate = GATE()), 'services[0].gate', 'is only read with promotion: gated'],
  ['promotion neither auto nor gated', (p) => (svc(p).promotion = 'manual'), 'services[0].promotion', 'must be "auto" or "gated"'],
  ['a gate without smoke requests', (p) => gated(p, { smoke: [] }), 'services[0].gate.smoke', 'at least one request'],
  ['a smoke path with a host', (p) => gated(p, { smoke: [{ path: 'http://x/' }] }), 'services[0].gate.smoke[0].path', 'absolute path'],
  ['a smoke request on the readiness path', (p) => gated(p, { smoke: [{ path: '/readyz' }] }), 'services[0].gate.smoke[0].path', 'is a probe path'],
  ['a smoke method TRACE', (p) => gated(p, { smoke: [{ path: '/', method: 'TRACE' }] }), 'services[0].gate.smoke[0].method', 'must be one of GET'],
  ['a smoke status 700', (p) => gated(p, { smoke: [{ path: '/', expectStatus: 700 }] }), 'services[0].gate.smoke[0].expectStatus', '≤ 599'],
  ['a smoke header name with a space', (p) => gated(p, { smoke: [{ path: '/', expectHeader: { 'x app': 'v2' } }] }), 'services[0].gate.smoke[0].expectHeader["x app"]', 'HTTP header name'],
  ['an analysis without a latency bound', (p) => gated(p, { analysis: { window: '30s' } }), 'services[0].gate.analysis.maxP99Ratio', 'needs a latency bound'],
  ['an error ratio above 1', (p) => gated(p, { analysis: { maxErrorRatio: 5, maxP99: '1s' } }), 'services[0].gate.analysis.maxErrorRatio', '≤ 1'],
  ['a p99 ratio below 1', (p) => gated(p, { analysis: { maxP99Ratio: 0.5 } }), 'services[0].gate.analysis.maxP99Ratio', 'must be at least 1'],
  ['an analysis window of 1s', (p) => gated(p, { analysis: { window: '1s', maxP99: '1s' } }), 'services[0].gate.analysis.window', 'at least 5s'],
  ['a gate deadline shorter than warm-up + window', (p) => gated(p, { deadline: '20s' }), 'services[0].gate.deadline', 'gate-deadline-covers-analysis'],
  ['the public entry point named traefik', (p) => (p.traefik = { entryPoint: { name: 'traefik' } }), 'traefik.entryPoint.name', 'admin entry point'],
];

describe('bad configs: each refused with its path and rule', () => {
  test('the table has a row for every shape the issue tried', () => expect(bad.length).toBeGreaterThanOrEqual(58));

  test.each(bad)('%s', (...row) => {
    const [, mutate, path, rule, env] = row as unknown as Row;
    const props = structuredClone(minimalProps()) as Props;
    mutate(props);
    const issues = issuesOf(() => check(props, env));
    const match = issues.find((i) => i.path === path);
    expect(match, `no issue at ${path}; got ${JSON.stringify(issues)}`).toBeDefined();
    if (typeof rule === 'string') expect(match!.rule).toContain(rule);
    else expect(match!.rule).toMatch(rule);
  });

  test('an unknown key and a timing violation are reported together', () => {
    const props = structuredClone(minimalProps()) as Props;
    props.traefik = { discovery: { refreshInterval: '15s' } };
    svc(props).drainGrace = '1s';
    svc(props).shutdownDelay = '0s';
    svc(props).drainGrase = '5s';
    const paths = issuesOf(() => check(props)).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['services[0].drainGrase', 'services[0].drainGrace']));
  });

  test('a duration under its minimum is shown as written, not in milliseconds', () => {
    const props = structuredClone(minimalProps()) as Props;
    svc(props).readiness.interval = '500ms';
    expect(issuesOf(() => check(props)).find((i) => i.path === 'services[0].readiness.interval')!.value).toBe('500ms');
  });

  test('the env key is named in the path and the rule, not given as the value of "Invalid key in record"', () => {
    const props = structuredClone(minimalProps()) as Props;
    svc(props).env = { 'BAD-NAME': 'x' };
    const issue = issuesOf(() => check(props)).find((i) => i.path === 'services[0].env.BAD-NAME')!;
    expect(issue.rule).not.toContain('Invalid key in record');
  });
});

describe('bad YAML: line numbers, no stack, no resource exhaustion', () => {
  const yamlRows: [string, string, RegExp, RegExp][] = [
    ['a syntax error', 'services:\n  - name: api\n    host: [unclosed\n', /^\(yaml line \d+, column \d+\)$/, /./],
    ['a duplicate key', 'services: []\nservices: []\n', /^\(yaml line 2, column 1\)$/, /unique/i],
    ['a tab indentation', 'services:\n\t- name: api\n', /^\(yaml line 2, column \d+\)$/, /./],
    ['an alias to no anchor', 'services: *nothing\n', /^\(yaml/, /./],
  ];
  test.each(yamlRows)('%s names the line', (_name, text, path, rule) => {
    const issues = issuesOf(() => parseYamlConfig(text));
    expect(issues[0]!.path).toMatch(path);
    expect(issues[0]!.rule).toMatch(rule);
  });

  test('an alias bomb is refused as a config problem, quickly', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const started = Date.now();
    const issues = issuesOf(() => parseYamlConfig(levels.join('\n')));
    expect(issues[0]).toMatchObject({ path: '(yaml)', rule: expect.stringContaining('alias') });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('a scalar document is refused at the root', () => {
    expect(issuesOf(() => check(parseYamlConfig('hello')))).toContainEqual(expect.objectContaining({ path: '(root)' }));
  });

  test('a missing file points synth users at ZERODROP_CONFIG', () => {
    expect(issuesOf(() => loadConfig('/nonexistent/zerodrop.yaml'))).toEqual([expect.objectContaining({ path: '(file)', rule: expect.stringContaining('ZERODROP_CONFIG') })]);
  });

  test('CDKTF_OUTDIR whose parent is missing is a config problem; an existing parent is fine', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zd-out-'));
    expect(outputDirIssues(join(dir, 'missing', 'out'))).toEqual([expect.objectContaining({ path: '$CDKTF_OUTDIR', rule: expect.stringContaining('does not exist') })]);
    expect(outputDirIssues(join(dir, 'out'))).toEqual([]);
  });
});

describe('the good side of every new limit is accepted', () => {
  const good: [string, (p: Props) => void, Record<string, string>?][] = [
    ['readiness interval and timeout of exactly 1s', (p) => Object.assign(svc(p).readiness, { interval: '1s', timeout: '1s' })],
    ['a liveness timeout equal to its interval', (p) => (svc(p).liveness = { interval: '2s', timeout: '2s' })],
    ['a health-check timeout equal to its interval', (p) => (p.traefik = { healthCheck: { interval: '2s', timeout: '2s' } })],
    ['retry.initialInterval 10ms', (p) => (p.traefik = { retry: { initialInterval: '10ms' } })],
    ['timing.margin 1s', (p) => (p.timing = { margin: '1s' })],
    ['a warm-up of exactly 24h', (p) => (svc(p).warmup = '24h')],
    ['two services with distinct hosts, one a list, mixed case', (p) => second(p, { host: ['Web.Example.com', 'www.example.com'] })],
    ['an IPv6 entry point host', (p) => (p.traefik = { entryPoint: { host: '::1' } })],
    ['an admin host on every interface', (p) => (p.traefik = { adminHost: '' })],
    ['https and IPv6 addresses', (p) => ((p.cluster.consul.address = 'https://consul.example.com:8501'), (p.cluster.nomad.address = 'http://[::1]:4646'))],
    ['a static internal port clear of Traefik', (p) => (svc(p).ports = { internalStatic: 9081 })],
    ['servedOnRoutedPort: false', (p) => (svc(p).readiness.servedOnRoutedPort = false)],
    ['no servedOnRoutedPort when Traefik does not health-check', (p) => ((p.traefik = { healthCheck: { enabled: false } }), delete svc(p).readiness.servedOnRoutedPort)],
    ['no servedOnRoutedPort with a static internal port', (p) => ((svc(p).ports = { internalStatic: 9081 }), delete svc(p).readiness.servedOnRoutedPort)],
    ['datacenter glob and names', (p) => (p.cluster.nomad.datacenters = ['*', 'dc-1', 'eu_west'])],
    ['a Consul state path', (p) => (p.cluster.state = { backend: 'consul', path: 'zerodrop/terraform' })],
    ['a state dir from the environment', () => {}, { ZERODROP_TF_STATE_DIR: '/tmp/zd state' }],
    ['an env key with digits and underscores', (p) => (svc(p).env = { LOG_LEVEL_2: 'info', _X: '' })],
    ['an accept grace at the max_kill_timeout limit', (p) => (p.traefik = { acceptGrace: '25s' })],
    ['a pinned Traefik image by digest', (p) => (p.traefik = { driver: { type: 'docker', image: `traefik:v3.6.12@sha256:${'a'.repeat(64)}` } })],
  ];
  test.each(good)('%s', (...row) => {
    const [, mutate, env] = row as unknown as (typeof good)[number];
    const props = structuredClone(minimalProps()) as Props;
    mutate(props);
    expect(() => check(props, env)).not.toThrow();
  });

  test('an IPv6 entry point listens in brackets', () => {
    const c = check({ ...minimalProps(), traefik: { entryPoint: { host: '::1' } } });
    const stat = traefikStaticConfig({ traefik: c.traefik, plan: traefikPlan(c) }) as any;
    expect(stat.entryPoints.web.address).toBe('[::1]:80');
  });

  test('servedOnRoutedPort: false leaves that service without a Traefik health-check; true keeps it', () => {
    const tags = (served: boolean) => {
      const c = check(minimalProps({ readiness: { servedOnRoutedPort: served } }));
      return traefikServiceTags(c.services[0]!, c.traefik);
    };
    expect(tags(false).some((t) => t.includes('.healthcheck.'))).toBe(false);
    expect(tags(true).some((t) => t.endsWith('.healthcheck.path=/readyz'))).toBe(true);
  });

  test('the synthesized Traefik template holds no template directive but the kit\'s own (token and admin address)', () => {
    const c = check(minimalProps());
    const tmpl = traefikJob(c).TaskGroups[0]!.Tasks[0]!.Templates![0]!.EmbeddedTmpl;
    expect(tmpl.match(/\{\{.*?\}\}/g)!.sort()).toEqual(['{{ .consul_token }}', '{{ end }}', '{{ env "NOMAD_IP_admin" }}', '{{ with nomadVar "nomad/jobs/traefik" }}']);
  });
});
