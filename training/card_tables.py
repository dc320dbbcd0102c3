"""The figures of README.md and docs/model_card.md, rendered from the card inside ``model.pt``
(``python -m training card-tables``): each table sits between ``<!-- card:NAME -->`` and
``<!-- /card:NAME -->``, and a test renders them again from the shipped file and compares, so
no figure in the documents can drift from the file that ships."""

from __future__ import annotations

import re

MARKER = re.compile(r"<!-- card:(\w+) -->\n(.*?)<!-- /card:\1 -->", re.S)


def _pct(value: float, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f}%"


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header, rows) -> str:
    lines = [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]
    return "\n".join(lines) + "\n"


def test_table(card: dict) -> str:
    """The test split's figures at each operating point (README and card)."""
    test = card["metrics"]["test"]
    rows = []
    for point in card["operating_points"]:
        f = test["at_operating_points"][point["name"]]
        name = point["name"].replace("_", " ") + (
            " (default)" if point["name"] == card["default_operating_point"] else "")
        rows.append([name, f"{f['threshold']:.4f}", _pct(f["accuracy"], 2),
                     _pct(f["sensitivity"]), _pct(f["specificity"]), f"{f['roc_auc']:.4f}"])
    ece, error = test["expected_calibration_error"], test["calibration_error"]
    return _table(["operating point", "threshold", "accuracy", "sensitivity", "specificity",
                   "ROC AUC"], rows) + (
        f"\nTest split: {test['n']} images ({test['n_normal']} NORMAL, {test['n_pneumonia']} "
        f"PNEUMONIA), confusion at the default point {test['confusion']}; calibration error "
        f"of P {error:.3f} (10 bins), ECE {ece:.3f} (15 bins of confidence).\n")


def calibration_table(card: dict) -> str:
    """Every calibration form the rule scored, on validation and its shifted views."""
    choice = card["calibration"]["choice"]
    rows = []
    for form, f in choice["candidates"].items():
        rows.append([f"**{form}**" if form == choice["chosen"] else form,
                     f"{f['temperature']:.3f}", f"{f['bias']:.3f}",
                     _pct(f["prevalence_assumed"], 0), f"{f['threshold']:.4f}",
                     f"{f['val_calibration_error_cross_validated']:.3f}",
                     f"{f['mean_balanced_accuracy']:.4f}", f"{f['mean_calibration_error']:.3f}",
                     f"{f['score']:.4f}"])
    return _table(["form", "T", "bias", "P assumes", "balanced threshold",
                   "val. error (5-fold)", "views: balanced acc.", "views: cal. error",
                   "score"], rows)


def views_table(card: dict) -> str:
    """The shipped calibration on each shifted view, at the plain-validation threshold."""
    choice = card["calibration"]["choice"]
    chosen = choice["candidates"][choice["chosen"]]
    rows = [[name, f"{v['balanced_accuracy']:.4f}", f"{v['calibration_error']:.3f}",
             f"{v['calibration_error_50']:.3f}"] for name, v in chosen["views"].items()]
    return _table(["shifted view", "balanced accuracy", "calibration error (75% pneumonia)",
                   "calibration error (reweighted to 50%)"], rows)


def scope_table(card: dict) -> str:
    """Each out-of-scope group and source: the states from a check fitted without it."""
    rows = []
    for group, figures in card["scope_check"]["out_of_scope_groups"].items():
        for source, f in figures["by_source"].items():
            rows.append([group, source, f["n"], _pct(f["in_scope"], 0), _pct(f["unusual"], 0),
                         _pct(f["not_chest_xray"], 0), "yes" if f["in_fit"] else "no"])
    return _table(["group", "source", "n", "in scope", "unusual", "not a chest X-ray",
                   "shipped check fitted on it"], rows)


def _chest_sources(groups: dict) -> dict[str, list[int]]:
    """Per source of real chest radiographs (all ``cxr*`` groups): [n, called not a chest
    X-ray], from the held-out figures."""
    out: dict[str, list[int]] = {}
    for group, figures in groups.items():
        if group.startswith("cxr"):
            for source, f in figures["by_source"].items():
                mine = out.setdefault(source, [0, 0])
                mine[0] += f["n"]
                mine[1] += round(f["not_chest_xray"] * f["n"])
    return out


def scope_summary(card: dict) -> str:
    """In-scope shares of validation and the test split, and the held-out figures on the
    out-of-scope examples (ood_dev, cxr_more) that the issues' targets name (README)."""
    check = card["scope_check"]
    groups = check["out_of_scope_groups"]

    def share(names, state):
        n = sum(groups[g]["n"] for g in names)
        return sum(groups[g][state] * groups[g]["n"] for g in names) / n, n

    chest = [g for g in groups if g.startswith("cxr")]
    other = [g for g in groups if not g.startswith("cxr")]
    refused, n_chest = share(chest, "not_chest_xray")
    withheld, n_other = share(other, "not_chest_xray")
    worst, (n_worst, refused_worst) = max(_chest_sources(groups).items(),
                                          key=lambda kv: (kv[1][1] / kv[1][0], kv[1][0]))
    rows = [["validation in scope", _pct(check["validation"]["in_scope"]),
             str(check["validation"]["n"])],
            ["test split in scope", _pct(check["test"]["in_scope"]), str(check["test"]["n"])],
            ["real chest X-rays called not a chest X-ray", _pct(refused), str(n_chest)],
            [f"the worst source of them ({worst})", _pct(refused_worst / n_worst),
             str(n_worst)],
            ["non-chest images withheld", _pct(withheld), str(n_other)]]
    for group in chest:
        rows.append([f"{group} flagged (unusual or withheld)",
                     _pct(groups[group]["caught"]), str(groups[group]["n"])])
    return _table(["scope check (ood_dev and cxr_more: each source from a fit without it)",
                   "share", "n"], rows)


