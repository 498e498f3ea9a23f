/**
 * Predictors against their papers (issue 12, item 6): for each system whose routing predictor
 * moesim stands in for, the accuracy its paper publishes, in the paper's own metric, with where it
 * was read. Only numbers read in the paper's text are values; a paper that gives its accuracy only
 * as a plot, or not at all, has `value: null` and says why (no value is read off a chart here:
 * the copies consulted have the figures as images).
 *
 * `published` predictors (spec `{kind: published, of: <system>}`) become the oracle at the paper's
 * value: the paper gives one number, a recall; a prefetch set of a fixed size (the K experts a
 * token routes to) has as many predicted as true experts, so its precision equals its recall, and
 * the oracle is set to precision = recall = value.
 */

/** How the paper's number is defined, mapped onto moesim's evaluation (evaluate.ts). */
export type PublishedMetric =
  /**
   * ExpertFlow's B_acc: the routing of every MoE layer predicted before the forward pass; per
   * layer, the share of the true experts (a batch's OR of its tokens' paths) that were predicted,
   * averaged over layers. At batch 1 (moesim's evaluation) the batch is the token:
   * Evaluation.beforePass.layerMeanRecall.
   */
  | 'before-pass-layer-recall'
  /**
   * mixtral-offloading's speculative-loading recall: the share of the next layer's active experts
   * that the guess pre-loaded, n experts pre-loaded, d layers ahead. With n = top-k (2 of
   * Mixtral's experts) and d = 1: perLookahead[0].recall of a ranking predictor (its top-k set).
   */
  | 'lookahead-recall'
  /** The predictor's choice is the routing by design (the model is trained with it): 1. */
  | 'by-construction';

export interface PublishedAccuracy {
  /** The system (src/systems/catalog.ts kind, or a system moesim has no preset for). */
  system: string;
  /** The moesim predictor kind standing for it, if any. */
  standIn: 'path' | 'affinity' | 'activation-matrix' | null;
  paper: string;
  /** Section / table / figure where the definition and the value were read. */
  where: string;
  metric: PublishedMetric | null;
  /** The metric as the paper defines it, in its words (paraphrased). */
  definition: string;
  /** In [0, 1]; null when the paper gives no number in its text. */
  value: number | null;
  /** 'lower': the paper states "above value" (the text gives a bound, not a point). */
  bound?: 'lower';
  /** Model, data and setting the value was measured on. */
  setting: string;
  /** Why there is no value, or what the value leaves out. */
  note: string;
}

