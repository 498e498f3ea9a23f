/**
 * `calibrate()`: run the microbenchmarks on a real backend, fit the timing models, and return a
 * calibration profile whose `hardware` the simulator can use like any preset.
 */
import os from 'node:os';
import type { Hardware } from '../hardware/types.js';
import { createRng } from '../rng/rng.js';
import { KERNELS_PER_EXPERT } from '../timing/roofline.js';
import { openBackend, type Backend, type BackendName } from './backends.js';
import { hrClock, type Clock } from '../util/clock.js';
import { fitExpertAnchored, fitTransfer, type ExpertFit } from './fit.js';
import {
  benchExpert,
  fullPlan,
  quickPlan,
  runMicrobench,
  type ExpertSample,
  type MicrobenchPlan,
  type Progress,
  type SampleStats,
  type TransferSample,
} from './microbench.js';
import { parseProfile, type CalibrationProfile, type ExpertSampleRecord, type LowBitSampleRecord, type TransferSampleRecord } from './profile.js';
import { benchCpuHandoff, benchLowBit, fitLowBit } from './low-bit-bench.js';

export interface CalibrateOptions {
  backend: BackendName | string;
  /** Small shapes and short budgets (seconds, not minutes). */
  quick?: boolean;
  /** Override the plan entirely (tests). */
  plan?: MicrobenchPlan;
  /** Seed of the random weights and activations. */
  seed?: string | number;
  progress?: Progress;
  /** Timestamp recorded in the profile; defaults to now. */
  createdAt?: Date;
  /** How a backend is opened (default openBackend); tests pass a fake one. */
  open?: (name: BackendName | string) => Promise<Backend>;
  /** The timer of the measurements (default the process's monotonic clock). */
  clock?: Clock;
  /**
   * Measure lower-bit copies' expert runs (low-bit-bench.ts) for the replay of the low-precision
   * miss handler. Default: on a backend calibrate opens itself (not on one `open` hands in).
   */
  lowBit?: boolean;
}

function flatStats(s: SampleStats): Omit<SampleStats, 'meanSec'> {
  return {
    n: s.n,
    iterationsPerSample: s.iterationsPerSample,
    medianSec: s.medianSec,
    p10Sec: s.p10Sec,
    p90Sec: s.p90Sec,
    madSec: s.madSec,
    minSec: s.minSec,
    maxSec: s.maxSec,
  };
}

function expertRecord(s: ExpertSample): ExpertSampleRecord {
  const { stats, ...rest } = s;
  return { ...rest, ...flatStats(stats) };
}

function transferRecord(s: TransferSample): TransferSampleRecord {
  return { bytes: s.bytes, ...flatStats(s.stats) };
}

function fitExpertSamples(samples: readonly ExpertSample[]): Promise<ExpertFit> {
  return fitExpertAnchored(
    samples.map((s) => ({ bytes: s.bytes, flops: s.flops, timeSec: s.stats.medianSec, tokens: s.tokens, shape: `${s.hiddenSize}x${s.intermediateSize}` })),
  );
}

/**
 * The Hardware the simulator takes, from the fits. The simulator charges an expert
 * KERNELS_PER_EXPERT launches; one run of the expert graph is what the fitted overhead measured,
 * so each launch gets that share of it. The link does not overlap compute: moesim drives uploads
 * and runs from one thread, each waiting for the last (ONNX Runtime's runs are synchronous).
 */
export function hardwareFromFits(args: {
  backend: BackendName;
  deviceName: string;
  device: string;
  createdAt: string;
  plan: CalibrationProfile['plan'];
  expert: ExpertFit;
  transfer: { latencySec: number; bandwidthBytesPerSec: number };
  cpuExpert: ExpertFit;
  cpuName: string;
  hostMemoryBytes: number;
}): Hardware {
  const by = `calibrated on ${args.device} at ${args.createdAt} by moesim calibrate (${args.plan} plan, float32)`;
  const gpuNotes =
    args.backend === 'cpu'
      ? 'the "GPU" is the CPU executing through ONNX Runtime; memory = host RAM'
      : 'memory = host RAM (onnxruntime-node does not report device memory)';
  return {
    name: 'custom',
    gpu: {
      name: args.backend === 'cpu' ? `${args.deviceName} (ORT CPU EP)` : `${args.deviceName} (ORT WebGPU EP)`,
      hbmBytes: args.hostMemoryBytes,
      hbmBytesPerSec: args.expert.memBandwidthBytesPerSec,
      flopsPerSec: { fp32: args.expert.throughputFlopsPerSec, bf16: args.expert.throughputFlopsPerSec },
      launchOverheadSec: args.expert.overheadSec / KERNELS_PER_EXPERT,
      source: `${by}; bandwidth, fp32 throughput and per-run overhead fitted to expert runs (launch overhead = run overhead / ${KERNELS_PER_EXPERT} kernels); bf16 not measured, set to the fp32 figure; ${gpuNotes}`,
    },
    link: {
      name: args.backend === 'cpu' ? 'host memcpy' : 'WebGPU upload (ORT)',
      h2dBytesPerSec: args.transfer.bandwidthBytesPerSec,
      d2hBytesPerSec: args.transfer.bandwidthBytesPerSec,
      latencySec: args.transfer.latencySec,
      overlapsCompute: false,
      source: `${by}; fitted to timed uploads; device-to-host not measured, set to the host-to-device figure; uploads and runs never overlap (one host thread drives both)`,
    },
    cpu: {
      name: args.cpuName,
      dramBytes: args.hostMemoryBytes,
      dramBytesPerSec: args.cpuExpert.memBandwidthBytesPerSec,
      flopsPerSec: args.cpuExpert.throughputFlopsPerSec,
      source: `${by}; fitted to expert runs on the ORT CPU EP`,
    },
  };
}

