/**
 * What a scenario action is: the key of a step (`open`, `enqueue`, `loop`...) with its schema, its static
 * check and how it runs. The loader and the interpreter look actions up in the table of these
 * (`ACTION_TABLE` in table.ts) instead of switching over their names; the scenario schema and its JSON
 * Schema are built from the same table.
 */
import type { z } from 'zod';
import type { Sys } from '../../sim/process.ts';
import type { AbiProfile } from '../../uapi/ioctls.ts';
import type { ScenarioTarget } from '../target.ts';
import type { DataCheck, ExpectObject } from '../values.ts';

/** A path inside a step's action value (`['arg', 'struct']`); `[]` is the value itself. */
export type ActionPath = readonly (string | number)[];

/**
 * What an action's static check works with. Problems are located at a path inside the action's value;
 * names are tracked in step order, so a name must be defined (with `as:`, `out:`, `into:`...) before use.
 */
export interface ActionCheck {
  /** The scenario's ABI profile. */
  readonly profile: AbiProfile;
  /** Reports a problem at `path`. */
  error(path: ActionPath, message: string): void;
  /** Reports a problem at key `key` of the mapping at `path`. */
  errorAtKey(path: ActionPath, key: string, message: string): void;
  /** A name an earlier step must have defined; numbers and digit strings (literal fds) always pass. */
  ref(value: unknown, path: ActionPath): void;
  /** Defines a name for later steps (`$var` defines every value of the foreach variable). */
  define(name: string | undefined): void;
  /** A device of the board (by name or `iio:deviceN`), when `value` is a string. */
  device(value: unknown, path: ActionPath): void;
  /** A process of the scenario. */
  process(value: unknown, path: ActionPath): void;
  /** A signal name, when `value` is a string. */
  signal(value: unknown, path: ActionPath): void;
  /** A flags value whose names are all known. */
  flags(value: unknown, path: ActionPath): void;
  /** Checks nested steps (with the names defined so far), with a foreach variable when given. */
  steps(
    steps: unknown[],
    path: ActionPath,
    variable?: { readonly name: string; readonly values: readonly string[] },
  ): void;
}

/** A mapping a step made (mmap, heap_alloc, iio_alloc), by name. */
export interface Mapping {
  readonly addr: number;
  readonly length: number;
  /** heap_alloc, iio_alloc: the DMABUF's fd (its CPU access is bracketed by SYNC START/END). */
  readonly dmabuf?: number;
}

/** A named read buffer (`read: {into}`), reused by later reads of at most its size. */
export interface ReadBuffer {
  readonly addr: number;
  readonly len: number;
  /** Bytes the last read returned. */
  filled: number;
}

/** What a process's steps share besides its fds: mappings, read buffers, the heap fd heap_alloc opened. */
export interface ProcessState {
  readonly maps: Map<string, Mapping>;
  readonly buffers: Map<string, ReadBuffer>;
  /** `/dev/dma_heap/system` as heap_alloc opened it, or -1 (then the next heap_alloc opens it). */
  heapFd: number;
  /** DMABUF fds with a SYNC_START open (not yet ended by SYNC_END). */
  readonly cpuAccess: Set<number>;
}

/** What an action's run works with: the process, its named objects, and the step's expectation. */
export interface ActionRun {
  readonly sys: Sys;
  /** The system the process runs on: the simulator or a real kernel. */
  readonly target: ScenarioTarget;
  /** Where the step is (`steps[3] open (label)`, with loop iterations), as failures show it. */
  readonly here: string;
  /** The step's `expect` mapping, if it has one. */
  readonly expect: ExpectObject | undefined;
  readonly state: ProcessState;
  /** Checks a syscall's return value (and the step's duration) against `expect`; throws a {@link StepError}. */
  done(ret: number): void;
  /** The fd a reference names (a name, `$var`, or a number). */
  fd(ref: unknown): number;
  /** The fd a name (or `$var`) is bound to, if any. */
  fdNamed(ref: string): number | undefined;
  /** A name with a `$var` replaced by the variable's value. */
  name(ref: string): string;
  /** Names fd `fd` (nothing when `name` is not a string or `fd` is an error). */
  bind(name: unknown, fd: number): void;
  /** The mapping a name refers to. */
  mapping(ref: string): Mapping;
  /** Checks bytes against a data expectation. */
  checkData(bytes: Uint8Array, data: DataCheck | undefined): void;
  /** The pid of the scenario's process `name` (-1 when there is none). */
  pidOf(name: string): number;
  /** Records that the step skipped a check the target cannot make, under a comparison rule's id. */
  note(rule: string, text: string): void;
  /** Runs nested steps, reported under `where`, with a foreach variable when given. */
  steps(
    steps: unknown[],
    where: string,
    variable?: { readonly name: string; readonly value: string },
  ): Promise<void>;
}

/** A step that did not do what the scenario expected: what it expected and what it got. */
export class StepError extends Error {
  readonly expected: string;
  readonly got: string;
  constructor(expected: string, got: string) {
    super(`expected ${expected}, got ${got}`);
    this.expected = expected;
    this.got = got;
  }
}

/** One scenario action. */
export interface ActionDef<N extends string = string, S extends z.ZodType = z.ZodType> {
  /** The step key. */
  readonly name: N;
  /** What the key's value may be (also the action's part of scenarios/scenario.schema.json). */
  readonly schema: S;
  /** Checks the schema cannot express: names, devices, flags, ioctls and structs. Reports; never throws. */
  check(args: z.output<S>, c: ActionCheck): void;
  /** Runs the step in its process. */
  run(args: z.output<S>, r: ActionRun): Promise<void>;
}

/** Declares an action; `check` and `run` get the value as `schema` parses it. */
export function defineAction<const N extends string, S extends z.ZodType>(
  def: ActionDef<N, S>,
): ActionDef<N, S> {
  return def;
}
