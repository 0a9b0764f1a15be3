import { describe, expect, it } from 'vitest';
import { slowdownFrom } from './support/slow.js';

describe('test slowdown factor (hang guards scale, native x64 is never loosened)', () => {
  it('is 1 on native x64 with nothing set', () => {
    expect(slowdownFrom({}, 'x64')).toBe(1);
  });

  it('is 10 under run-arm64.sh (RUN_ARM64=1) or on arm64', () => {
    expect(slowdownFrom({ RUN_ARM64: '1' }, 'x64')).toBe(10);
    expect(slowdownFrom({}, 'arm64')).toBe(10);
  });

  it('ONEBRIDGE_TEST_SLOWDOWN wins, and a bad value is an error, not a silent default', () => {
    expect(slowdownFrom({ ONEBRIDGE_TEST_SLOWDOWN: '3', RUN_ARM64: '1' }, 'arm64')).toBe(3);
    expect(slowdownFrom({ ONEBRIDGE_TEST_SLOWDOWN: '' }, 'x64')).toBe(1);
    expect(() => slowdownFrom({ ONEBRIDGE_TEST_SLOWDOWN: 'fast' }, 'x64')).toThrow(
      /ONEBRIDGE_TEST_SLOWDOWN must be a number >= 1, got 'fast'/,
    );
    expect(() => slowdownFrom({ ONEBRIDGE_TEST_SLOWDOWN: '0.5' }, 'x64')).toThrow(/>= 1/);
  });
});
