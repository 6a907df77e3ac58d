import fc from 'fast-check';

// FC_SEED / FC_RUNS reproduce or widen a property campaign without editing tests.
const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const numRuns = process.env.FC_RUNS === undefined ? undefined : Number(process.env.FC_RUNS);
fc.configureGlobal({
  ...fc.readConfigureGlobal(),
  ...(seed === undefined ? {} : { seed }),
  ...(numRuns === undefined ? {} : { numRuns }),
});
