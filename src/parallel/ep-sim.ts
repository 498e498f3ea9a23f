/**
 * Expert parallelism on several GPUs, one MoE layer at a time, from the per-token trace.
 *
 * Each step carries B tokens: a decode step (one token per sequence), or a serving workload's prefill
 * pass (a prompt's tokens), charged the same way (its tokens are dispatched and computed like any
 * others; see serving.ts). Per MoE layer:
 * 1. Attention (the non-expert work before the layer's experts). `data`: token i of the step lives on
 *    GPU i mod G, which runs attention for its own tokens. `tensor`: every GPU runs 1/G of it for all
 *    tokens, then a ring all-reduce of the tokens' hidden states.
 * 2. Dispatch (data only): every (token, GPU holding one of its experts) pair other than the token's
 *    own GPU sends the token's hidden state once: an all-to-all, which starts when the last GPU is
 *    done with attention (a collective), and ends per GPU when it has sent and received its part.
 * 3. Expert compute per GPU: each expert with tokens, through Costs.expertSec. With offloading, a GPU's
 *    expert missing from its ExpertCache is fetched over that GPU's host link (issued when the routing
 *    is known, at the end of attention; the link is one FIFO per GPU); the expert runs when both the
 *    GPU and its weights are ready. Resident experts run first.
 * 4. Combine: the dispatch's reverse all-to-all (data), or a ring all-reduce of the outputs (tensor),
 *    once the slowest GPU is done computing. The layer ends when the slowest GPU has combined.
 * After the last MoE layer the tail (trailing dense layers and the LM head) runs where attention ran,
 * the LM head on the tokens that emit an output (EpStep.emits: every decode token, a prompt's last
 * token in a prefill pass, as Step.emitCount on one GPU); the step ends when every GPU is done, and
 * the next step starts there for all (decode needs every token's output).
 *
 * `coherent` (ExFlow's context-coherent expert parallelism): a token's hidden state stays on the GPU
 * of its first expert; the next layer's attention runs there and the dispatch starts from there, so
 * one exchange per layer remains when consecutive experts share a GPU. Every GPU is assumed to hold
 * every token's KV cache (ExFlow keeps the context coherent across GPUs); the traffic that keeps it
 * coherent is not charged, a simplification in ExFlow's favour.
 *
 * A token whose expert has several replicas (EPLB) goes to replica (token + slot) mod replicas.
 * Every second comes from a Costs method or the collective model (src/timing/).
 */
import type { ExpertCache } from '../policies/expert-cache.js';
import { HIT, wasAdmitted } from '../policies/expert-cache.js';
import { NO_EXPERT, type Trace } from '../trace/types.js';
import type { CollectiveCosts } from '../timing/collectives.js';
import type { MissCosts, StepCosts } from '../timing/costs.js';
import { tensorParallelPreExpertSec } from '../timing/collectives.js';
import type { Placement, PlacementPlan } from './placement/types.js';

/** The parts of Costs the expert-parallel world charges. */
export type EpCosts = Pick<StepCosts, 'expertBytes' | 'linkOverlapsCompute' | 'expertSec' | 'preExpertSec' | 'tailSec' | 'h2dSec'> & Pick<MissCosts, 'activationBytes'>;

export interface EpStep {
  /** Trace token ids of the step's tokens. */
  tokens: Int32Array;
  /** Context tokens each attends to. */
  context: Float64Array;
  /** KV-cache tokens each reads: its context in decode, its share of its query tile's read in prefill (tileKvShare). */
  kv: Float64Array;
  /** A serving workload's prefill pass (prefill streaming applies to these only). */
  prefill?: boolean;
  /**
   * The key that splits a token over a replicated expert's replicas ((key + slot) mod replicas);
   * absent: the trace token id. Copies of one trace token in a step (parallel.prefill.copies) get
   * distinct keys, so that they spread over the replicas as distinct tokens would.
   */
  splitKey?: Int32Array;
  /**
   * 1 for a token whose sequence emits an output when the step ends, so the LM head runs on it (a
   * prefill chunk: its last token when the chunk completes the prompt; Step.emitSeq on one GPU);
   * absent: every token emits (a decode step).
   */
  emits?: Uint8Array;
}

