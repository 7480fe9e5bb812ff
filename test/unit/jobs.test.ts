import { describe, expect, test } from 'vitest';
import { resolveConfig } from '../../config/index.ts';
import { canaryJob, traefikJob } from '../../jobs/index.ts';
import { timingPlans } from '../../timing/model.ts';
import { minimalProps, NO_ENV } from './fixtures.ts';

const NS = 1_000_000_000;

function build(overrides = {}, traefik = {}) {
  const props = { ...minimalProps(overrides), traefik };
  const config = resolveConfig(props, { env: NO_ENV });
  const plan = timingPlans(config).get('api')!;
  return { config, plan, job: canaryJob({ service: config.services[0]!, plan, config }) };
}

describe('canaryJob()', () => {
  const { job, plan } = build();
  const group = job.TaskGroups[0]!;
  const task = group.Tasks[0]!;
  const service = group.Services![0]!;

  test('rolls out by canary with auto-promote and auto-revert, health from checks', () => {
    expect(group.Update).toEqual({
      MaxParallel: 1,
      Canary: 2, // count: capacity kept
      AutoPromote: true,
      AutoRevert: true,
      HealthCheck: 'checks',
      MinHealthyTime: 6 * NS,
      HealthyDeadline: 21 * NS,
      ProgressDeadline: 31 * NS,
    });
  });

  test('has an http port for routing and an internal port for probes', () => {
    expect(group.Networks[0]!.DynamicPorts!.map((p) => p.Label)).toEqual(['http', 'internal']);
  });

  test('registers the service in Consul on http, with its readiness check on the internal port', () => {
    expect(service).toMatchObject({ Name: 'api', PortLabel: 'http', Provider: 'consul' });
    expect(service.Checks[0]).toEqual({ Name: 'api-ready', Type: 'http', PortLabel: 'internal', Path: '/readyz', Interval: NS, Timeout: NS, OnUpdate: 'require_healthy' });
  });

  test('restarts on a failing liveness check, but never during warm-up', () => {
    expect(service.Checks[1]).toMatchObject({ Path: '/livez', PortLabel: 'internal', CheckRestart: { Limit: 3, Grace: 14 * NS, IgnoreWarnings: false } });
  });

  test('stops with SIGTERM and the timing model kill_timeout and shutdown_delay', () => {
    expect(task).toMatchObject({ KillSignal: 'SIGTERM', KillTimeout: plan.killTimeoutMs * 1e6, ShutdownDelay: plan.shutdownDelayMs * 1e6 });
    // deregister, wait the routing window + margin (4 s + 2 s), then signal; the app then only finishes in-flight requests
    expect(task.ShutdownDelay).toBe(6000 * 1e6);
    expect(task.KillTimeout).toBe(3000 * 1e6);
  });

  test('passes the drain grace, ports and version to the app in its env', () => {
    expect(task.Env).toEqual({ PORT: '${NOMAD_PORT_http}', INTERNAL_PORT: '${NOMAD_PORT_internal}', APP_VERSION: 'v1', DRAIN_GRACE_MS: '0' }); // shutdown_delay covers the routing window
  });

  test('raw_exec binds where Nomad put the port and gets no docker port mapping', () => {
    const raw = build({ driver: { type: 'raw_exec', command: '/usr/bin/node', args: ['/srv/app.js'] } }).job.TaskGroups[0]!;
    expect(raw.Tasks[0]!.Config).toEqual({ command: '/usr/bin/node', args: ['/srv/app.js'] });
    expect(raw.Tasks[0]!.Env!.BIND_ADDR).toBe('${NOMAD_IP_http}');
    expect(raw.Networks[0]!.DynamicPorts).toEqual([{ Label: 'http' }, { Label: 'internal' }]);
  });

  test('a static internal port puts allocations on distinct hosts; dynamic ports do not', () => {
    expect(build({ ports: { internalStatic: 9081 } }).job.TaskGroups[0]!.Constraints).toEqual([{ Operand: 'distinct_hosts', RTarget: 'true' }]);
    expect(group.Constraints).toBeUndefined();
  });

  test('a static internal port is reserved and Traefik health-checks it', () => {
    const { job } = build({ ports: { internalStatic: 9081 } });
    const group = job.TaskGroups[0]!;
    expect(group.Networks[0]!.ReservedPorts).toEqual([{ Label: 'internal', Value: 9081, To: 8081 }]);
    expect(group.Services![0]!.Tags!.filter((t) => t.endsWith('.loadbalancer.healthcheck.port=9081'))).toHaveLength(1);
  });

  test('the whole job (one snapshot, so any change to the wire format is reviewed)', () => {
    expect(job).toMatchInlineSnapshot(`
      {
        "Datacenters": [
          "*",
        ],
        "ID": "api",
        "Meta": {
          "zerodrop.version": "v1",
        },
        "Name": "api",
        "Region": "global",
        "TaskGroups": [
          {
            "Count": 2,
            "Name": "api",
            "Networks": [
              {
                "DynamicPorts": [
                  {
                    "Label": "http",
                    "To": 8080,
                  },
                  {
                    "Label": "internal",
                    "To": 8081,
                  },
                ],
                "Mode": "host",
              },
            ],
            "Services": [
              {
                "Checks": [
                  {
                    "Interval": 1000000000,
                    "Name": "api-ready",
                    "OnUpdate": "require_healthy",
                    "Path": "/readyz",
                    "PortLabel": "internal",
                    "Timeout": 1000000000,
                    "Type": "http",
                  },
                  {
                    "CheckRestart": {
                      "Grace": 14000000000,
                      "IgnoreWarnings": false,
                      "Limit": 3,
                    },
                    "Interval": 5000000000,
                    "Name": "api-alive",
                    "OnUpdate": "require_healthy",
                    "Path": "/livez",
                    "PortLabel": "internal",
                    "Timeout": 2000000000,
                    "Type": "http",
                  },
                ],
                "Name": "api",
                "PortLabel": "http",
                "Provider": "consul",
                "Tags": [
                  "traefik.enable=true",
                  "zerodrop.edge=traefik",
                  "traefik.http.routers.api-71ecf151.rule=Host(\`api.example.com\`) && !Path(\`/readyz\`) && !Path(\`/livez\`)",
                  "traefik.http.routers.api-71ecf151.service=api-d66fcd49",
                  "traefik.http.routers.api-71ecf151.middlewares=api-retry-dd39004f",
                  "traefik.http.middlewares.api-retry-dd39004f.retry.attempts=4",
                  "traefik.http.middlewares.api-retry-dd39004f.retry.initialinterval=100ms",
                  "traefik.http.services.api-d66fcd49.loadbalancer.healthcheck.path=/readyz",
                  "traefik.http.services.api-d66fcd49.loadbalancer.healthcheck.interval=1s",
                  "traefik.http.services.api-d66fcd49.loadbalancer.healthcheck.timeout=1s",
                ],
              },
            ],
            "Spreads": [
              {
                "Attribute": "\${node.unique.id}",
                "Weight": 100,
              },
            ],
            "Tasks": [
              {
                "Config": {
                  "image": "ghcr.io/example/api:v1",
                  "ports": [
                    "http",
                    "internal",
                  ],
                },
                "Driver": "docker",
                "Env": {
                  "APP_VERSION": "v1",
                  "DRAIN_GRACE_MS": "0",
                  "INTERNAL_PORT": "\${NOMAD_PORT_internal}",
                  "PORT": "\${NOMAD_PORT_http}",
                },
                "KillSignal": "SIGTERM",
                "KillTimeout": 3000000000,
                "Name": "app",
                "Resources": {
                  "CPU": 100,
                  "MemoryMB": 128,
                },
                "ShutdownDelay": 6000000000,
              },
            ],
            "Update": {
              "AutoPromote": true,
              "AutoRevert": true,
              "Canary": 2,
              "HealthCheck": "checks",
              "HealthyDeadline": 21000000000,
              "MaxParallel": 1,
              "MinHealthyTime": 6000000000,
              "ProgressDeadline": 31000000000,
            },
          },
        ],
        "Type": "service",
      }
    `);
  });
});

