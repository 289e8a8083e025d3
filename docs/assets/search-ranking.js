// Search ranks the pages that hold every word of the query first.
//
// Material's search (lunr) ORs the words of a query: "mode collapse" finds every page with
// "mode" or "collapse", in an order where one rare word can outweigh both. Each result says
// which words of the query it matched (its `terms`). This script, which the book's hook loads
// before Material's bundle (bookhooks/markup.py), wraps the Worker that the bundle starts for
// search and reorders each answer before the bundle reads it: first the pages where every word
// matched (in the page or in one of its sections), then the others, each group in Material's
// order. Their scores are raised by the best score of the others, so that Enter (which opens
// the best-scored page) opens the first one listed.
(() => {
  const NativeWorker = window.Worker;
  if (typeof NativeWorker !== "function") return;
  const RESULT = 3; // Material's message type for the answer to a query

  function holdsEveryWord(page) {
    const matched = new Map();
    for (const doc of page) {
      for (const [word, found] of Object.entries(doc.terms || {})) {
        matched.set(word, matched.get(word) || found);
      }
    }
    return matched.size > 0 && [...matched.values()].every(Boolean);
  }

  function rankEveryWordFirst(event) {
    const message = event.data;
    if (!message || message.type !== RESULT || !message.data) return;
    const pages = message.data.items;
    if (!Array.isArray(pages)) return;
    const every = pages.filter(holdsEveryWord);
    const some = pages.filter((page) => !holdsEveryWord(page));
    if (every.length === 0 || some.length === 0) return;
    const best = Math.max(...some.flat().map((doc) => doc.score));
    for (const page of every) for (const doc of page) doc.score += best;
    pages.splice(0, pages.length, ...every, ...some);
  }

  window.Worker = class extends NativeWorker {
    constructor(url, options) {
      super(url, options);
      // Registered before the bundle's own listener, so it sees the answer reordered.
      if (String(url).includes("search")) this.addEventListener("message", rankEveryWordFirst);
    }
  };
})();