/**
 * Steps decided as the run goes (a serving workload: arrivals, prefill passes, decode micro-batches):
 * next(now) is called when every GPU is done with the previous step; null with a finite resumeSec
 * idles all GPUs until then, null with resumeSec Infinity (or absent) ends the run.
 */
export interface EpStepSource {
  readonly maxTokens: number;
  next(nowSec: number): EpStep | null;
  readonly resumeSec?: number;
}

export type SpanKind = 'attention' | 'dispatch' | 'fetch' | 'expert' | 'combine' | 'tail' | 'migration';
export interface EpSpan {
  step: number;
  layer: number;
  gpu: number;
  kind: SpanKind;
  startSec: number;
  endSec: number;
}

export interface EpOptions {
  trace: Trace;
  steps: EpStep[] | EpStepSource;
  plan: PlacementPlan;
  costs: EpCosts;
  collectives: CollectiveCosts;
  attention: 'data' | 'tensor' | 'coherent';
  /** One expert cache per GPU (offloading), or none: every placed expert resident. */
  caches?: ExpertCache[];
  timelineSteps: number;
  /**
   * Prefill streaming (FlexGen / MoE-Lightning, as on one GPU: sim/prefill-stream.ts) on every GPU:
   * in a prefill step of at least `minTokens` tokens, each GPU fetches every expert it holds of
   * layer l+1 that is not in its cache while layer l runs (layer 0's at the step's start), on its
   * own host link behind layer l's demand fetches, into staging buffers; a miss whose expert was
   * streamed runs when the streamed weights are there, and streamed experts no token chose are
   * wasted bytes. Needs a host link that overlaps compute.
   */
  streaming?: { minTokens: number };
}

export interface EpLayerMetrics {
  /** Mean over steps of (busiest GPU's expert time) / (mean GPU expert time). */
  imbalance: number;
  /** Same, over routed tokens per GPU. */
  tokenImbalance: number;
  /** Bytes all GPUs sent in the layer's collectives, summed over steps. */
  collectiveBytes: number;
  /** Time of the layer's collectives (dispatch + combine, or the all-reduces), summed over steps. */
  collectiveSec: number;
  /** Routes whose GPU held none of the token's experts of the previous layer. */
  crossRoutes: number;
  routes: number;
}

export interface EpGpuMetrics {
  busySec: number;
  expertSec: number;
  hits: number;
  misses: number;
  fetchBytes: number;
}

export interface EpResult {
  steps: number;
  tokens: number;
  totalSec: number;
  /** Time every GPU waited for the step source (serving: no request running until the next arrival). */
  idleSec: number;
  stepSec: number[];
  layers: EpLayerMetrics[];
  gpus: EpGpuMetrics[];
  migrations: number;
  migrationSec: number;
  migrationBytes: number;
  timeline: EpSpan[];
  /** With prefill streaming: bytes streamed (also in each GPU's fetchBytes) and those no token chose. */
  streaming?: { streamedBytes: number; wastedBytes: number; streamedSteps: number };
}

