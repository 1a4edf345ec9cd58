// Lint rules. The one that matters most: src/core is pure domain code and imports nothing from the
// rest of the repository (design §2), so the layering cannot erode.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', {
        selector: "MemberExpression[object.name='Date'][property.name='now']",
        message: 'Inject a Clock instead of calling Date.now() (DEVELOPERS.md: time is injected).',
      }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { regex: '^(?!node:|\\.)', message: 'src/core uses node built-ins only: no packages.' },
          { regex: '(^|/)(stores|sentry|cli|kube|identity)(/|$)', message: 'src/core must not import from the rest of the repository (design §2).' },
          { regex: '^\\.\\./\\.\\./', message: 'src/core must not import from outside src/core (design §2).' },
        ],
      }],
    },
  },
  {
    // The middle layer never reaches up into the entry points (design §2).
    files: ['src/stores/**/*.ts', 'src/kube/**/*.ts', 'src/identity/**/*.ts', 'src/wire/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ regex: '(^|/)(sentry|cli)/', message: 'stores, kube, identity and wire must not import from src/sentry or src/cli (design §2).' }],
      }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
