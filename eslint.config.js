// typescript-eslint strict type-checked rules for the ESM code; chaincode/ is linted with its own tsconfig.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/generated/**',
      'data/**',
      '.data/**',
      // fabric-samples' chaincode, kept byte for byte (its SOURCE file)
      'test/fixtures/asset-transfer-events/**',
    ],
  },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // Type-only imports stay visible (tsconfig has no verbatimModuleSyntax: node/ reads chaincode/'s CommonJS
      // sources for types and pure functions).
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The chaincode's code shared with the rest (Merkle proofs, signed notes, keys, validation rules, the chain's
    // record types) has one public face, chaincode/src/protocol.ts (and its browser-safe part protocol-portable.ts,
    // which protocol.ts re-exports); its other modules are the contract's own.
    files: ['node/**/*.ts', 'network/**/*.ts', 'scripts/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: 'chaincode/src/(?!protocol(-portable)?\\.ts$)',
              message: 'import the chaincode only through its public face, chaincode/src/protocol.ts',
            },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js'], extends: [tseslint.configs.disableTypeChecked] },
);
