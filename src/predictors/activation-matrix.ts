/**
 * MoE-Infinity's request-level expert activation matrix (EAM): per request, [layer][expert] counts
 * of tokens routed. Completed requests' matrices are kept (a collection of at most `maxMatrices`,
 * oldest replaced first). To predict, the current request's matrix so far (its observed tokens plus
 * the current token's computed layers) is matched to the stored matrix of highest cosine
 * similarity; expert e at layer l scores that matrix's share of tokens routed to e at l. Before any
 * request has completed, the current request's own matrix stands in. (The layer-distance decay of
 * MoE-Infinity's prefetch priority is the prefetch policy's business: see policies/prefetch.)
 */
import type { PredictorContext, RoutingPredictor } from './types.js';
import type { TraceView } from './trace-view.js';

export interface ActivationMatrixParams {
  maxMatrices: number;
}

export function activationMatrix(ctx: PredictorContext, params: ActivationMatrixParams): RoutingPredictor {
  const { numLayers: L, numExperts: E, topK: K } = ctx;
  const LE = L * E;
  const cap = params.maxMatrices;
  const stored: Float64Array[] = [];
  const storedNorm: number[] = [];
  const storedTokens: number[] = [];
  let nextSlot = 0;
  const scratch = new Int32Array(K);
  // Conditioned state: dot products with each stored matrix of the history part, cached per token.
  let baseToken = -1;
  let baseVersion = -1;
  let version = 0;
  let baseDot = new Float64Array(0);
  let baseNormSq = 0;
  let histTokens = 0;
  let hist: Float64Array | undefined;
  let best = -1;
  const cur = new Float64Array(LE); // the current token's computed layers (sparse use)
  const curKeys = new Int32Array(L * K);
  let curCount = 0;
  let curKnown = 0;
  let curNormSq = 0;
  let curDot = new Float64Array(0);

  function computeBase(view: TraceView, token: number): void {
    const seq = view.seqOf[token];
    hist = view.eam(seq);
    histTokens = view.observedTokens[seq];
    if (baseDot.length < stored.length) {
      baseDot = new Float64Array(Math.min(cap, Math.max(16, 2 * stored.length)));
      curDot = new Float64Array(baseDot.length);
    }
    baseNormSq = 0;
    if (hist) for (let i = 0; i < LE; i++) baseNormSq += hist[i] * hist[i];
    for (let m = 0; m < stored.length; m++) {
      let d = 0;
      if (hist) {
        const s = stored[m];
        for (let i = 0; i < LE; i++) d += hist[i] * s[i];
      }
      baseDot[m] = d;
    }
    baseToken = token;
    baseVersion = version;
  }

  return {
    kind: 'activation-matrix',
    setValued: false,
    condition(view, token, known) {
      const fresh = token !== baseToken || baseVersion !== version || known < curKnown;
      if (fresh) {
        computeBase(view, token);
        for (let i = 0; i < curCount; i++) cur[curKeys[i]] = 0;
        curCount = 0;
        curKnown = 0;
        curNormSq = baseNormSq;
        curDot.set(baseDot.subarray(0, stored.length));
      }
      // Add the current token's newly computed layers: |h + c|^2 and the dot products, incrementally.
      for (let l = curKnown; l < known; l++) {
        const n = view.experts(token, l, scratch);
        for (let i = 0; i < n; i++) {
          const k = l * E + scratch[i];
          if (cur[k] === 0) curKeys[curCount++] = k;
          curNormSq += 2 * ((hist ? hist[k] : 0) + cur[k]) + 1;
          cur[k]++;
          for (let m = 0; m < stored.length; m++) curDot[m] += stored[m][k];
        }
      }
      curKnown = known;
      best = -1;
      let bestSim = -1;
      if (curNormSq > 0) {
        const norm = Math.sqrt(curNormSq);
        for (let m = 0; m < stored.length; m++) {
          const sim = storedNorm[m] > 0 ? curDot[m] / (norm * storedNorm[m]) : 0;
          if (sim > bestSim) {
            bestSim = sim;
            best = m;
          }
        }
      } else if (stored.length > 0) {
        // Nothing known of this request yet: the most recent one.
        best = stored.length < cap ? stored.length - 1 : (nextSlot - 1 + cap) % cap;
      }
    },
    scores(layer, out) {
      if (best >= 0) {
        const s = stored[best];
        const n = storedTokens[best];
        for (let e = 0; e < E; e++) out[e] = Math.min(1, s[layer * E + e] / n);
      } else if (hist && histTokens > 0) {
        for (let e = 0; e < E; e++) out[e] = Math.min(1, hist[layer * E + e] / histTokens);
      } else out.fill(0);
    },
    learn(view, token) {
      if (!view.isLastOfSequence(token)) return;
      const seq = view.seqOf[token];
      const m = new Float64Array(LE);
      const h = view.eam(seq);
      if (h) m.set(h);
      for (let l = 0; l < L; l++) {
        const n = view.experts(token, l, scratch);
        for (let i = 0; i < n; i++) m[l * E + scratch[i]]++;
      }
      let normSq = 0;
      for (let i = 0; i < LE; i++) normSq += m[i] * m[i];
      const tokens = view.observedTokens[seq] + 1;
      if (stored.length < cap) {
        stored.push(m);
        storedNorm.push(Math.sqrt(normSq));
        storedTokens.push(tokens);
      } else {
        stored[nextSlot] = m;
        storedNorm[nextSlot] = Math.sqrt(normSq);
        storedTokens[nextSlot] = tokens;
        nextSlot = (nextSlot + 1) % cap;
      }
      version++;
    },
    parameterCount: () => stored.length * LE,
  };
}
