// Lint rules tsc cannot check. Type-aware: rules that need types read tsconfig.json /
// test/tsconfig.json through the project service.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // web/ is the dashboard page: browser JS, checked in real Chromium by test/dashboard.test.ts.
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'web/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-debugger': 'error',
      // A `let` assigned once after closures that read it is declared early on purpose.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // Library code logs through winston to stderr; stdout belongs to the console and CLI output.
    files: ['src/**/*.ts', 'adapters/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // One error base class, so every error has a stable code (docs/errors.md).
    files: ['src/**/*.ts', 'adapters/**/*.ts'],
    ignores: ['src/errors.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ClassDeclaration[superClass.name='Error'], ClassExpression[superClass.name='Error']",
          message: 'extend OneBridgeError with a code (docs/errors.md), not Error',
        },
      ],
    },
  },
  {
    // Core is a library the adapters plug into; only bin/ and tests join the two.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/adapters', '**/adapters/**'],
              message: 'src/ never imports adapters/: take an adapter definition from the caller.',
            },
          ],
        },
      ],
    },
  },
  {
    // IRC formatting codes (bold, colour, …) are control characters: the IRC adapter strips them.
    files: ['adapters/irc/**/*.ts'],
    rules: { 'no-control-regex': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests match terminal output: ANSI escapes and aligned columns are what they check.
      'no-control-regex': 'off',
      'no-regex-spaces': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name=/^(it|test|describe)$/][callee.property.name='only']",
          message: '.only left in a test',
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
