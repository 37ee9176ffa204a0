import { concatMap, defer, type ObservableInput, type OperatorFunction } from 'rxjs';

/**
 * Runs `decode` for every item, one at a time and in arrival order: a stage can only be decoded
 * after the stages before it, and the model adapters are not re-entrant.
 */
export function decodeInArrivalOrder<T, R>(decode: (item: T) => ObservableInput<R>): OperatorFunction<T, R> {
  return concatMap((item) => defer(() => decode(item)));
}
