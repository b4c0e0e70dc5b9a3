"""The report reads like one: verdict box first (in the first screen), contents, captions."""

from __future__ import annotations

import re
import warnings
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from conftest import CHROMIUM, run_chromium

import structest
from structest.codes import ECONOMIES, INDUSTRIES
from structest.report import html as rhtml

#: every section of the report, by its anchor
SECTIONS = {
    "compare": "Bayesian vs reduced form",
    "ppc": "Posterior predictive checks",
    "prior": "Prior vs posterior",
    "prior-predictive": "Prior predictive check",
    "loo": "PSIS-LOO",
    "convergence": "Convergence diagnostics",
    "data": "Data",
    "spec": "Model specification",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A report of a tiny fit (1 chain x 10 draws: the sampler's problems show in the box)."""
    panel, truth = structest.simulate(
        5, economies=ECONOMIES[:5], industries=INDUSTRIES[:4], years=(2000, 2005)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = structest.fit(
            panel, "bbj", chains=1, draws=10, tune=10, seed=0, progress_bar=False, n_prior=50
        )
        verdict: dict = {}
        out = tmp_path_factory.mktemp("layout")
        path = rhtml.write_report(
            result, panel, out, truth=truth, estimators=("ols",), verdict=verdict
        )
    return result, verdict, path, path.read_text(encoding="utf-8")


class _Tree(HTMLParser):
    """Ids, in-page links, and per <figure>/<table> the images and caption texts."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.links: list[tuple[str, bool]] = []  # (target, inside the contents)
        self.figures: list[dict] = []
        self.tables: list[dict] = []
        self.stack: list[str] = []
        self.in_nav = False
        self.open_cap: dict | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "nav" and a.get("id") == "contents":
            self.in_nav = True
        if tag == "a" and a.get("href", "").startswith("#"):
            self.links.append((a["href"][1:], self.in_nav))
        if tag == "figure":
            self.figures.append({"img": 0, "caption": ""})
        if tag == "img" and "figure" in self.stack:
            self.figures[-1]["img"] += 1
        if tag == "table":
            self.tables.append({"caption": "", "first_th": None})
        if tag == "th" and self.tables and self.tables[-1]["first_th"] is None:
            self.tables[-1]["first_th"] = ""
        if tag == "figcaption":
            self.open_cap = self.figures[-1]
        if tag == "caption":
            self.open_cap = self.tables[-1]
        if tag not in ("img", "meta", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav":
            self.in_nav = False
        if tag in ("figcaption", "caption"):
            self.open_cap = None
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self.open_cap is not None:
            self.open_cap["caption"] += data


def _tree(text: str) -> _Tree:
    t = _Tree()
    t.feed(text)
    return t


#: appended to a copy of the page: the browser writes the verdict box's layout into the title
_PROBE = (
    "<script>window.addEventListener('load',function(){"
    "var r=document.getElementById('verdict').getBoundingClientRect();"
    "document.title='LAYOUT '+[r.top,r.bottom,r.left,r.right,window.innerWidth,"
    "window.innerHeight].join(' ');});</script>"
)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)")
def test_verdict_box_is_in_the_first_screen(report, tmp_path):
    _, _, path, text = report
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    dom = run_chromium("--window-size=1280,800", "--dump-dom", probe.as_uri(), cwd=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    m = re.search(r"<title>LAYOUT ([-\d. ]+)</title>", dom.stdout)
    assert m, dom.stdout[:500]
    top, bottom, left, right, width, height = map(float, m[1].split())
    assert width > 1000 and height > 500  # the window the layout was computed for
    assert 0 <= top < bottom <= min(height, 800.0)  # the whole box without scrolling
    assert 0 <= left < right <= width
    assert bottom - top > 100  # a box with content, not an empty strip

    shot = tmp_path / "shot.png"
    res = run_chromium(
        f"--screenshot={shot}", "--window-size=1280,800", path.as_uri(), cwd=tmp_path
    )
    assert shot.exists(), res.stderr[-2000:]
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    assert img.shape[:2] == (800, 1280)
    assert float(np.std(img[..., :3])) > 0.05  # not a blank page


def test_page_order_verdict_contents_then_sections(report):
    _, _, _, text = report
    pos = {k: text.find(f'id="{k}"') for k in ["verdict", "contents", *SECTIONS]}
    assert all(v > 0 for v in pos.values()), pos
    assert pos["verdict"] < pos["contents"] < pos["compare"] < pos["ppc"]
    # the data table and the long convergence table come after the results
    assert pos["ppc"] < pos["convergence"] and pos["ppc"] < pos["data"]
    for hid, title in SECTIONS.items():
        assert re.search(rf'<h[23] id="{hid}">{re.escape(title)}</h[23]>', text)


def test_contents_links_resolve(report):
    t = _tree(report[3])
    assert len(t.ids) == len(set(t.ids)), "duplicate ids"
    toc = [target for target, in_nav in t.links if in_nav]
    assert set(SECTIONS) <= set(toc)
    assert len(toc) >= len(SECTIONS) + 4  # subsections too
    missing = [target for target, _ in t.links if target not in t.ids]
    assert not missing


def test_every_figure_and_table_is_captioned(report):
    _, _, path, text = report
    t = _tree(text)
    n_png = len(list((path.parent / "figures").glob("*.png")))
    assert len(t.figures) == n_png >= 8  # 1 chain: a figure may fail (a visible note)
    assert text.count("<figure") == text.count("<figcaption>") == n_png
    for f in t.figures:
        assert f["img"] == 1
        assert len(f["caption"].split()) >= 12  # says what it shows and how to read it
    assert len(t.tables) >= 8
    for tab in t.tables:
        assert len(tab["caption"].split()) >= 8, tab


def _box(text: str) -> str:
    return text[text.index('<section id="verdict"') : text.index("</section>")]


def test_verdict_box_has_the_terminal_numbers(report, capsys):
    from structest.report.cli import echo_verdict

    result, verdict, _, text = report
    box = _box(text)
    problems = result.diagnostics()
    table = result.summary()
    # the dict holds what `structest report` prints, computed the same way
    assert verdict["problems"] == problems and problems  # 1 chain x 10 draws: problems
    assert verdict["divergences"] == int(result.idata.sample_stats["diverging"].values.sum())
    assert verdict["min_ess"] == pytest.approx(table["ess_bulk"].min())
    assert [k["name"] for k in verdict["key"]] == [n for n in rhtml.HEADLINE if n in table.index]
    echo_verdict(result, problems, verdict)
    terminal = capsys.readouterr().out
    assert f"{len(problems)} problem(s)" in box and f"{len(problems)} problem(s)" in terminal
    assert "max R-hat —" in box  # one chain: R-hat undefined, shown as a dash
    assert f"min bulk ESS {table['ess_bulk'].min():.0f}" in box
    for k in verdict["key"]:
        r = table.loc[k["name"]]
        interval = f"[{r['5%']:.3f}, {r['95%']:.3f}]"
        assert interval in box and interval in terminal
        assert f"<td>{r['mean']:.3f}</td>" in box
        assert r["verdict"] in box
    ppc = (
        f"{verdict['ppc_inside']} of {verdict['ppc_total']} statistics inside their 90% "
        f"intervals, {verdict['checks_passed']} of {verdict['checks_total']} checks passed"
    )
    assert ppc in box and ppc in terminal
    assert verdict["checks_total"] == 11
    ols = verdict["reduced_agreement"]["OLS"]
    assert 0 <= ols[0] <= ols[1] >= 1
    assert f"OLS {ols[0]} of {ols[1]}" in box


def test_ppc_table_says_pass_or_fail(report):
    _, verdict, _, text = report
    start = text.index('id="ppc"')
    table = text[text.index("<table", start) : text.index("</table>", start)]
    assert re.search(r"<thead><tr><th>check</th>", table)  # no bare 0..10 index column
    assert "<th>0</th>" not in table
    verdicts = re.findall(r'<td class="verdict">(pass|fail)</td>', table)
    assert len(verdicts) == verdict["checks_total"]
    assert verdicts.count("pass") == verdict["checks_passed"]
    assert table.count('<tr class="fail">') == verdicts.count("fail")
    assert "True" not in table and "False" not in table


# ---------------------------------------------------------------- the pieces, without a fit


@pytest.mark.parametrize(
    ("df", "expect", "absent"),
    [
        (pd.DataFrame({"a_b": [1.23456]}), ["<th>a b</th>", "<td>1.235</td>"], ["<th>0</th>"]),
        (pd.DataFrame({"x": [np.nan]}), ["<td>—</td>"], ["nan"]),
        (pd.DataFrame({"ok": [True, False]}), ["<td>yes</td>", "<td>no</td>"], ["True"]),
        (pd.DataFrame({"s": ["<b>&"]}), ['<td class="txt">&lt;b&gt;&amp;</td>'], ["<b>&"]),
        (
            pd.DataFrame({"v": [1.0]}, index=pd.Index(["g_IP"], name="param")),
            ['<th class="txt">param</th>', '<th class="txt">g_IP</th>'],
            [],
        ),
        (pd.DataFrame({"v": [np.inf]}), ["<td>—</td>"], ["inf"]),
    ],
)
def test_table_cells(df, expect, absent):
    out = rhtml._table(df, "a caption <here>")
    assert out.startswith('<table class="tbl"><caption>a caption &lt;here&gt;</caption>')
    for e in expect:
        assert e in out
    for a in absent:
        assert a not in out


def test_table_marks_rows():
    out = rhtml._table(pd.DataFrame({"v": [1, 2, 3]}), "c", row_class=["", "fail", ""])
    assert out.count('<tr class="fail">') == 1 and "<td>2</td></tr>" in out.split("fail")[1]


def _long(rows):
    return pd.DataFrame(rows, columns=["row", "column", "estimate", "se", "lo", "hi", "nobs"])


@pytest.mark.parametrize(
    ("rows", "expect"),
    [
        # overlapping intervals agree, disjoint ones do not
        (
            [
                ("a", "posterior", 1.0, 0.1, 0.8, 1.2, 9),
                ("a", "OLS", 1.1, 0.1, 0.9, 1.3, 9),
                ("b", "posterior", 1.0, 0.1, 0.8, 1.2, 9),
                ("b", "OLS", 3.0, 0.1, 2.8, 3.2, 9),
            ],
            {"OLS": (1, 2)},
        ),
        # a restricted posterior (zero-width) and a missing estimate are not compared
        (
            [
                ("a", "posterior", 0.0, 0.0, 0.0, 0.0, 9),
                ("a", "OLS", 0.1, 0.1, -0.1, 0.3, 9),
                ("b", "posterior", 1.0, 0.1, 0.8, 1.2, 9),
                ("b", "OLS", np.nan, np.nan, np.nan, np.nan, 9),
                ("c", "posterior", 1.0, 0.1, 0.8, 1.2, 9),
                ("c", "Tobit", 1.2, 0.1, 1.0, 1.4, 9),
                ("c", "truth", 1.0, np.nan, np.nan, np.nan, 9),
            ],
            {"Tobit": (1, 1)},
        ),
        ([("a", "posterior", 1.0, 0.1, 0.8, 1.2, 9)], {}),  # no reduced form: no line
    ],
)
def test_agreement(rows, expect):
    assert rhtml._agreement(_long(rows)) == expect
