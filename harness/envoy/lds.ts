/**
 * File-based LDS: turns a static bootstrap into one whose listeners come from a watched file, so a
 * test can replace the policy while Envoy serves (the way a control plane pushes a new filter
 * config), and observe Envoy accept or reject the update. Replacing the file is atomic (write a
 * temp file, rename it into the watched directory), as Envoy's file watcher expects.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Json } from './bootstrap';

const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';

export class LdsFile {
  private version = 0;

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  get file(): string {
    return path.join(this.dir, 'lds.json');
  }

  /** Moves the bootstrap's static listeners to this LDS file; returns the new bootstrap. */
  adopt(bootstrap: Json): Json {
    const sr = bootstrap.static_resources as Json;
    const listeners = sr.listeners as Json[];
    delete sr.listeners;
    this.write(listeners);
    return {
      ...bootstrap,
      node: { id: 'meshgate', cluster: 'meshgate' }, // dynamic resources need a node identity
      dynamic_resources: {
        lds_config: { resource_api_version: 'V3', path_config_source: { path: this.file, watched_directory: { path: this.dir } } },
      },
    };
  }

  /** Atomically replaces the listeners Envoy serves. */
  write(listeners: Json[]): void {
    this.version++;
    const tmp = path.join(path.dirname(this.dir), `.lds-${process.pid}-${this.version}.json`);
    fs.writeFileSync(tmp, JSON.stringify({ version_info: String(this.version), resources: listeners.map((l) => ({ '@type': LISTENER_TYPE, ...l })) }));
    fs.renameSync(tmp, this.file);
  }
}

/** A free loopback TCP port (listeners whose config gets replaced need a fixed port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
