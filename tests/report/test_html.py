"""The HTML report (jinja2 template): structure, value formatting, escaping, embedded figures, unrun experiments."""

import base64
import html
import importlib.resources
import json
import re

from layerwise.report.claims import CLAIMS, VERDICTS
from layerwise.report.html import TEMPLATE, write_report

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==")


def _summary(tmp_path):
    directory = tmp_path / "feedback"
    directory.mkdir()
    (directory / "curve.png").write_bytes(PNG)
    checks = [{"name": "sigmoid_gd_vs_closed_form", "claim": "error < 1e-3 & <script>", "value": [0.123456789, 2],
               "expected": "<= 0.001", "passed": True},
              {"name": "sigmoid_flow_vs_closed_form", "claim": "flow", "value": 0.5, "expected": "<= 0.1",
               "passed": False}]
    summary = {"checks": checks, "passed": 1, "failed": 1, "config": {"seed": 3, "label": "<b>x</b>"},
               "figures": ["curve.png"], "quick": True, "versions": {"jax": "0.4.30 <dev>"}}
    (directory / "summary.json").write_text(json.dumps(summary))


def test_template_ships_as_package_data():
    assert importlib.resources.files("layerwise.report").joinpath("templates", TEMPLATE).is_file()


def test_report_content_formatting_and_escaping(tmp_path):
    _summary(tmp_path)
    path = write_report(tmp_path, ["feedback", "emergence"], {"feedback": "toy 'diagonal' net"},
                        {"feedback": 12.3456789})
    page = path.read_text()
    assert page.startswith("<!doctype html>") and page.endswith("</table></body></html>")
    assert not list(tmp_path.glob(".*partial*"))
    rows = re.findall(r"<tr class='(%s)'><td>(\d+)</td>" % "|".join(VERDICTS), page)
    assert [int(number) for _, number in rows] == [claim.number for claim in CLAIMS]
    # claim 1 is decided by the two checks: one passed, one failed
    assert dict((int(n), css) for css, n in rows)[1] == "partly_reproduced"
    assert dict((int(n), css) for css, n in rows)[2] == "not_run"
    # every user-supplied string is escaped; the text reads back unchanged
    assert "<script>" not in page and "<b>x</b>" not in page and "<dev>" not in page
    text = html.unescape(page)
    for fragment in ("error < 1e-3 & <script>", "toy 'diagonal' net", '"label": "<b>x</b>"', "0.4.30 <dev>",
                     "experiment 'emergence' was not run", "failed: sigmoid_flow_vs_closed_form",
                     "linear simulation (10 claims): 1 partly reproduced, 9 not run", "(quick size, 18 claims)"):
        assert fragment in text
    # values go through the same formatting as before: floats to 4 significant digits, lists bracketed
    assert ("<code>sigmoid_gd_vs_closed_form</code> (linear simulation) <b>passed</b>: [0.1235, 2]; &lt;= 0.001; "
            "1 seed</span>") in page
    assert "<code>sigmoid_flow_vs_closed_form</code> (closed form) <b>failed</b>: 0.5; &lt;= 0.1" in page
    assert "<td>1/2</td><td>True</td><td>3</td><td>12.35</td><td>generated</td>" in page
    assert "<tr class='notapplicable'><td>emergence</td><td colspan=5>not run</td></tr>" in page
    assert f"<img alt='curve.png' src='data:image/png;base64,{base64.b64encode(PNG).decode()}'>" in page
    assert "<tr class='fail'><td><code>sigmoid_flow_vs_closed_form</code></td>" in page
    assert "<h2 id='emergence'>" not in page  # unrun experiments get no section
