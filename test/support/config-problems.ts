import { expect } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parseTestConfig } from './app.js';

/**
 * The problems the config loader reports for `yaml` (as file `test.yaml`), each as the CLI
 * prints it: `path: message`, or the bare message when it names no path. Fails the test when
 * the YAML is accepted or the loader throws anything but a ConfigError.
 *
 * For configs meant to be refused: it does not return an empty list for a valid one.
 */
export function configProblems(yaml: string): string[] {
  try {
    parseTestConfig(yaml, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
  }
  throw new Error('config was accepted');
}
