/**
 * Access to `aws-local-stepfunctions` (the ASL interpreter) and helpers over ASL definitions.
 *
 * The package ships as an ES module with a CommonJS build; this project compiles to CommonJS,
 * so it is loaded with `require` (types come from its ESM declarations). It also calls
 * `Promise.withResolvers`, which Node 20 lacks: a standard polyfill is installed when missing.
 * @module
 */
import type {
  StateMachine as AslStateMachine,
  StateMachineDefinition,
  RunOptions,
} from 'aws-local-stepfunctions' with { 'resolution-mode': 'import' };

/** The parts of the `aws-local-stepfunctions` module this stack uses. */
type AslModule = typeof import('aws-local-stepfunctions', { with: { 'resolution-mode': 'import' } });

export type { AslStateMachine, StateMachineDefinition, RunOptions };

/** Installs `Promise.withResolvers` (ES2024) when the runtime lacks it (Node 20). */
function installWithResolvers(): void {
  const ctor = Promise as unknown as { withResolvers?: unknown };
  if (typeof ctor.withResolvers === 'function') return;
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

let loaded: AslModule | undefined;

/** The `aws-local-stepfunctions` module (loaded on first use). */
export function asl(): AslModule {
  if (!loaded) {
    installWithResolvers();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require('aws-local-stepfunctions') as AslModule;
  }
  return loaded;
}

/** A Task state found in a definition. */
export interface TaskStateInfo {
  stateName: string;
  resource: string;
}

type StatesMap = Record<string, Record<string, unknown>>;

/** Lists every Task state of a definition, nested Parallel branches and Map processors included. */
export function collectTaskStates(definition: unknown): TaskStateInfo[] {
  const out: TaskStateInfo[] = [];
  const visit = (machine: unknown): void => {
    if (!machine || typeof machine !== 'object') return;
    const states = (machine as { States?: unknown }).States;
    if (!states || typeof states !== 'object') return;
    for (const [stateName, state] of Object.entries(states as StatesMap)) {
      if (!state || typeof state !== 'object') continue;
      if (state.Type === 'Task' && typeof state.Resource === 'string') {
        out.push({ stateName, resource: state.Resource });
      }
      if (state.Type === 'Parallel' && Array.isArray(state.Branches)) {
        for (const b of state.Branches) visit(b);
      }
      if (state.Type === 'Map') {
        visit(state.ItemProcessor);
        visit(state.Iterator);
      }
    }
  };
  visit(definition);
  return out;
}

/** Values for `${Name}` tokens, as CloudFormation `DefinitionSubstitutions` take them. */
export type DefinitionSubstitutions = Record<string, string | number | boolean>;

/**
 * Replaces every `${Name}` token of a definition text with `substitutions[Name]`, as Step
 * Functions `DefinitionSubstitutions` do. Returns the text and the names left unresolved.
 * Values are inserted verbatim (a value inside a JSON string must not need escaping, which is
 * the case for ARNs and names).
 */
export function substitute(text: string, substitutions: DefinitionSubstitutions): { text: string; unresolved: string[] } {
  const unresolved = new Set<string>();
  const result = text.replace(/\$\{([A-Za-z0-9_.:-]+)\}/g, (token, name: string) => {
    if (Object.prototype.hasOwnProperty.call(substitutions, name)) return String(substitutions[name]);
    unresolved.add(name);
    return token;
  });
  return { text: result, unresolved: [...unresolved] };
}