export function simulateEp(o: EpOptions): EpResult {
  const { trace, steps, costs, collectives } = o;
  const G = collectives.gpus;
  const { numLayers: L, numExperts: E, topK: K, experts } = trace;
  let placement: Placement = o.plan.placement;
  if (placement.gpus !== G || placement.numLayers !== L || placement.numExperts !== E) throw new Error('placement does not match the trace and GPUs');
  const coherent = o.attention === 'coherent';
  const dataParallel = o.attention === 'data' || coherent;
  const act = costs.activationBytes(1);
  const clock = new Float64Array(G);
  const linkFree = new Float64Array(G);
  const attnEnd = new Float64Array(G);
  const computeEnd = new Float64Array(G);
  const done = new Float64Array(G);
  const send = new Float64Array(G * G);
  const back = new Float64Array(G * G);
  const tokensOn = new Int32Array(G * E);
  const busyExpert = new Float64Array(G);
  const tokensPerGpu = new Float64Array(G);
  const homeTokens = new Float64Array(G);
  const homeContext = new Float64Array(G);
  const homeKv = new Float64Array(G);
  const homeEmits = new Float64Array(G);
  const ready = new Float64Array(E);
  const missed = new Uint8Array(E);
  const lockedKeys = new Int32Array(E);
  if (o.streaming && !costs.linkOverlapsCompute) throw new Error('prefill streaming needs a host link that overlaps compute');
  // Prefill streaming: per (GPU, key) the time its streamed weights arrive (-1: not streamed this step).
  const streamReady = o.streaming && o.caches ? new Float64Array(G * L * E).fill(-1) : undefined;
  const stream = { streamedBytes: 0, wastedBytes: 0, streamedSteps: 0 };
  let streamingStep = false;
  /** GPU g streams the experts it holds of layer `sl` that its cache lacks, from `at` on, behind its link's queue. */
  const streamLayer = (s: number, g: number, sl: number, at: number) => {
    const cache = o.caches![g];
    for (let e = 0; e < E; e++) {
      const key = sl * E + e;
      let holds = false;
      for (let r = placement.repStart[key]; r < placement.repStart[key + 1]; r++) if (placement.repGpu[r] === g) holds = true;
      if (!holds || cache.resident[key] === 1) continue;
      const issue = Math.max(linkFree[g], at);
      linkFree[g] = issue + costs.h2dSec(costs.expertBytes);
      streamReady![g * L * E + key] = linkFree[g];
      span(s, sl, g, 'fetch', issue, linkFree[g]);
      gpus[g].fetchBytes += costs.expertBytes;
      stream.streamedBytes += costs.expertBytes;
    }
  };
  const layers: EpLayerMetrics[] = Array.from({ length: L }, () => ({ imbalance: 0, tokenImbalance: 0, collectiveBytes: 0, collectiveSec: 0, crossRoutes: 0, routes: 0 }));
  const imbSteps = new Float64Array(L);
  const gpus: EpGpuMetrics[] = Array.from({ length: G }, () => ({ busySec: 0, expertSec: 0, hits: 0, misses: 0, fetchBytes: 0 }));
  const timeline: EpSpan[] = [];
  const stepSec: number[] = [];
  const source: EpStepSource = Array.isArray(steps) ? arraySource(steps) : steps;
  const maxB = source.maxTokens;
  let prevSet = new Uint8Array(maxB * G);
  let curSet = new Uint8Array(maxB * G);
  let prevHad = new Uint8Array(maxB);
  let curHad = new Uint8Array(maxB);
  const home = new Int32Array(maxB);
  const nextHome = new Int32Array(maxB);
  let migrations = 0, migrationSec = 0, migrationBytes = 0;
  const window = new Float64Array(L * E);
  const dyn = o.plan.dynamic;
  let tokensTotal = 0;
  let now = 0;
  let idleSec = 0;

  const span = (step: number, layer: number, gpu: number, kind: SpanKind, startSec: number, endSec: number) => {
    if (step < o.timelineSteps && endSec > startSec) timeline.push({ step, layer, gpu, kind, startSec, endSec });
  };
  const replicaOf = (key: number, t: number, k: number): number => {
    const a = placement.repStart[key], n = placement.repStart[key + 1] - a;
    if (n === 1) return placement.repGpu[a];
    return placement.repGpu[a + ((t + k) % n)];
  };

  for (let s = 0; ; s++) {
    const step = source.next(now);
    if (step === null) {
      const resume = source.resumeSec ?? Infinity;
      if (resume === Infinity) break;
      if (!(resume > now)) throw new Error(`step source asked to resume at ${resume}, not after now (${now})`);
      idleSec += resume - now;
      now = resume;
      s--;
      continue;
    }
    const stepStart = now;
    // Dynamic placement: re-plan at interval boundaries, copying moved experts between GPUs.
    if (dyn && s > 0 && s % dyn.intervalSteps === 0) {
      const next = dyn.replan(window, placement);
      done.fill(0);
      let moved = 0;
      for (let key = 0; key < L * E; key++) {
        const from = placement.repGpu[placement.repStart[key]];
        const to = next.repGpu[next.repStart[key]];
        if (from === to) continue;
        moved++;
        done[to] += collectives.messageSec(from, to, costs.expertBytes);
        migrationBytes += costs.expertBytes;
        if (o.caches) {
          const c = o.caches[from];
          if (c.resident[key] === 1 && c.locked[key] === 0) c.evict(key);
          o.caches[to].insert(key);
        }
      }
      let stall = 0;
      for (let g = 0; g < G; g++) if (done[g] > stall) stall = done[g];
      for (let g = 0; g < G; g++) span(s, -1, g, 'migration', now, now + done[g]);
      now += stall;
      migrationSec += stall;
      migrations += moved;
      placement = next;
      window.fill(0);
    }
    const B = step.tokens.length;
    tokensTotal += B;
    clock.fill(now);
    linkFree.fill(now);
    let ctxTotal = 0;
    let kvTotal = 0;
    for (let i = 0; i < B; i++) {
      home[i] = i % G;
      ctxTotal += step.context[i];
      kvTotal += step.kv[i];
    }
    prevHad.fill(0);
    streamingStep = streamReady !== undefined && step.prefill === true && B >= o.streaming!.minTokens;
    if (streamingStep) {
      streamReady!.fill(-1);
      stream.streamedSteps++;
      for (let g = 0; g < G; g++) streamLayer(s, g, 0, now);
    }
    for (let l = 0; l < L; l++) {
      homeTokens.fill(0);
      homeContext.fill(0);
      homeKv.fill(0);
      for (let i = 0; i < B; i++) {
        homeTokens[home[i]]++;
        homeContext[home[i]] += step.context[i];
        homeKv[home[i]] += step.kv[i];
      }
      // 1. Attention.
      let A = 0;
      if (dataParallel) {
        for (let g = 0; g < G; g++) {
          const t = homeTokens[g] > 0 ? costs.preExpertSec(l, homeTokens[g], homeContext[g], homeKv[g]) : 0;
          attnEnd[g] = clock[g] + t;
          span(s, l, g, 'attention', clock[g], attnEnd[g]);
          gpus[g].busySec += t;
          if (attnEnd[g] > A) A = attnEnd[g];
        }
      } else {
        const t = tensorParallelPreExpertSec((j, n, c) => costs.preExpertSec(j, n, c, kvTotal), l, B, ctxTotal, G);
        let m = 0;
        for (let g = 0; g < G; g++) {
          const e = clock[g] + t;
          span(s, l, g, 'attention', clock[g], e);
          gpus[g].busySec += t;
          if (e > m) m = e;
        }
        const ar = collectives.allReduceSec(costs.activationBytes(B));
        for (let g = 0; g < G; g++) {
          attnEnd[g] = m + ar;
          span(s, l, g, 'combine', m, m + ar);
        }
        layers[l].collectiveSec += ar;
        layers[l].collectiveBytes += G * collectives.allReduceBytesPerGpu(costs.activationBytes(B));
        A = m + ar;
      }
      // 2. Routing and dispatch.
      tokensOn.fill(0);
      send.fill(0);
      curSet.fill(0);
      curHad.fill(0);
      const layerMetrics = layers[l];
      for (let i = 0; i < B; i++) {
        const t = step.tokens[i];
        const u = step.splitKey ? step.splitKey[i] : t;
        const h = home[i];
        nextHome[i] = -1;
        const base = (t * L + l) * K;
        for (let k = 0; k < K; k++) {
          const e = experts[base + k];
          if (e === NO_EXPERT) continue;
          const key = l * E + e;
          window[key]++;
          const r = replicaOf(key, u, k);
          if (nextHome[i] < 0) nextHome[i] = r;
          tokensOn[r * E + e]++;
          layerMetrics.routes++;
          if (l > 0 && prevHad[i] === 1 && prevSet[i * G + r] === 0) layerMetrics.crossRoutes++;
          if (curSet[i * G + r] === 0) {
            curSet[i * G + r] = 1;
            if (dataParallel && r !== h) send[h * G + r] += act;
          }
          curHad[i] = 1;
        }
      }
      const startOf = computeEnd; // reused: dispatch end per GPU
      if (dataParallel) {
        const T = collectives.allToAll(send, done);
        let bytes = 0;
        for (let x = 0; x < G * G; x++) bytes += send[x];
        layerMetrics.collectiveBytes += bytes;
        layerMetrics.collectiveSec += T;
        for (let g = 0; g < G; g++) {
          startOf[g] = A + done[g];
          span(s, l, g, 'dispatch', A, startOf[g]);
        }
      } else {
        for (let g = 0; g < G; g++) startOf[g] = attnEnd[g];
      }
      // 3. Expert compute per GPU.
      let C = 0;
      let sumBusy = 0, maxBusy = 0, sumTok = 0, maxTok = 0;
      for (let g = 0; g < G; g++) {
        const start = startOf[g];
        let t = start;
        let nLocked = 0;
        let busy = 0;
        let tok = 0;
        const cache = o.caches?.[g];
        const gm = gpus[g];
        // Resident experts first, then the misses in fetch order (expert id order).
        for (let e = 0; e < E; e++) {
          missed[e] = 0;
          const n = tokensOn[g * E + e];
          if (n === 0) continue;
          tok += n;
          if (!cache) continue;
          const key = l * E + e;
          const outcome = cache.access(key);
          if (outcome === HIT) {
            gm.hits++;
            cache.lock(key);
            lockedKeys[nLocked++] = key;
            continue;
          }
          gm.misses++;
          missed[e] = 1;
          if (wasAdmitted(outcome)) {
            cache.lock(key);
            lockedKeys[nLocked++] = key;
          }
          const streamed = streamingStep ? streamReady![g * L * E + key] : -1;
          if (streamed >= 0) {
            // Streamed while the layer before ran: computed when those weights are there, no new fetch.
            ready[e] = streamed;
            streamReady![g * L * E + key] = -2; // used
            continue;
          }
          gm.fetchBytes += costs.expertBytes;
          const issue = Math.max(linkFree[g], attnEnd[g]);
          if (costs.linkOverlapsCompute) {
            linkFree[g] = issue + costs.h2dSec(costs.expertBytes);
            ready[e] = linkFree[g];
            span(s, l, g, 'fetch', issue, linkFree[g]);
          }
        }
        if (streamingStep) {
          // Layer l's streamed experts no token chose are wasted; then stream layer l+1 behind this layer's demand fetches.
          for (let e = 0; e < E; e++) if (streamReady![g * L * E + l * E + e] >= 0) stream.wastedBytes += costs.expertBytes;
          if (l + 1 < L) streamLayer(s, g, l + 1, attnEnd[g]);
        }
        for (let pass = 0; pass < 2; pass++) {
          for (let e = 0; e < E; e++) {
            const n = tokensOn[g * E + e];
            if (n === 0 || missed[e] !== pass) continue;
            if (pass === 1) {
              if (costs.linkOverlapsCompute) t = Math.max(t, ready[e]);
              else {
                const f = costs.h2dSec(costs.expertBytes);
                span(s, l, g, 'fetch', t, t + f);
                t += f;
              }
            }
            const x = costs.expertSec(n);
            span(s, l, g, 'expert', t, t + x);
            t += x;
            busy += x;
          }
        }
        if (cache) for (let j = 0; j < nLocked; j++) cache.unlock(lockedKeys[j]);
        computeEnd[g] = t;
        busyExpert[g] = busy;
        tokensPerGpu[g] = tok;
        gm.busySec += busy;
        gm.expertSec += busy;
        sumBusy += busy;
        sumTok += tok;
        if (busy > maxBusy) maxBusy = busy;
        if (tok > maxTok) maxTok = tok;
        if (t > C) C = t;
      }
      if (sumBusy > 0) {
        layerMetrics.imbalance += maxBusy / (sumBusy / G);
        layerMetrics.tokenImbalance += maxTok / (sumTok / G);
        imbSteps[l]++;
      }
      // 4. Combine.
      if (dataParallel) {
        if (coherent) {
          // ExFlow: the outputs gather at the GPU of the token's first expert, where it stays.
          back.fill(0);
          for (let i = 0; i < B; i++) {
            const to = nextHome[i];
            if (to < 0) continue;
            for (let g = 0; g < G; g++) if (curSet[i * G + g] === 1 && g !== to) back[g * G + to] += act;
            home[i] = to;
          }
        } else for (let g = 0; g < G; g++) for (let h = 0; h < G; h++) back[h * G + g] = send[g * G + h];
        const T = collectives.allToAll(back, done);
        let bytes = 0;
        for (let x = 0; x < G * G; x++) bytes += back[x];
        layerMetrics.collectiveBytes += bytes;
        layerMetrics.collectiveSec += T;
        for (let g = 0; g < G; g++) {
          clock[g] = C + done[g];
          span(s, l, g, 'combine', C, clock[g]);
        }
      } else {
        const ar = collectives.allReduceSec(costs.activationBytes(B));
        layerMetrics.collectiveSec += ar;
        layerMetrics.collectiveBytes += G * collectives.allReduceBytesPerGpu(costs.activationBytes(B));
        for (let g = 0; g < G; g++) {
          clock[g] = C + ar;
          span(s, l, g, 'combine', C, clock[g]);
        }
      }
      const swap = prevSet; prevSet = curSet; curSet = swap;
      const swapHad = prevHad; prevHad = curHad; curHad = swapHad;
    }
    // Tail: trailing dense layers and the LM head, where the tokens are.
    homeTokens.fill(0);
    homeContext.fill(0);
    homeKv.fill(0);
    homeEmits.fill(0);
    let emitsTotal = 0;
    for (let i = 0; i < B; i++) {
      const emits = step.emits ? step.emits[i] : 1;
      homeTokens[home[i]]++;
      homeContext[home[i]] += step.context[i];
      homeKv[home[i]] += step.kv[i];
      homeEmits[home[i]] += emits;
      emitsTotal += emits;
    }
    let end = 0;
    for (let g = 0; g < G; g++) {
      const t = dataParallel
        ? (homeTokens[g] > 0 ? costs.tailSec(homeTokens[g], homeContext[g], homeEmits[g], homeKv[g]) : 0)
        : tensorParallelPreExpertSec((_j, n, c) => costs.tailSec(n, c, emitsTotal, kvTotal), 0, B, ctxTotal, G);
      span(s, L, g, 'tail', clock[g], clock[g] + t);
      gpus[g].busySec += t;
      clock[g] += t;
      if (clock[g] > end) end = clock[g];
    }
    now = end;
    stepSec.push(end - stepStart);
  }
  for (let l = 0; l < L; l++) {
    if (imbSteps[l] > 0) {
      layers[l].imbalance /= imbSteps[l];
      layers[l].tokenImbalance /= imbSteps[l];
    }
  }
  return { steps: stepSec.length, tokens: tokensTotal, totalSec: now, idleSec, stepSec, layers, gpus, migrations, migrationSec, migrationBytes, timeline, ...(streamReady ? { streaming: stream } : {}) };
}

function arraySource(steps: EpStep[]): EpStepSource {
  let i = 0;
  return { maxTokens: steps.reduce((m, s) => Math.max(m, s.tokens.length), 0), next: () => (i < steps.length ? steps[i++] : null) };
}
