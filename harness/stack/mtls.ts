/**
 * The harness's own smoke stack, without meshgate: one mTLS listener `inbound` (client certificate
 * required, trust bundle = the test CA, a server certificate for `serverName`) routing every
 * request to the recording "billing" upstream. Built from harness/envoy/bootstrap.ts, not from a
 * reference config, so it checks the Envoy harness and its launchers (direct, func-e) alone.
 */
import * as path from 'node:path';
import { bootstrap, clusterRoute, fileAccessLog, httpListener, staticCluster, type Json } from '../envoy/bootstrap';
import type { LocatedEnvoy } from '../envoy/locate';
import { EnvoyProcess, type EnvoyStartOptions } from '../envoy/process';
import type { TestCa } from '../pki/ca';
import type { RecordingUpstream } from '../services/upstream';
import { StackBase } from './base';

export interface MtlsStackOptions {
  trustDomain: string;
  /** The DNS name in the listener's certificate; clients verify it (SNI + server name check). */
  serverName: string;
  /** When set, every request is logged in this format (end it with \n) to `accessLogPath`. */
  accessLogFormat?: string;
  /** Use this Envoy instead of `locateEnvoy()`. */
  envoy?: LocatedEnvoy;
  launcher?: EnvoyStartOptions['launcher'];
  funcEMode?: EnvoyStartOptions['funcEMode'];
}

export class MtlsStack {
  private constructor(
    private readonly base: StackBase,
    readonly envoy: EnvoyProcess,
    readonly port: number,
    /** `<dir>/access.log` (written only with `accessLogFormat`). */
    readonly accessLogPath: string,
  ) {}

  get ca(): TestCa {
    return this.base.ca;
  }

  get upstream(): RecordingUpstream {
    return this.base.upstream;
  }

  static async start(o: MtlsStackOptions): Promise<MtlsStack> {
    const base = await StackBase.create({ trustDomain: o.trustDomain, serverName: o.serverName, dirPrefix: 'meshgate-mtls-' });
    let envoy: EnvoyProcess | undefined;
    try {
      const accessLogPath = path.join(base.dir, 'access.log');
      envoy = await EnvoyProcess.start({
        envoy: o.envoy,
        launcher: o.launcher,
        funcEMode: o.funcEMode,
        bootstrap: mtlsBootstrap(base, o.accessLogFormat ? [fileAccessLog(accessLogPath, o.accessLogFormat)] : []),
      });
      return new MtlsStack(base, envoy, await envoy.listenerPort('inbound'), accessLogPath);
    } catch (e) {
      await envoy?.stop();
      await base.release();
      throw e;
    }
  }

  async stop(): Promise<void> {
    await this.envoy.stop();
    await this.base.release();
  }
}

function mtlsBootstrap(base: StackBase, accessLogs: Json[]): Json {
  const { caFile, certFile, keyFile } = base.certs;
  return bootstrap({
    listeners: [
      httpListener({
        name: 'inbound',
        tls: { certFile, keyFile, caFile, requireClientCertificate: true },
        routes: [clusterRoute('billing')],
        accessLogs,
      }),
    ],
    clusters: [staticCluster({ name: 'billing', port: base.upstream.port })],
  });
}
