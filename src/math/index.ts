/** Mathematics shared by the server and the offline tools: the seeded generator and its distributions, numerics, random IDs. */
export { newId } from './ids.js';
export { logGamma, type Minimum, minimize, sigmoid, softplus, tanhSinh } from './numerics.js';
export { mixSeed, type Rng, sampleBeta, sampleGamma, seededRng, standardNormal } from './random.js';
