export * from './points.js';
export * from './stats.js';
export * from './systems.js';
export * from './run.js';
export * from './format.js';
