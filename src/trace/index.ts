/**
 * `iio-dmabuf-sim/trace`: recording a simulation (strace-style text and a structured timeline) and exporting
 * it: a self-contained HTML timeline, Chrome trace-event JSON for Perfetto, ftrace lines of the fence
 * tracepoints, the closing summary.
 */
export { formatFtrace, traceFences } from './ftrace.ts';
export { exportHtml, type HtmlOptions } from './html.ts';
export {
  buildModel,
  type LaneGroup,
  type ModelChain,
  type ModelCounter,
  type ModelItem,
  type ModelLane,
  type ModelLink,
  type ModelOptions,
  shortRequest,
  type TimelineModel,
} from './model.ts';
export { exportPerfetto, type PerfettoOptions } from './perfetto.ts';
export { type RecorderOptions, type Recording, recordTrace } from './recorder.ts';
export { formatReturn, formatTime, Strace, type StraceOptions } from './strace.ts';
export { FenceStats, summaryLines } from './summary.ts';
export type * from './timeline.ts';
