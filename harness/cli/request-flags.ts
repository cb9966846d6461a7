/** The flags that describe one request to a filter, shared by `eval` and `explain`. */
import type { Command } from 'commander';

export interface RequestFlags {
  identity?: string;
  xfcc?: string;
  method: string;
  path: string;
  host?: string;
  port?: number;
  connect?: boolean;
  scheme: string;
}

/** Adds --identity, --xfcc, --method, --path, --host, --port, --connect, --scheme to `cmd`. */
export function addRequestFlags(cmd: Command, identity: string): Command {
  return cmd
    .option('--identity <id>', identity)
    .option('--xfcc <header>', 'x-forwarded-client-cert as the filter receives it')
    .option('--method <m>', 'inbound: request method', 'GET')
    .option('--path <p>', 'inbound: request path', '/')
    .option('--host <h>', 'egress: target host')
    .option('--port <n>', 'egress: target port', Number)
    .option('--connect', 'egress: a CONNECT request')
    .option('--scheme <s>', 'egress: request scheme', 'https');
}