describe('canaryJob() placement', () => {
  test('spreads instances over the nodes when there are several (Nomad would bin-pack them onto one)', () => {
    expect(build({ count: 3 }).job.TaskGroups[0]!.Spreads).toEqual([{ Attribute: '${node.unique.id}', Weight: 100 }]);
    expect(build({ count: 1 }).job.TaskGroups[0]!.Spreads).toBeUndefined();
  });
});

describe('traefikJob()', () => {
  const { config } = build();
  const job = traefikJob(config);
  const task = job.TaskGroups[0]!.Tasks[0]!;

  test('is a system job: one Traefik on every client', () => {
    expect(job.Type).toBe('system');
  });

  test('rolls one node at a time on every Nomad: a job-level stagger for Nomad before 1.11, the group update for 1.11 and later', () => {
    expect(job.Update).toEqual({ MaxParallel: 1, Stagger: 87e9 });
    expect(job.TaskGroups[0]!.Update).toMatchObject({ MaxParallel: 1, Canary: 0, HealthCheck: 'checks' });
  });

  test('reserves the entry point and admin ports', () => {
    expect(job.TaskGroups[0]!.Networks[0]!.ReservedPorts).toEqual([
      { Label: 'web', Value: 80 },
      { Label: 'admin', Value: 8082 },
    ]);
  });

  test('on a host network (traefik.hostNetwork): both ports allocated there, and both entry points listen on the address Nomad allocated', () => {
    const { config: onEdge } = build({}, { hostNetwork: 'edge' });
    const edgeJob = traefikJob(onEdge);
    expect(edgeJob.TaskGroups[0]!.Networks[0]!.ReservedPorts).toEqual([
      { Label: 'web', Value: 80, HostNetwork: 'edge' },
      { Label: 'admin', Value: 8082, HostNetwork: 'edge' },
    ]);
    const yaml = edgeJob.TaskGroups[0]!.Tasks[0]!.Templates![0]!.EmbeddedTmpl;
    expect(yaml).toContain('address: \'{{ env "NOMAD_IP_web" }}:80\'');
    expect(yaml).toContain('address: \'{{ env "NOMAD_IP_admin" }}:8082\'');
    // negative control: without it, the entry point keeps traefik.entryPoint.host (every interface)
    expect(task.Templates![0]!.EmbeddedTmpl).not.toContain('NOMAD_IP_web');
  });

  test("registers Traefik in Consul with the catalog-ready route: /ready on the admin entry point to ping@internal, a route Traefik has only once it read the catalog", () => {
    const service = job.TaskGroups[0]!.Services![0]!;
    expect(service.Tags).toEqual([
      'traefik.enable=true',
      'zerodrop.edge=traefik',
      'traefik.http.routers.traefik-catalog-ready.rule=Path(`/ready`)',
      'traefik.http.routers.traefik-catalog-ready.entrypoints=traefik',
      'traefik.http.routers.traefik-catalog-ready.service=ping@internal',
    ]);
    // Consul's own check (Nomad's update gate) stays on /ping: /ready needs a passing Traefik in the catalog first
    expect(service.Checks[0]!.Path).toBe('/ping');
  });

  test('renders its static config into the secrets dir, reading the Consul token from a Nomad variable', () => {
    expect(task.Templates![0]).toMatchObject({ DestPath: 'secrets/traefik.yaml', Perms: '0600' });
    expect(task.Templates![0]!.EmbeddedTmpl).toContain('token: \'{{ with nomadVar "nomad/jobs/traefik" }}{{ .consul_token }}{{ end }}\'');
    expect(task.Config).toEqual({ image: 'traefik:v3.6.12', network_mode: 'host', args: ['--configFile=${NOMAD_SECRETS_DIR}/traefik.yaml'] });
  });

  test('rolls one node at a time, gated on its /ping check, with the timing model durations', () => {
    expect(job.TaskGroups[0]!.Update).toEqual({
      MaxParallel: 1,
      Canary: 0,
      AutoPromote: false,
      AutoRevert: true,
      HealthCheck: 'checks',
      // max(routing window 4s, acceptGrace 10s) + margin 2s; + 60s start allowance; + 10s
      MinHealthyTime: 12 * NS,
      HealthyDeadline: 72 * NS,
      ProgressDeadline: 82 * NS,
    });
  });

  test('drains on stop: kill_timeout covers accept grace + graceTimeOut + margin, no shutdown_delay hiding the drain from /ping', () => {
    expect(task).toMatchObject({ KillSignal: 'SIGTERM', KillTimeout: (10 + 3 + 2) * NS, ShutdownDelay: 0 });
    const yaml = task.Templates![0]!.EmbeddedTmpl;
    expect(yaml).toContain('requestAcceptGraceTimeout: 10s');
    expect(yaml).toContain('terminatingStatusCode: 503');
  });

  test('restarts on a re-rendered template (static config cannot reload), spread over the nodes by a splay', () => {
    expect(task.Templates![0]).toMatchObject({ ChangeMode: 'restart', Splay: 120 * NS });
  });

  test("binds the admin entry point to Nomad's address for the admin port unless traefik.adminHost says otherwise", () => {
    expect(task.Templates![0]!.EmbeddedTmpl).toContain(`address: '{{ env "NOMAD_IP_admin" }}:8082'`);
    const pinned = build({}, { adminHost: '127.0.0.1' }).config;
    expect(traefikJob(pinned).TaskGroups[0]!.Tasks[0]!.Templates![0]!.EmbeddedTmpl).toContain('address: 127.0.0.1:8082');
  });

  test('without Consul ACLs, routes only services with the kit tag; with ACLs the token already limits it', () => {
    const noAcl = resolveConfig({ ...minimalProps(), cluster: { consul: { acl: false } } }, { env: NO_ENV });
    expect(traefikJob(noAcl).TaskGroups[0]!.Tasks[0]!.Templates![0]!.EmbeddedTmpl).toContain('constraints: Tag(`zerodrop.edge=traefik`)');
    expect(task.Templates![0]!.EmbeddedTmpl).not.toContain('constraints');
  });

  test('has no token line when Consul runs without ACLs', () => {
    const noAcl = resolveConfig({ ...minimalProps(), cluster: { consul: { acl: false } } }, { env: NO_ENV });
    expect(traefikJob(noAcl).TaskGroups[0]!.Tasks[0]!.Templates![0]!.EmbeddedTmpl).not.toContain('token');
  });
});

