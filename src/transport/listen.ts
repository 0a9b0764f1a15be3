import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StartupError } from '../errors.js';

/** `server.listen`, with the failures users hit turned into a StartupError naming the key. */
export function listen(server: Server, host: string, port: number, key: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(listenError(err, host, port, key));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number, key: string): StartupError {
  switch (err.code) {
    case 'EADDRINUSE':
      return new StartupError(
        'ONEBRIDGE_PORT_IN_USE',
        `${host}:${port} is already in use (EADDRINUSE); stop the other process or choose another port`,
        `${key}.port`,
        { cause: err },
      );
    case 'EACCES':
      return new StartupError(
        'ONEBRIDGE_PORT_DENIED',
        `not permitted to listen on ${host}:${port} (EACCES); use a port above 1023`,
        `${key}.port`,
        { cause: err },
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new StartupError(
        'ONEBRIDGE_HOST_UNAVAILABLE',
        `${host} is not an address of this machine (${err.code}); use 127.0.0.1 or 0.0.0.0`,
        `${key}.host`,
        { cause: err },
      );
    default:
      return new StartupError('ONEBRIDGE_LISTEN_FAILED', `cannot listen on ${host}:${port}: ${err.message}`, key, {
        cause: err,
      });
  }
}