def looks_table(card: dict) -> str:
    rows = [[look.get("evaluation_number", "?"), look.get("date", "not recorded"),
             look.get("model_version", "not recorded"), look.get("note", "")]
            for look in card.get("test_split_looks", [])]
    return _table(["test-split look", "date", "model version", "note"], rows)


def overview(card: dict) -> str:
    """What the model learnt from, its operating points and the prevalence its P assumes: the
    README's opening figures, so its prose never states a threshold the card does not have."""
    counts = card["data"]["counts"]["train"]
    low, high = card["scope_check"]["age_range_years"]
    points = "; ".join(
        f"**{p['name'].replace('_', ' ')}**"
        + (" (the default)" if p["name"] == card["default_operating_point"] else "")
        + f", threshold {p['threshold']:.4f}" for p in card["operating_points"])
    prevalence = _pct(card["calibration"]["prevalence_assumed"], 0)
    return (f"Trained on {sum(counts.values())} frontal chest X-rays of children aged {low} to "
            f"{high} years ({card['data']['name']}, {card['data']['licence']}). Operating points: "
            f"{points}. P(pneumonia) is calibrated for a prevalence of {prevalence}: among images "
            f"like these, {prevalence} show pneumonia.\n")


def _refer_row(name: str, f: dict) -> list[str]:
    return [name, f"{f['missed']['k']}/{f['missed']['n']} ({_pct(f['missed']['share'])})",
            f"{f['false_alarm']['k']}/{f['false_alarm']['n']} ({_pct(f['false_alarm']['share'])})",
            _pct(f["referred"]["share"]), _pct(f["accuracy_decided"]["share"])]


REFER_HEADER = ["images", "pneumonias called NORMAL", "normals called PNEUMONIA", "referred",
                "accuracy among decided"]


def _refer_sentence(band: dict) -> str:
    return (f"NORMAL below {band['t_low']:.4f}, PNEUMONIA at or above {band['t_high']:.4f}, "
            f"REFER between. Promise, with {_pct(band['confidence'], 0)} confidence, for "
            f"images like the {band['n_normal'] + band['n_pneumonia']} validation images and "
            f"their shifted views: at most {_pct(band['low_limit'], 0)} of pneumonias called "
            f"NORMAL, at most {_pct(band['high_limit'], 0)} of normals called PNEUMONIA.\n\n")


def refer_table(card: dict) -> str:
    """The refer band (README): its thresholds, what it promises, and what it did on plain
    validation, on the worst shifted view (most referred) and on the test split."""
    band = card["refer_band"]
    views = {k: v for k, v in band["validation"].items() if k != "plain"}
    worst = max(views, key=lambda k: views[k]["referred"]["share"])
    rows = [_refer_row("validation", band["validation"]["plain"]),
            _refer_row(f"validation, shifted view most referred ({worst})", views[worst])]
    if band.get("test"):
        rows.append(_refer_row("**test split** (evaluated once)", band["test"]))
    return _refer_sentence(band) + _table(REFER_HEADER, rows)


def refer_views_table(card: dict) -> str:
    """The refer band on validation and each of its shifted views, and each view's own
    certified band (model card)."""
    band = card["refer_band"]
    rows = [_refer_row(name, f) + [f"{band['per_view'][name]['t_low']:.4f} to "
                                   f"{band['per_view'][name]['t_high']:.4f}"]
            for name, f in band["validation"].items()]
    return _refer_sentence(band) + _table(REFER_HEADER + ["this view's own band"], rows)


TABLES = {"overview": overview, "refer": refer_table, "refer_views": refer_views_table,
          "test": test_table, "calibration": calibration_table,
          "views": views_table, "scope": scope_table, "scope_summary": scope_summary,
          "looks": looks_table}


def render(name: str, card: dict) -> str:
    return TABLES[name](card)


def blocks(text: str) -> dict[str, str]:
    """The ``card:`` blocks of a document: {name: its text}."""
    return {m.group(1): m.group(2) for m in MARKER.finditer(text)}


def refresh(text: str, card: dict) -> str:
    """``text`` with every ``card:`` block rendered anew from ``card``."""
    return MARKER.sub(lambda m: f"<!-- card:{m.group(1)} -->\n{render(m.group(1), card)}"
                                f"<!-- /card:{m.group(1)} -->", text)
