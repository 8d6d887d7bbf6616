/** Learned propensity: the model the decision path reads (Beta posteriors, Thompson sampling) and the counts feedback writes to it. */
export { priorPropensity, type Assessment, type PropensityModel } from './model.js';
export { posterior, posteriorMean, type Counts, type Posterior } from './posterior.js';
export { LearnedPropensity } from './propensity.js';
export { cellKey, LearningState, positiveOutcome } from './state.js';
