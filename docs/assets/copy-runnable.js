// The copy button copies code that runs when pasted: for a doctest-style block it keeps the
// statements after ">>> " and "... " and drops the prompts and the printed output.
// Material copies an ancestor's data-copy attribute instead of the block's text when present.

// A statement that holds an indented block starts with one of these (or a decorator). The
// classic python prompt (3.10-3.12) ends such a statement only at a blank line: without one,
// the next pasted statement is a SyntaxError. A script or a notebook cell ignores the line.
const COMPOUND = /^(?:async\s+)?(?:if|for|while|try|with|def|class)\b|^@|^match\b.*:\s*(?:#.*)?$/;

function runnableSource(text) {
  const lines = text.replace(/\n$/, "").split("\n");
  if (!lines.some((line) => line.startsWith(">>>"))) return null;
  const kept = [];
  let statement = null;  // the first line of the statement being kept, while in one
  const endStatement = () => {
    if (statement !== null && COMPOUND.test(statement) && kept[kept.length - 1].trim() !== "") {
      kept.push("");
    }
    statement = null;
  };
  for (const line of lines) {
    if (line === ">>>" || line.startsWith(">>> ")) {
      endStatement();
      statement = line.slice(4);
      kept.push(statement);
    } else if (statement !== null && (line === "..." || line.startsWith("... "))) {
      kept.push(line.slice(4));
    } else {
      endStatement();  // an output line, or the blank line that ends one
    }
  }
  endStatement();
  return kept.join("\n") + "\n";
}

// The code's text without code annotations: Material turns a "# (1)!" comment into a
// marker whose tooltip text would otherwise be copied into the middle of a line.
function codeText(code) {
  const clone = code.cloneNode(true);
  for (const note of clone.querySelectorAll(".md-annotation")) note.remove();
  return clone.textContent.replace(/[ \t]*#[ \t]*\(\d+\)!?[ \t]*$/gm, "");
}

function markRunnableCopies() {
  for (const code of document.querySelectorAll("pre > code")) {
    const source = runnableSource(codeText(code));
    if (source !== null) code.parentElement.setAttribute("data-copy", source);
  }
}

if (typeof document$ !== "undefined") {
  document$.subscribe(markRunnableCopies);  // also after Material's instant navigation
} else {
  document.addEventListener("DOMContentLoaded", markRunnableCopies);
}
