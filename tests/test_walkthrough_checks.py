"""The walk-through's eyes (tests/walkthrough.py): each thing a merchant must never meet is
seen, and a clean page passes."""

from tests.walkthrough import axe_problems, page_problems


def facts(text: str, unstyled: tuple[str, ...] = ()) -> dict:
    return {"text": text, "unstyled": list(unstyled)}


def test_a_clean_page_has_no_problems():
    text = ("Revenue $1,248.70 · Units sold 6 · Paid · Partially refunded · 2 products, "
            "5 variants · SKU CAN-TOTE-SAND · 12.5% · 0.57 s")
    assert page_problems(path="/dashboard/", facts=facts(text)) == []


def test_each_kind_of_defect_is_seen():
    text = ("Revenue 588.400000000000 USD · total 163.5 USD · $1234.50 · Partially_refunded · "
            "Hello {{ name }} · None")
    assert page_problems(path="/x", facts=facts(text, ("<select>",))) == [
        "/x: unstyled control <select>",
        "/x: placeholder 'None'",
        "/x: placeholder '{{'",
        "/x: raw value 'Partially_refunded'",
        "/x: amount '$1234.50' not in the shop's money format",
        "/x: amount '163.5 USD' not in the shop's money format",
        "/x: amount '588.400000000000 USD' not in the shop's money format",
    ]


def test_serious_and_critical_axe_violations_are_problems_with_their_first_element():
    violations = [
        {"id": "label", "impact": "critical", "help": "Form elements must have labels",
         "targets": [["#q"], ["select"]]},
        {"id": "region", "impact": "moderate", "help": "All page content should be contained "
         "by landmarks", "targets": [[".footer"]]},
        {"id": "color-contrast", "impact": "serious", "help": "Elements must meet minimum color "
         "contrast ratio thresholds", "targets": [["iframe", ["#host", ".badge"]]]},
        {"id": "list", "impact": "minor", "help": "<ul> and <ol> must only directly contain "
         "<li>", "targets": [["ul"]]},
        {"id": "aria-allowed-attr", "impact": None, "help": "?", "targets": []},
    ]
    assert axe_problems(path="/orders/", violations=violations) == [
        "/orders/: axe label (critical) #q — Form elements must have labels",
        "/orders/: axe color-contrast (serious) iframe >> #host >>> .badge — Elements must "
        "meet minimum color contrast ratio thresholds",
    ]
