/**
 * What a stack in front of the recording "billing" upstream starts from, before Envoy runs: a temp
 * directory, the test CA (its certificate written there as the trust bundle), this proxy's own
 * SVID on disk, and the upstream on an ephemeral port. `launch()` starts the stack's Envoy and
 * releases everything if the start fails; `EnvoyOnBase` is the surface the stacks share.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EnvoyProcess, type EnvoyStartOptions } from '../envoy/process';
import type { CertPaths } from '../envoy/reference';
import { TestCa } from '../pki/ca';
import { RecordingUpstream } from '../services/upstream';

export interface StackBaseOptions {
  /** Trust domain of the test CA (when created here) and of this proxy's own SVID. */
  trustDomain: string;
  /** Reuse a CA (e.g. one shared with an egress stack, or across the tests of a file). */
  ca?: TestCa;
  /** A DNS name in this proxy's certificate, for clients that verify the server name. */
  serverName?: string;
  /** Prefix of the temp directory's name. */
  dirPrefix: string;
}

export class StackBase {
  private constructor(
    readonly dir: string,
    readonly ca: TestCa,
    /** Trust bundle and this proxy's certificate chain and key, as files in `dir`. */
    readonly certs: CertPaths,
    readonly upstream: RecordingUpstream,
  ) {}

  static async create(o: StackBaseOptions): Promise<StackBase> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), o.dirPrefix));
    try {
      const ca = o.ca ?? (await TestCa.create({ trustDomain: o.trustDomain }));
      const { caFile } = ca.writeTo(dir, 'ca');
      const own = (await ca.mintSvid(`spiffe://${o.trustDomain}/ns/shop/sa/billing`, o.serverName ? { dnsNames: [o.serverName] } : undefined)).writeTo(dir, 'billing');
      const upstream = await RecordingUpstream.start({ name: 'billing' });
      return new StackBase(dir, ca, { caFile, certFile: own.chainFile, keyFile: own.keyFile }, upstream);
    } catch (e) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  async release(): Promise<void> {
    await this.upstream.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Runs the rest of a stack's start. `build` starts Envoy through the function it is given; when
   * `build` throws, the Envoy it started is stopped and this base released before the error goes on.
   */
  async launch<T>(build: (startEnvoy: (o: EnvoyStartOptions) => Promise<EnvoyProcess>) => Promise<T>): Promise<T> {
    let envoy: EnvoyProcess | undefined;
    try {
      return await build(async (o) => (envoy = await EnvoyProcess.start(o)));
    } catch (e) {
      await envoy?.stop();
      await this.release();
      throw e;
    }
  }
}

/** A stack: Envoy in front of a StackBase's upstream. `stop()` ends Envoy, then releases the base. */
export abstract class EnvoyOnBase {
  protected constructor(
    protected readonly base: StackBase,
    readonly envoy: EnvoyProcess,
  ) {}

  get ca(): TestCa {
    return this.base.ca;
  }

  get upstream(): RecordingUpstream {
    return this.base.upstream;
  }

  /** The stack's temp directory (certificates, LDS file, access log). */
  get dir(): string {
    return this.base.dir;
  }

  async stop(): Promise<void> {
    await this.envoy.stop();
    await this.base.release();
  }
}
