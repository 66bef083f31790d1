export { blackHole, deadPort } from './network.js';
