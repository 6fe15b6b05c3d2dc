// The linter run by `npm test`'s pretest (so by CI's `.ci/run`). Syntax rules only, no type
// information (fast: no program to build), and no formatting: the code's layout is not its business.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', '.test-build/', '.cache/', 'node_modules/', 'coverage/'] },
  {
    files: ['**/*.ts', '**/*.mts', '**/*.mjs', '**/*.js'],
    languageOptions: { parser: tseslint.parser },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          // `x as unknown as T` tells the compiler to stop checking: say what the value is instead
          // (a type guard, a narrower type, an overload). Where a library's types leave no other way,
          // disable on that line with the reason.
          selector: "TSAsExpression > TSAsExpression.expression[typeAnnotation.type='TSUnknownKeyword']",
          message: '`as unknown as` defeats the type checker: narrow with a guard or type the value; if unavoidable, disable on this line with the reason.',
        },
      ],
    },
  },
);
