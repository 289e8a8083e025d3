// The copy button copies code that runs when pasted: for a doctest-style block it keeps the
// statements after ">>> " and "... " and drops the prompts and the printed output.
// Material copies an ancestor's data-copy attribute instead of the block's text when present.
function runnableSource(text) {
  const lines = text.replace(/\n$/, "").split("\n");
  if (!lines.some((line) => line.startsWith(">>>"))) return null;
  const kept = [];
  let inStatement = false;
  for (const line of lines) {
    if (line === ">>>" || line.startsWith(">>> ")) {
      kept.push(line.slice(4));
      inStatement = true;
    } else if (inStatement && (line === "..." || line.startsWith("... "))) {
      kept.push(line.slice(4));
    } else {
      inStatement = false;  // an output line, or the blank line that ends one
    }
  }
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
