// Typeset LaTeX with KaTeX for bookhooks/typeset.py: one JSON request per line on stdin, one
// JSON answer per line on stdout, for as long as the build runs.
//   request: [{"tex": "\\frac{a}{b}", "display": true}, ...]   (every formula of one page)
//   answer:  [{"html": "<span class=\"katex-display\">..."} | {"error": "KaTeX parse error: ..."}]
"use strict";

const readline = require("node:readline");
const katex = require("katex");

const OPTIONS = {
  output: "htmlAndMathml", // what the eye sees, and MathML beside it for screen readers
  throwOnError: true, // an unknown command or a parse error fails the build, naming the formula
  strict: "error", // so does LaTeX that KaTeX accepts but TeX would not
  trust: false,
};

function render(formula) {
  try {
    return { html: katex.renderToString(formula.tex, { ...OPTIONS, displayMode: formula.display }) };
  } catch (error) {
    return { error: String(error.message || error) };
  }
}

readline.createInterface({ input: process.stdin, terminal: false }).on("line", (line) => {
  process.stdout.write(JSON.stringify(JSON.parse(line).map(render)) + "\n");
});