describe('canaryJob() for promotion: gated', () => {
  const gate = { smoke: [{ path: '/', expectBody: 'ok' }], analysis: { maxP99Ratio: 2 } };
  const { job, plan } = build({ promotion: 'gated', gate });
  const group = job.TaskGroups[0]!;
  test('Nomad does not promote: the gate does', () => {
    expect(group.Update!.AutoPromote).toBe(false);
    expect(group.Update!.AutoRevert).toBe(true);
  });
  test('canary_tags differ from tags by the canary router, tags by the stable one', () => {
    const svc = group.Services![0]!;
    expect(svc.CanaryTags!.filter((t) => t.includes('_canary-')).length).toBeGreaterThan(0);
    expect(svc.Tags!.filter((t) => t.includes('_stable-')).length).toBeGreaterThan(0);
    expect(svc.CanaryTags!.some((t) => t.includes('_stable-'))).toBe(false);
  });
  test('the apply timeout covers the gate deadline', () => {
    expect(plan.gateDeadlineMs).toBeGreaterThan(0);
    expect(plan.applyTimeoutMs).toBeGreaterThanOrEqual(plan.waves * plan.progressDeadlineMs + plan.gateDeadlineMs!);
  });
  test('auto promotion has no canary_tags', () => {
    expect(build().job.TaskGroups[0]!.Services![0]!.CanaryTags).toBeUndefined();
  });
});
