/** Per-request metrics of a serving workload from the simulator's counters and the request table. */
import type { SimCounters } from './counters.js';
import type { RequestTable } from '../workload/requests.js';
import type { ServingSource } from '../workload/serving-source.js';
import { mean, percentile } from './summarize.js';
import type { Percentiles, RequestRecord, ServingMetrics } from './types.js';

export function percentiles(values: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(values).sort();
  return { mean: mean(sorted), p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99) };
}

export interface ServingContext {
  table: RequestTable;
  source: ServingSource;
  waitBound: number;
  slo?: { ttftMs: number; tpotMs: number };
}

export function summarizeServing(c: SimCounters, ctx: ServingContext): ServingMetrics {
  const { table, source } = ctx;
  const N = table.count;
  const ms = 1e3;
  const ttft: number[] = [];
  const tpot: number[] = [];
  const queueing: number[] = [];
  const e2e: number[] = [];
  const perRequest: RequestRecord[] = [];
  let completed = 0;
  let outputs = 0;
  let ttftOk = 0;
  let tpotOk = 0;
  let bothOk = 0;
  let maxPassedOver = 0;
  for (let r = 0; r < N; r++) {
    const arrival = source.arrivalSec[r];
    const out = c.seqOutputs[r];
    outputs += out;
    if (out === table.outputTokens[r]) completed++;
    const rec: RequestRecord = {
      sequence: table.seq[r],
      promptTokens: table.promptTokens[r],
      outputTokens: out,
      arrivalMs: arrival * ms,
      startMs: c.seqStartSec[r] * ms,
      firstTokenMs: c.seqFirstEmitSec[r] * ms,
      lastTokenMs: c.seqLastEmitSec[r] * ms,
      maxPassedOver: source.maxWaited[r],
    };
    perRequest.push(rec);
    if (source.maxWaited[r] > maxPassedOver) maxPassedOver = source.maxWaited[r];
    if (out === 0) continue;
    const t = (c.seqFirstEmitSec[r] - arrival) * ms;
    ttft.push(t);
    queueing.push((c.seqStartSec[r] - arrival) * ms);
    e2e.push((c.seqLastEmitSec[r] - arrival) * ms);
    let p = NaN;
    if (out > 1) {
      p = ((c.seqLastEmitSec[r] - c.seqFirstEmitSec[r]) * ms) / (out - 1);
      tpot.push(p);
    }
    if (ctx.slo) {
      const a = t <= ctx.slo.ttftMs;
      const b = !(p > ctx.slo.tpotMs);
      if (a) ttftOk++;
      if (b) tpotOk++;
      if (a && b) bothOk++;
    }
  }
  const st = source.stats;
  const L = st.decodePerLayer.length;
  const per = (sums: Float64Array, n: number) => Array.from(sums, (x) => (n === 0 ? 0 : x / n));
  const avg = (sums: Float64Array, n: number) => (n === 0 || L === 0 ? 0 : sums.reduce((a, b) => a + b, 0) / (n * L));
  const makespan = c.makespanSec;
  const pct = (k: number) => (N === 0 ? 0 : (100 * k) / N);
  return {
    requests: N,
    completed,
    ttftMs: percentiles(ttft),
    tpotMs: percentiles(tpot),
    queueingMs: percentiles(queueing),
    e2eMs: percentiles(e2e),
    throughputTokensPerSec: makespan > 0 ? outputs / makespan : 0,
    requestsPerSec: makespan > 0 ? completed / makespan : 0,
    ...(ctx.slo ? { slo: { ...ctx.slo, ttftPct: pct(ttftOk), tpotPct: pct(tpotOk), bothPct: pct(bothOk) } } : {}),
    idleMs: c.idleSec * ms,
    distinctExpertsPerMicroBatch: {
      decode: avg(st.decodePerLayer, st.decodeSteps),
      prefill: avg(st.prefillPerLayer, st.prefillSteps),
      decodePerLayer: per(st.decodePerLayer, st.decodeSteps),
      prefillPerLayer: per(st.prefillPerLayer, st.prefillSteps),
    },
    decodeMicroBatches: st.decodeSteps,
    prefillPasses: st.prefillSteps,
    meanDecodeTokens: st.decodeSteps === 0 ? 0 : st.decodeTokens / st.decodeSteps,
    twinTokenPct: st.decodeTokens === 0 ? 0 : (100 * st.twinTokens) / st.decodeTokens,
    contestedMicroBatches: source.contestedMicroBatches,
    maxPassedOver,
    waitBound: ctx.waitBound,
    streamedExperts: c.streamedExperts,
    streamWastedBytes: c.streamWastedBytes,
    perRequest,
  };
}
