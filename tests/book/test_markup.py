"""The rewrites that make the built pages' HTML valid and accessible (bookhooks.markup)."""

from bookhooks import markup


def test_a_long_name_in_inline_code_may_wrap_after_a_dot_or_underscore_only():
    page = ("<p><code>coursekit.training.models.AlexNet</code> and <code>torch.nn</code> and "
            "<code>scaled_dot_product_attention</code> and <code>a long phrase here ok</code>"
            "</p><pre><code>coursekit.training.models.AlexNet</code></pre>")
    fixed = markup.breakable_names(page)
    assert "<code>coursekit.<wbr>training.<wbr>models.<wbr>AlexNet</code> and" in fixed
    assert "<code>torch.nn</code>" in fixed  # short: left alone
    assert "<code>scaled_<wbr>dot_<wbr>product_<wbr>attention</code>" in fixed
    assert "<code>a long phrase here ok</code>" in fixed  # spaces already break it
    assert fixed.endswith("<pre><code>coursekit.training.models.AlexNet</code></pre>")


KATEX = ('<span class="katex"><span class="katex-mathml"><math><semantics><mrow><mi>x</mi>'
         '</mrow><annotation encoding="application/x-tex">x^2 &lt; 1</annotation></semantics>'
         '</math></span><span class="katex-html" aria-hidden="true"><span>x2</span></span>'
         "</span>")


def test_a_formula_reaches_the_search_index_as_its_latex_only():
    fixed = markup.searchable_math(f"<p>So {KATEX}.</p>")
    assert '<span class="search-math" hidden>x^2 &lt; 1</span>' in fixed
    assert '<span class="katex-mathml" data-search-exclude>' in fixed
    assert '<span class="katex-html" aria-hidden="true" data-search-exclude>' in fixed
    assert fixed.count("<mi>x</mi>") == 1  # the rendering itself is kept


def test_each_table_gets_a_box_of_its_own_and_nothing_else_changes():
    content = ("<p>a</p>\n<table>\n<tr><td>1</td></tr>\n</table>\n<p>b</p>"
               '<table><tr><td>2</td></tr></table><table class="x"></table>'
               "<pre><code>&lt;table&gt;</code></pre>")
    fixed = markup.boxed_tables(content)
    assert fixed == ('<p>a</p>\n<div class="table-box"><table>\n<tr><td>1</td></tr>\n</table>'
                     '</div>\n<p>b</p><div class="table-box"><table><tr><td>2</td></tr></table>'
                     '</div><table class="x"></table><pre><code>&lt;table&gt;</code></pre>')
    assert markup.page_content(content, "maths/x.md", "maths/x/", {}).count("table-box") == 2


def test_a_chapter_named_by_its_path_in_a_docstring_links_to_it():
    content = "<p>The chapter (<code>docs/maths/calculus.md</code>) and <code>docs/no.md</code></p>"
    fixed = markup.link_chapter_paths(content, "reference/maths/calculus/",
                                      {"maths/calculus.md": "maths/calculus/"})
    assert ('<a href="../../../maths/calculus/"><code>docs/maths/calculus.md</code></a>'
            in fixed)
    assert "and <code>docs/no.md</code></p>" in fixed  # not a chapter: left as it is


def test_the_lab_gets_valid_copy_buttons_and_css():
    content = ('<clipboard-copy ,="" aria-label="Copy to Clipboard" for="cell-1">'
               "<style>.a{transition-delay:0;-webkit-transition-duration:0}"
               ".b{overflow:overlay;cursor:normal;box-orient:horizontal;display:flex}"
               ".c{top:0;transform:translateX(0),translateY(0);color:red}</style>")
    fixed = markup.lab_content(content)
    assert '<clipboard-copy role="button" aria-label="Copy to Clipboard" for="cell-1">' in fixed
    assert ".a{transition-delay:0s;-webkit-transition-duration:0s}" in fixed
    assert ".b{overflow:auto;display:flex}" in fixed
    assert ".c{top:0;color:red}" in fixed


PAGE = ('<html><head><link rel="stylesheet" href="x.css"></head><body>'
        '<input class="md-toggle" type="checkbox" id="__drawer" autocomplete="off">'
        '<input type="text" autocomplete="off">'
        '<label class="md-nav__link" for="__nav_6" tabindex="">Reference</label>'
        '<div class="md-search" data-md-component="search" role="dialog"></div>'
        '<style type="text/css">.jp{}</style>'
        '<script src="../../assets/javascripts/bundle.a5f9.min.js"></script></body></html>')


def test_the_theme_markup_is_made_valid_and_the_search_ranking_loaded_first():
    fixed = markup.page_html(PAGE, "maths/calculus.md")
    head, body = fixed.split("</head>")
    assert 'type="checkbox" id="__drawer">' in body and 'type="text" autocomplete="off"' in body
    assert 'tabindex="-1"' in body and 'tabindex=""' not in body
    assert 'role="dialog" aria-label="Search">' in body
    assert '<script src="../../assets/search-ranking.js"></script>' in head
    assert "<style" in body  # only a lab's styles move


def test_a_labs_styles_move_to_the_head_after_the_sites_stylesheets():
    head, body = markup.page_html(PAGE, "labs/digits.py").split("</head>")
    assert "<style" not in body
    assert head.index('href="x.css"') < head.index('<style type="text/css">.jp{}</style>')
