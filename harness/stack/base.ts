/**
 * What a stack in front of the recording "billing" upstream starts from, before Envoy runs: a temp
 * directory, the test CA (its certificate written there as the trust bundle), this proxy's own
 * SVID on disk, and the upstream on an ephemeral port. `release()` undoes all of it; stacks call
 * it from their `stop()`, and when their Envoy fails to start.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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
}