export async function calibrate(options: CalibrateOptions): Promise<CalibrationProfile> {
  const plan = options.plan ?? (options.quick ? quickPlan : fullPlan);
  const planName = options.plan !== undefined && options.plan !== quickPlan && options.plan !== fullPlan
    ? 'custom'
    : plan === quickPlan
      ? 'quick'
      : 'full';
  const rng = createRng(options.seed ?? 'moesim-calibrate');
  const progress = options.progress ?? (() => {});
  const createdAt = (options.createdAt ?? new Date()).toISOString();

  const open = options.open ?? openBackend;
  const clock = options.clock ?? hrClock;
  const backend = await open(options.backend);
  let bench;
  let lowBitSamples: LowBitSampleRecord[] = [];
  let cpuHandoff: SampleStats | undefined;
  try {
    progress(`backend ${backend.name}: ${backend.device}`);
    bench = await runMicrobench(backend, plan, { rng, progress, clock });
    if (options.lowBit ?? options.open === undefined) {
      progress('lower-bit copies (int4, int8 MatMulNBits) expert runs');
      lowBitSamples = await benchLowBit(backend, plan, rng.fork('low-bit'), progress, clock);
      cpuHandoff = await benchCpuHandoff(plan, rng.fork('cpu-handoff'), clock, Number(/(\d+) intra-op thread/.exec(backend.device)?.[1] ?? 1));
      progress(`CPU worker hand-off: ${(cpuHandoff.medianSec * 1e6).toFixed(1)} µs`);
    }
  } finally {
    await backend.close();
  }

  // hardware.cpu: the host CPU running the same expert graph. On the cpu backend that is the main fit.
  let cpuSamples: ExpertSample[] | undefined;
  if (backend.name !== 'cpu') {
    progress('host CPU expert runs (for hardware.cpu)');
    const cpu: Backend = await open('cpu');
    try {
      cpuSamples = await benchExpert(cpu, plan, rng.fork('cpu-expert'), progress, clock);
    } finally {
      await cpu.close();
    }
  }

  const expertFit = await fitExpertSamples(bench.expert);
  const transferFit = await fitTransfer(bench.transfer.map((s) => ({ bytes: s.bytes, timeSec: s.stats.medianSec })));
  const cpuFit = cpuSamples ? await fitExpertSamples(cpuSamples) : undefined;
  const lowBitFits = lowBitSamples.length > 0 ? await fitLowBit(lowBitSamples, progress) : undefined;
  const cpuModel = os.cpus()[0]?.model.trim() || 'unknown CPU';

  const profile: CalibrationProfile = {
    kind: 'moesim-calibration',
    version: 1,
    backend: backend.name,
    deviceName: backend.deviceName,
    device: backend.device,
    createdAt,
    plan: planName,
    dtype: plan.dtype,
    samples: {
      expert: bench.expert.map(expertRecord),
      transfer: bench.transfer.map(transferRecord),
      launch: flatStats(bench.launch),
      ...(cpuSamples ? { cpuExpert: cpuSamples.map(expertRecord) } : {}),
      ...(cpuHandoff ? { cpuHandoff: flatStats(cpuHandoff) } : {}),
      ...(lowBitSamples.length > 0 ? { lowBitExpert: lowBitSamples } : {}),
    },
    fit: {
      expert: expertFit,
      transfer: transferFit,
      ...(cpuFit ? { cpuExpert: cpuFit } : {}),
      ...(lowBitFits ? { lowBitExpert: lowBitFits } : {}),
    },
    hardware: hardwareFromFits({
      backend: backend.name,
      deviceName: backend.deviceName,
      device: backend.device,
      createdAt,
      plan: planName,
      expert: expertFit,
      transfer: transferFit,
      cpuExpert: cpuFit ?? expertFit,
      cpuName: cpuModel,
      hostMemoryBytes: os.totalmem(),
    }),
  };
  return parseProfile(profile, 'calibration result');
}
