/** MoE model architectures: exact shapes from published configs. All counts are parameters, not bytes. */

export type AttentionShape =
  | {
      kind: 'gqa';
      numHeads: number;
      numKvHeads: number;
      headDim: number;
      /** Sliding window (tokens), if the model uses one on every layer; else undefined. */
      slidingWindow?: number;
    }
  | {
      /** DeepSeek multi-head latent attention. */
      kind: 'mla';
      numHeads: number;
      qLoraRank: number | null;
      kvLoraRank: number;
      qkNopeHeadDim: number;
      qkRopeHeadDim: number;
      vHeadDim: number;
    };

export interface MoeModel {
  /** Catalog key, kebab-case: "mixtral-8x7b". */
  name: string;
  /** Human name: "Mixtral-8x7B-v0.1". */
  displayName: string;
  /** Where the numbers come from: the config.json URL (with revision when known). */
  source: string;
  /** Total transformer layers. */
  numLayers: number;
  /** Indices (0-based, ascending) of the layers whose FFN is a routed MoE. */
  moeLayers: number[];
  /** Routed experts per MoE layer. */
  numExperts: number;
  /** Experts activated per token per MoE layer. */
  topK: number;
  /** Always-on shared experts per MoE layer (DeepSeek, Qwen-MoE); 0 if none. */
  numSharedExperts: number;
  /** Intermediate size of one shared expert (0 if none). */
  sharedExpertIntermediateSize: number;
  hiddenSize: number;
  /** Intermediate size of one routed expert. */
  expertIntermediateSize: number;
  /** Weight matrices per expert FFN: 3 for gated (SwiGLU: gate, up, down), 2 for plain (up, down). */
  expertMatrices: 2 | 3;
  /** Whether the expert FFN has biases (GPT-OSS, Switch do not count as 0). */
  expertBias: boolean;
  /** Intermediate size of the dense FFN of non-MoE layers (0 if every layer is MoE). */
  denseIntermediateSize: number;
  attention: AttentionShape;
  vocabSize: number;
  /** Whether input embedding and LM head share weights. */
  tiedEmbeddings: boolean;
  /** What the layers are, where that needs saying (an encoder-decoder model: its decoder stack, `encoder` the encoder). */
  notes?: string;
  /**
   * An encoder-decoder model's encoder stack (the fields above are its decoder): `generate` runs it
   * once over the prompt before the first decoder step (src/reproduce/run.ts prepareEncoder). Its
   * layers have the decoder's widths (hidden, expert and dense FFN sizes, heads, experts, top-k):
   * true of both presets that declare one (their configs give one d_ff / ffn_dim for both stacks).
   */
  encoder?: ModelEncoder;
}

/** The encoder stack of an encoder-decoder model (MoeModel.encoder). */
export interface ModelEncoder {
  /** Encoder transformer layers. */
  numLayers: number;
  /** Indices (0-based, ascending) of the encoder layers whose FFN is a routed MoE. */
  moeLayers: number[];
  /** The config keys these come from. */
  source: string;
}

/** Storage formats for weights. */
export type Dtype = 'fp32' | 'bf16' | 'fp16' | 'fp8' | 'int8' | 'int4' | 'int3' | 'int2';
