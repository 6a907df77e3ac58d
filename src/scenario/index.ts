/**
 * `iio-dmabuf-sim/scenario`: scenario files from a program. {@link loadScenario} parses and validates one
 * (YAML or JSON, every problem as a located error that {@link formatError} prints as `file:line:col: message`),
 * {@link scenarioSimulator} builds its simulator, {@link runScenario} runs it (attach tracers in between) and
 * reports the expectations that failed; {@link scenarioJsonSchema} is the JSON Schema of the format.
 */
export { formatError, type ScenarioError } from './errors.ts';
export { type LoadResult, loadScenario, MAX_SCENARIO_BYTES } from './load.ts';
export {
  DEFAULT_UNTIL_NS,
  runScenario,
  type ScenarioOutcome,
  type StepFailure,
  scenarioSimulator,
} from './run.ts';
export { Scenario, scenarioJsonSchema } from './schema.ts';