export const publishedAccuracies = {
  expertflow: {
    system: 'expertflow',
    standIn: 'path',
    paper: 'He et al., ExpertFlow (arXiv 2410.17954v2, DAC 2026)',
    where: '§4.3.3 (B_acc, batch-level accuracy), §4.3.4 and Fig. 9(d) text',
    metric: 'before-pass-layer-recall',
    definition:
      'B_acc = (1/L) Σ_layers |R_batch ∧ R̂_batch| / |R_batch|: per MoE layer, the share of the experts the batch activates (OR of its tokens\' routing paths) that the routing path predictor, run once before the forward pass, predicted; averaged over layers',
    value: 0.9,
    bound: 'lower',
    setting: 'Mixtral-8x7B on XSUM (Fig. 9d has in-domain and cross-domain curves; the text\'s "above 90%" does not say which); RPP trained on a routing-path dataset of 30,000 input-output-path triples; single A40',
    note: 'the text states "RPP remains above 90%" for Mixtral-8 (Fig. 9d) and "over 90% accuracy in most in-domain cases", 80-90% on Switch-64 and over 95% on Qwen1.5; the per-layer curves are in Fig. 9 only. 0.9 is the stated lower bound, not a point value',
  },
  'mixtral-offloading': {
    system: 'mixtral-offloading',
    standIn: 'affinity',
    paper: 'Eliseev & Mazur, Fast Inference of Mixture-of-Experts Language Models with Offloading (arXiv 2312.17238)',
    where: '§3.2 (speculative loading), §4.1 and Figure 2 (right)',
    metric: 'lookahead-recall',
    definition:
      '"expert recall": the fraction of times an expert needed for inference was already on the GPU; for speculative loading in isolation, how often the next layer\'s actual experts were loaded by applying the next layer\'s gate to the current layer\'s activations (recall 1.0: both of Mixtral\'s active experts pre-fetched), for 1, 2 and 10 layers ahead and a varying number of experts pre-loaded',
    value: null,
    setting: 'Mixtral-8x7B-Instruct on OpenAssistant conversations',
    note: 'the values are given only in Figure 2\'s plot (the text gives the definition, not a number; §4.1 and the caption re-read in session 23: "(left) LRU cache hit ratio for different cache size k; (right) speculative loading recall when pre-loading a different number of experts", 1, 2 and 10 layers ahead); the plot is an image no corpus of this session had, so no value, and no LRU hit rate of the paper\'s to set beside the shipped trace\'s (34% at k = 2, 60% at k = 4)',
  },
  'pregated-moe': {
    system: 'pregated-moe',
    standIn: null,
    paper: 'Hwang et al., Pre-gated MoE (ISCA 2024, arXiv 2308.12066)',
    where: 'abstract (the pre-gating function; "the same level of model quality"); the body was not read',
    metric: 'by-construction',
    definition:
      'the pre-gate of block l selects the experts block l+1 runs; the model is fine-tuned with it, so the pre-gated experts are the routing: nothing predicted is unused and nothing used was not prefetched',
    value: 1,
    setting: 'SwitchTransformer (the paper\'s models), any data',
    note: 'a property of the design, not a measurement; the paper\'s cost is in model quality (accuracy of the fine-tuned model), which moesim does not simulate. prefetch: {kind: pregated, accuracy} sets another value',
  },
  'moe-infinity': {
    system: 'moe-infinity',
    standIn: 'activation-matrix',
    paper: 'Xue et al., MoE-Infinity (arXiv 2401.14361)',
    where: '§4.5 (EAMC), §5 evaluation, §5.2 micro-benchmarks, appendix A-B (version titled "Efficient MoE Inference on Personal Machines with Sparsity-Aware Expert Cache")',
    metric: null,
    definition: 'the EAMC matches a request\'s expert activation matrix to the most similar stored one by cosine similarity; the paper evaluates it by latency (EAMC capacity, Fig. 9; workload changes, Table 3), not by a prediction accuracy',
    value: null,
    setting: '-',
    note: 'no prediction accuracy or prefetch hit rate stated in the text of the version read; earlier versions were not read',
  },
  promoe: {
    system: 'promoe',
    standIn: null,
    paper: 'Song et al., ProMoE: Fast MoE-based LLM Serving using Proactive Caching (arXiv 2410.22134)',
    where: '§4.1 (GoodPred = Accuracy x FetchRate), §4.3 and Figure 8 text',
    metric: 'lookahead-recall',
    definition:
      'Accuracy: the proportion of correctly predicted experts; the learned predictor (a two-layer MLP per layer on the layer input) selects as many experts as the model activates for a token, so it is the recall (and the precision) of a fixed-size set; layer-wise: the next layer',
    value: 0.847,
    setting: 'the DS-1 and QW-2 models of its Table 1, on the held-out tenth of traces collected on the models\' domain datasets (9:1 split), next layer',
    note: 'the text: "an average accuracy of 84.7%" over both models (per-layer values in Figure 8 only); with stride prefetching (one layer farther) it "only declines by 5%". moesim has no ProMoE-style predictor (it reads hidden states); {kind: published, of: promoe} stands for it',
  },
} as const satisfies Record<string, PublishedAccuracy>;

export type PublishedSystem = keyof typeof publishedAccuracies;
export const publishedSystems = Object.keys(publishedAccuracies) as [PublishedSystem, ...PublishedSystem[]];

export function publishedAccuracy(system: PublishedSystem): PublishedAccuracy {
  return publishedAccuracies[system];
}

/** Why `system` cannot be asked for by its published accuracy, or undefined when it can. */
export function noPublishedValue(system: PublishedSystem): string | undefined {
  const p = publishedAccuracy(system);
  if (p.value !== null) return undefined;
  return `${system} publishes no predictor accuracy to use (${p.paper}, ${p.where}: ${p.note}); use {kind: oracle, precision, recall} at a value you can source`;
}

/** The oracle a published accuracy becomes: a fixed-size prefetch set, so precision = recall = the value. */
export function publishedOracle(system: PublishedSystem): { precision: number; recall: number } {
  const v = publishedAccuracy(system).value;
  if (v === null) throw new Error(noPublishedValue(system));
  return { precision: v, recall: v };
}

/** The system a predictor kind stands for (its stand-in), if any. */
export function systemOfStandIn(kind: string): PublishedSystem | undefined {
  return publishedSystems.find((s) => publishedAccuracies[s].standIn === kind);
}
