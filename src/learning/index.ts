/** Learned propensity: the model the decision path reads (Beta posteriors, Thompson sampling) and the counts feedback writes to it. */
export { type Assessment, type PropensityModel, priorPropensity } from './model.js';
export { type Counts, type Posterior, posterior, posteriorMean } from './posterior.js';
export { LearnedPropensity } from './propensity.js';
export { cellKey, LearningState, positiveOutcome } from './state.js';
