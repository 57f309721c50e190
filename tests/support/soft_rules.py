"""The soft rules' plain definition, as an oracle for :func:`lakehouse_glue.quality.soft_checks`.

The quality report counts every rule from one pass over each table it reads (facts grouped by
rule). Here each rule is counted on its own from its violating rows (``SoftRule.bad``), one
Spark query per rule: slower, and the answer the one-pass count must give.
"""

from __future__ import annotations

from lakehouse_glue.quality import SoftRule, _summary

#: A rule's answer: (violations, sorted example keys).
Answer = tuple[int, list[str]]


def per_rule_checks(
    rules: list[SoftRule],
) -> tuple[dict[tuple[str, str, str], Answer], dict[str, int]]:
    """Each rule's answer by its ident, and the rows of each table the key rules count."""
    answers: dict[tuple[str, str, str], Answer] = {}
    counts: dict[str, int] = {}
    for i, rule in enumerate(rules):
        (row,) = _summary(i, rule).collect()
        answers[rule.ident] = (int(row["n"] or 0), sorted(row["examples"] or []))
        if rule.counts_rows:
            counts[rule.entity] = int(row["rows"] or 0)
    return answers, counts
