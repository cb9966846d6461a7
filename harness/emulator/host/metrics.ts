/**
 * The metric calls as Envoy answers them: every define hands out a new id (type in the low 2
 * bits) for the named metric; counters refuse a delta ≤ 0 and `record` on a counter adds;
 * gauges go both ways and `record` sets; histograms only record; unknown ids are NotFound.
 */
import { MetricType, WasmResult } from '../enums';
import type { HostState } from '../state';
import { utf8, type HostFns } from './types';

export function metricCalls(vm: HostState): HostFns {
  const metricOf = (id: number) => vm.metricsById.get(id);

  return {
    proxy_define_metric(type: number, np: number, nl: number, ret: number) {
      if (type < MetricType.Counter || type > MetricType.Histogram) return WasmResult.BadArgument;
      const n = vm.read(np, nl);
      if (!n) return WasmResult.InvalidMemoryAccess;
      const name = utf8(n);
      let metric = vm.metricsByName.get(name);
      if (!metric) {
        metric = { name, type, value: 0n, samples: [] };
        vm.metricsByName.set(name, metric);
      }
      const id = (vm.newMetricId() << 2) | type;
      vm.metricsById.set(id, metric);
      return vm.writeU32(ret, id) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_increment_metric(id: number, delta: bigint) {
      const m = metricOf(id);
      if (!m) return WasmResult.NotFound;
      if (m.type === MetricType.Histogram) return WasmResult.BadArgument;
      if (m.type === MetricType.Counter) {
        if (delta <= 0n) return WasmResult.BadArgument;
        m.value += delta;
      } else {
        m.value = BigInt.asUintN(64, m.value + delta);
      }
      return WasmResult.Ok;
    },

    proxy_record_metric(id: number, value: bigint) {
      const m = metricOf(id);
      if (!m) return WasmResult.NotFound;
      const v = BigInt.asUintN(64, value);
      if (m.type === MetricType.Counter) m.value += v;
      else if (m.type === MetricType.Gauge) m.value = v;
      else m.samples.push(v);
      return WasmResult.Ok;
    },

    proxy_get_metric(id: number, ret: number) {
      const m = metricOf(id);
      if (!m) return WasmResult.NotFound;
      if (m.type === MetricType.Histogram) return WasmResult.BadArgument;
      return vm.writeU64(ret, m.value) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
  };
}
