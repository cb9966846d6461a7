/**
 * The harness's own smoke stack, without meshgate: one mTLS listener `inbound` (client certificate
 * required, trust bundle = the test CA, a server certificate for `serverName`) routing every
 * request to the recording "billing" upstream. Built from harness/envoy/bootstrap.ts, not from a
 * reference config, so it checks the Envoy harness and its launchers (direct, func-e) alone.
 */
import * as path from 'node:path';
import { bootstrap, clusterRoute, fileAccessLog, httpListener, staticCluster, type Json } from '../envoy/bootstrap';
import type { LocatedEnvoy } from '../envoy/locate';
import type { EnvoyProcess, EnvoyStartOptions } from '../envoy/process';
import { EnvoyOnBase, StackBase } from './base';

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

export class MtlsStack extends EnvoyOnBase {
  private constructor(
    base: StackBase,
    envoy: EnvoyProcess,
    readonly port: number,
    /** `<dir>/access.log` (written only with `accessLogFormat`). */
    readonly accessLogPath: string,
  ) {
    super(base, envoy);
  }

  static async start(o: MtlsStackOptions): Promise<MtlsStack> {
    const base = await StackBase.create({ trustDomain: o.trustDomain, serverName: o.serverName, dirPrefix: 'meshgate-mtls-' });
    return base.launch(async (startEnvoy) => {
      const accessLogPath = path.join(base.dir, 'access.log');
      const envoy = await startEnvoy({
        envoy: o.envoy,
        launcher: o.launcher,
        funcEMode: o.funcEMode,
        bootstrap: mtlsBootstrap(base, o.accessLogFormat ? [fileAccessLog(accessLogPath, o.accessLogFormat)] : []),
      });
      return new MtlsStack(base, envoy, await envoy.listenerPort('inbound'), accessLogPath);
    });
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
