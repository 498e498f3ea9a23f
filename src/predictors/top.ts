/** The one top-k (trace/top.ts), where predictors and prefetch policies have always imported it. */
export { topExperts } from '../trace/top.js';
