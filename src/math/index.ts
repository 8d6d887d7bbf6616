/** Mathematics shared by the server and the offline tools: the seeded generator and its distributions, numerics. */
export { logGamma, minimize, sigmoid, softplus, tanhSinh, type Minimum } from './numerics.js';
export { mixSeed, sampleBeta, sampleGamma, seededRng, standardNormal, type Rng } from './random.js';
