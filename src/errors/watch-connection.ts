import { markError, type Side } from './error-origin.js';

/** The slice of a driver connection (pg.Client, mysql2's promise Connection) the watch needs. */
interface WatchedConnection {
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
}

/**
 * Marks every error `connection`'s `methods` reject with as coming from `side`, and as from a
 * lost connection once the connection emitted 'error' or 'end': both drivers emit those only when
 * the socket is gone, and the errors pg gives later queries ("not queryable") carry no code that
 * says so. The methods are wrapped on the instance because the drivers
 * build their connections themselves: there is no class of ours to extend.
 */
export function watchConnection<C extends WatchedConnection>(
  connection: C,
  side: Side,
  methods: readonly (keyof C & string)[],
): C {
  let lost = false;
  connection.on('error', (error) => {
    lost = true;
    markError(error, side, true);
  });
  connection.on('end', () => {
    lost = true;
  });
  for (const name of methods) {
    const method: unknown = Reflect.get(connection, name);
    if (typeof method !== 'function') continue;
    Reflect.set(connection, name, (...args: unknown[]): unknown => {
      const result: unknown = method.apply(connection, args);
      if (!isPromise(result)) return result;
      return result.catch((error: unknown) => {
        throw markError(error, side, lost);
      });
    });
  }
  return connection;
}

function isPromise(value: unknown): value is Promise<unknown> {
  return value instanceof Promise;
}
