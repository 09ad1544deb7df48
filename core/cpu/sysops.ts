// The decoder's door to the system side of the CPU (core/cpu/system, owned by the system
// engineer): the decoder only ever calls the names exported here.
export * from './system/index.js';
