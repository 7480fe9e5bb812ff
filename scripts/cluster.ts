#!/usr/bin/env tsx
/**
 * `npm run cluster -- up|down|status [--nodes N] [--state-dir DIR] [--port-base N] [--timeout S]`: the
 * local Consul + Nomad cluster (cluster/); `--nodes 3` runs three client nodes and a front proxy.
 * Exit 0 when done (status: when healthy), 1 on failure, 2 on a bad command.
 */
import path from 'node:path';
import { Command } from 'commander';
import { clusterDown, clusterStatus, clusterUp, DEFAULTS, exportLines, FRONT_DEFAULTS, MAX_NODES, type ClusterOptions } from '../cluster/index.ts';

export async function main(argv = process.argv): Promise<number> {
  const program = new Command('cluster')
    .argument('<command>', 'up | down | status')
    .option('--state-dir <dir>', 'state dir (env ZERODROP_STATE_DIR)', DEFAULTS.stateDir)
    .option('--port-base <n>', 'first port of the cluster block (env ZERODROP_PORT_BASE)', String(DEFAULTS.portBase))
    .option('--timeout <seconds>', 'how long up waits for readiness', String(DEFAULTS.readyTimeoutMs / 1000))
    .option('--nodes <n>', `up: Nomad client nodes, 1 (all-in-one) to ${MAX_NODES}; more than 1 adds a server node and a front proxy (down/status: read from the running cluster)`)
    .option('--front-port <port>', 'up with --nodes > 1: where the front proxy listens on 127.0.0.1', String(FRONT_DEFAULTS.port))
    .option('--edge-port <port>', "up with --nodes > 1: the nodes' Traefik entry port (traefik.entryPoint.port)", String(FRONT_DEFAULTS.edgePort))
    .option('--edge-admin-port <port>', "up with --nodes > 1: the nodes' Traefik admin port, /ping (traefik.adminPort)", String(FRONT_DEFAULTS.edgeAdminPort))
    .parse(argv);
  const [cmd] = program.args;
  const o = program.opts<{ stateDir: string; portBase: string; timeout: string; nodes?: string; frontPort: string; edgePort: string; edgeAdminPort: string }>();
  const opts: ClusterOptions = {
    stateDir: o.stateDir,
    portBase: Number(o.portBase),
    readyTimeoutMs: Number(o.timeout) * 1000,
    ...(o.nodes !== undefined ? { nodes: Number(o.nodes) } : {}),
    // down and status read the front's ports from what up recorded
    ...(cmd === 'up' ? { front: { port: Number(o.frontPort), edgePort: Number(o.edgePort), edgeAdminPort: Number(o.edgeAdminPort) } } : {}),
  };
  try {
    if (cmd === 'up') {
      const ac = new AbortController();
      const onSignal = () => {
        console.error('\n[cluster] interrupted: cleaning up');
        ac.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const e = await clusterUp({ ...opts, signal: ac.signal });
        console.log(`\n  nomad   ${e.nomadAddr}\n  consul  ${e.consulAddr} (ACLs on, default deny)\n  token   ${e.consulTokenFile}\n`);
        if ((opts.nodes ?? 1) > 1) console.log(`  front   http://127.0.0.1:${opts.front!.port}/ → each node's Traefik on :${opts.front!.edgePort} (examples/multinode.yaml deploys it there)\n`);
        const isDefault = path.resolve(opts.stateDir ?? DEFAULTS.stateDir) === path.resolve(DEFAULTS.stateDir) && (opts.portBase ?? DEFAULTS.portBase) === DEFAULTS.portBase;
        const deployCmd = isDefault ? '`npm run deploy`' : `\`ZERODROP_STATE_DIR=${e.stateDir} ZERODROP_PORT_BASE=${opts.portBase} npm run deploy\``;
        console.log(`${deployCmd} deploys to this cluster while it runs (no exports needed; -c FILE deploys to the cluster a config names).`);
        console.log(`For the nomad and consul CLIs:\n${exportLines(e).join('\n')}`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      return 0;
    }
    if (cmd === 'down') {
      await clusterDown(opts);
      return 0;
    }
    if (cmd === 'status') {
      const s = await clusterStatus(opts);
      console.log(`state dir ${s.stateDir}`);
      console.log(`  consul  ${s.consulPid ? `pid ${s.consulPid}` : 'not running'}  ${s.consulAddr}`);
      console.log(`  nomad   ${s.nomadPid ? `pid ${s.nomadPid}` : 'not running'}  ${s.nomadAddr}`);
      for (const n of s.nodes ?? []) console.log(`  node    ${n.name} on ${n.address}: consul ${n.consulPid ? `pid ${n.consulPid}` : 'not running'}, nomad ${n.nomadPid ? `pid ${n.nomadPid}` : 'not running'}`);
      if (s.layout.front) console.log(`  front   ${s.frontPid ? `pid ${s.frontPid}` : 'not running'}  http://${s.layout.front.address}:${s.layout.front.port}/`);
      console.log(`  dynamic ports ${s.ports.dynamic.min}-${s.ports.dynamic.max}`);
      for (const c of s.checks) console.log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
      if (s.consulPid || s.nomadPid) console.log('\n' + exportLines(s).join('\n'));
      return s.healthy ? 0 : 1;
    }
    console.error(`command: '${cmd}' — unknown — use up, down or status`);
    return 2;
  } catch (err) {
    console.error(`[cluster] ${(err as Error).message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main().then((code) => (process.exitCode = code));
