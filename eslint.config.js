// Lint rules. The layering (which folder of src/ may import which, static, type-only and dynamic
// imports alike, and no cycles) is the import matrix in .dependency-cruiser.cjs, run by `npm run lint`.
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
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
