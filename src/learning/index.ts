/** Learned propensity: the model the decision path reads (Beta posteriors, Thompson sampling) and the counts feedback writes to it. */
export { posterior, posteriorMean, sampleBeta, sampleGamma, seededRng, type Counts, type Posterior, type Rng } from './bandit.js';
export { priorPropensity, type Assessment, type PropensityModel } from './model.js';
export { LearnedPropensity } from './propensity.js';
export { cellKey, LearningState, positiveOutcome } from './state.js';
