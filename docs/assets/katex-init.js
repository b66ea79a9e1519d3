// Render the math that pymdownx.arithmatex (generic mode) wraps in <span class="arithmatex"> / <div class="arithmatex">.
// KaTeX is vendored in assets/katex (no CDN). document$ is mkdocs-material's page-load observable (instant navigation).
function renderLayerwiseMath() {
  document.querySelectorAll(".arithmatex").forEach(function (element) {
    renderMathInElement(element, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    });
  });
}
if (typeof document$ !== "undefined") {
  document$.subscribe(renderLayerwiseMath);
} else {
  document.addEventListener("DOMContentLoaded", renderLayerwiseMath);
}
