/**
 * A TCP connection under a network filter (`envoy.filters.network.wasm`), driven in Envoy 1.40's
 * order (shared notes §1.8 item 4):
 *
 *     const conn = new NetworkConnection(plugin, { properties: { 'destination.port': 443 } });
 *     conn.newConnection();               // on_context_create(conn, root) + on_new_connection, at accept
 *     conn.downstreamData(helloBytes);    // on_downstream_data per read
 *     conn.close('remote');               // on_downstream_connection_close → on_done → on_log → on_delete
 *
 * - The read buffer (BufferType NetworkDownstreamData) is Envoy's connection read buffer: while
 *   the filter answers StopIteration nothing drains it, so the next read appends and the filter
 *   is called again with the whole buffer's size. Continue hands the buffer to the filters after
 *   it (sni_dynamic_forward_proxy, tcp_proxy), which drain it: `forwarded` collects those bytes.
 * - Network FilterStatus: 0 Continue, anything else StopIteration.
 * - proxy_close_stream(downstream) closes the connection (FlushWrite): after the callback that
 *   asked for it returns, the filter gets on_downstream_connection_close(local) and the context
 *   ends; nothing after the filter runs and no later read is delivered. (Envoy raises the close
 *   event from inside the host call; the emulator delivers it when the callback returns — same
 *   order of callbacks, no nesting.)
 * - A trap fails the connection closed (Envoy closes it; no further callbacks).
 * Properties such as `destination.port` and `connection.requested_server_name` are supplied by
 * the caller, as Envoy's listener would have set them (the TLS inspector model in
 * harness/scenario/tls-inspector.ts says what the latter holds).
 */
import { FilterStatus, PeerType, StreamType } from './enums';
import { propertyMap } from './property-values';
import type { Frame, PropertyValue, StreamState } from './state';
import type { PluginHandle } from './stream';

const PEER = { local: PeerType.Local, remote: PeerType.Remote } as const;

export type ConnectionAction = 'continue' | 'stop' | 'closed' | 'failed';

export interface ConnectionStep {
  /** continue: the bytes went on to the next filter; stop: held in the read buffer; closed: the
   *  filter closed the connection; failed: the VM trapped (Envoy closes the connection). */
  action: ConnectionAction;
  /** The guest's raw return value (-1 when the VM failed or the connection was already closed). */
  status: number;
}

export class NetworkConnection {
  readonly id: number;
  private readonly state: StreamState;
  private created = false;
  private ended = false;
  /** Bytes the filter let through to the filters after it, in order. */
  readonly forwarded: Buffer[] = [];
  /** Callbacks delivered to the guest, in order (for tests of Envoy's order). */
  readonly callbacks: string[] = [];

  constructor(
    readonly plugin: PluginHandle,
    o: { properties?: Record<string, PropertyValue> } = {},
  ) {
    this.id = plugin.vm.newContextId();
    this.state = {
      id: this.id,
      plugin,
      properties: propertyMap(o.properties),
      maps: [undefined, undefined, undefined, undefined],
      open: [false, false, false, false],
      logPhase: false,
      filterState: new Map(),
      body: [Buffer.alloc(0), Buffer.alloc(0)],
      downstream: Buffer.alloc(0),
      closed: [],
      envoyFilterState: new Map(),
    };
  }

  /** Filter state the guest wrote with proxy_set_property (`wasm.<key>` → UTF-8 text). */
  get filterState(): Record<string, string> {
    return Object.fromEntries([...this.state.filterState].map(([k, v]) => [k, Buffer.from(v).toString('utf8')]));
  }

  /** Envoy filter state the guest set through `set_envoy_filter_state` (key → value). */
  get envoyFilterState(): Record<string, string> {
    return Object.fromEntries(this.state.envoyFilterState);
  }

  /** Bytes held in the read buffer (the filter has not let them through). */
  get buffered(): Buffer {
    return this.state.downstream!;
  }

  /** Whether the connection is closed (by the filter, a trap, or close()). */
  get isClosed(): boolean {
    return this.ended;
  }

  /** Whether the filter itself closed the connection (proxy_close_stream downstream). */
  get closedByFilter(): boolean {
    return this.state.closed.includes(StreamType.Downstream);
  }

  private frame(callback: string): Frame {
    return { callback, contextId: this.id, plugin: this.plugin, stream: this.state };
  }

  private call(fn: string, ...args: number[]): number | undefined {
    this.callbacks.push(fn);
    return this.plugin.vm.invoke(this.frame(fn), fn, this.id, ...args);
  }

  /** After a callback: a trap or a close ends the connection; else what the status says. */
  private after(status: number | undefined): ConnectionStep {
    const vm = this.plugin.vm;
    if (vm.failed) {
      this.ended = true;
      return { action: 'failed', status: -1 };
    }
    if (this.closedByFilter) {
      this.end(PEER.local);
      return { action: 'closed', status: status ?? 0 };
    }
    return { action: (status ?? 0) === FilterStatus.Continue ? 'continue' : 'stop', status: status ?? 0 };
  }

  /** At accept: on_context_create(conn, root), then on_new_connection. */
  newConnection(): ConnectionStep {
    if (this.ended) return { action: 'closed', status: -1 };
    const vm = this.plugin.vm;
    if (vm.failed) return { action: 'failed', status: -1 };
    if (!this.created) {
      this.created = true;
      vm.streams.set(this.id, this.state);
      this.call('proxy_on_context_create', this.plugin.id);
      if (vm.failed) return this.after(undefined);
    }
    return this.after(this.call('proxy_on_new_connection'));
  }

  /**
   * One read from the downstream socket: the bytes join the read buffer and the filter sees the
   * whole buffer. Continue drains it into `forwarded`; StopIteration keeps it.
   */
  downstreamData(chunk: string | Uint8Array, endOfStream = false): ConnectionStep {
    if (this.ended) return { action: 'closed', status: -1 };
    if (!this.created) {
      const first = this.newConnection();
      if (first.action === 'closed' || first.action === 'failed') return first;
    }
    this.state.downstream = Buffer.concat([this.state.downstream!, typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk]);
    const step = this.after(this.call('proxy_on_downstream_data', this.state.downstream.length, endOfStream ? 1 : 0));
    if (step.action === 'continue') {
      this.forwarded.push(this.state.downstream);
      this.state.downstream = Buffer.alloc(0);
    }
    return step;
  }

  /** The peer closed (or the proxy did, `local`): the close callbacks, once. */
  close(by: 'local' | 'remote' = 'remote'): void {
    if (this.ended) return;
    this.end(PEER[by]);
  }

  /** on_downstream_connection_close(peer) → on_done → on_log → on_delete (Envoy's TCP order). */
  private end(peer: number): void {
    this.ended = true;
    const vm = this.plugin.vm;
    if (!this.created || vm.failed) return;
    for (const [fn, args] of [
      ['proxy_on_downstream_connection_close', [peer]],
      ['proxy_on_done', []],
      ['proxy_on_log', []],
      ['proxy_on_delete', []],
    ] as const) {
      this.state.logPhase = fn === 'proxy_on_log';
      this.call(fn, ...args);
      if (vm.failed) break;
    }
    this.state.logPhase = false;
    vm.streams.delete(this.id);
  }
}
