/**
 * What a stack in front of the recording "billing" upstream starts from, before Envoy runs: a temp
 * directory, the test PKI (one CA per trusted trust domain, each bundle written there), this
 * proxy's own SVID on disk, and the upstream on an ephemeral port. `launch()` starts the stack's Envoy and
 * releases everything if the start fails; `EnvoyOnBase` is the surface the stacks share.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EnvoyProcess, type EnvoyStartOptions } from '../envoy/process';
import type { CertPaths } from '../envoy/reference';
import { TestCa } from '../pki/ca';
import { TestPki, type AuthoritySpec, type TrustBundleFile } from '../pki/pki';
import { RecordingUpstream } from '../services/upstream';

export interface StackBaseOptions {
  /** Trust domain of the test CA (when created here) and of this proxy's own SVID. */
  trustDomain: string;
  /** Reuse a CA for the own trust domain (e.g. one shared with an egress stack, or across the tests of a file). */
  ca?: TestCa;
  /** Trust domains the proxy trusts besides its own (a CA and a bundle each). */
  federatesWith?: string[];
  /** Further authorities by name (outsider CAs; `trusted` ones add to their domain's bundle). */
  authorities?: Record<string, AuthoritySpec>;
  /** A DNS name in this proxy's certificate, for clients that verify the server name. */
  serverName?: string;
  /** Prefix of the temp directory's name. */
  dirPrefix: string;
}

export class StackBase {
  private constructor(
    readonly dir: string,
    readonly pki: TestPki,
    /** The own trust domain's bundle and this proxy's certificate chain and key, as files in `dir`. */
    readonly certs: CertPaths,
    /** Every trusted trust domain's bundle, own first. */
    readonly trustBundles: TrustBundleFile[],
    readonly upstream: RecordingUpstream,
  ) {}

  /** The CA of the own trust domain. */
  get ca(): TestCa {
    return this.pki.own;
  }

  static async create(o: StackBaseOptions): Promise<StackBase> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), o.dirPrefix));
    try {
      const pki = await TestPki.create({ trustDomains: [o.trustDomain, ...(o.federatesWith ?? [])], extra: o.authorities, own: o.ca });
      const { caFile } = pki.own.writeTo(dir, 'ca');
      const trustBundles = pki.writeBundles(dir);
      const own = (await pki.own.mintSvid(`spiffe://${o.trustDomain}/ns/shop/sa/billing`, o.serverName ? { dnsNames: [o.serverName] } : undefined)).writeTo(dir, 'billing');
      const upstream = await RecordingUpstream.start({ name: 'billing' });
      return new StackBase(dir, pki, { caFile, certFile: own.chainFile, keyFile: own.keyFile }, trustBundles, upstream);
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

  get pki(): TestPki {
    return this.base.pki;
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
