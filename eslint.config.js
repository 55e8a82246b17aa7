// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import html from 'eslint-plugin-html';
import noCrossPackageImport from './scripts/eslint-rules/no-cross-package-import.js';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'test-artifacts/**',
      '**/*.html',
      // The Node-RED editor's node definitions are JavaScript in <script> tags: linted (below).
      '!nodes/nodes/*.html',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { camgate: { rules: { 'no-cross-package-import': noCrossPackageImport } } },
    rules: {
      // Packages meet through their published faces (ARCHITECTURE.md), never a relative path into another one.
      'camgate/no-cross-package-import': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Libraries take an injected logger; only the CLI talks to the terminal.
      'no-console': 'error',
    },
  },
  {
    files: [
      'gateway-core/src/cli/**',
      'test/**',
      'gateway-core/test/**',
      'gateway-core/bench/**',
      'camera-sim/test/**',
      'test-helpers/**',
      '**/scripts/**',
      'nodes/test/**',
      'homebridge-plugin/test/**',
    ],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['gateway-core/src/hub/viewer/static/**', 'test/fixtures/browser/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Node-RED loads nodes as CommonJS; `const node = this` is its documented idiom for handlers.
    files: ['nodes/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off', '@typescript-eslint/no-this-alias': 'off' },
  },
  {
    // Functions passed to page.evaluate() run in the Node-RED editor page.
    files: ['nodes/test/editor.test.js'],
    languageOptions: { globals: { ...globals.browser, RED: 'readonly', $: 'readonly' } },
  },
  {
    // The editor half of each Node-RED node: eslint-plugin-html lints the JavaScript <script> of
    // nodes/nodes/*.html (templates, type="text/html", are left alone); it runs in the browser with RED and jQuery.
    files: ['nodes/nodes/*.html'],
    plugins: { html },
    languageOptions: { sourceType: 'script', globals: { ...globals.browser, RED: 'readonly', $: 'readonly' } },
  },
);
