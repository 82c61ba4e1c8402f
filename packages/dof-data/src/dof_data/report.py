"""What a dedup or filter stage marked, and why: counts, CSV and Markdown."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from dof_data.manifest import Mark
from dof_io import atomic_write_text


@dataclass(frozen=True)
class StageReport:
    """The outcome of one stage.

    Attributes:
        stage: "dedup", "filter:monochrome", ...
        considered: photos the stage looked at.
        marks: every mark it made (a photo may carry several).
    """

    stage: str
    considered: int
    marks: list[Mark]

    @property
    def removed(self) -> set[str]:
        """Ids of the photos this stage marks."""
        return {mark.photo_id for mark in self.marks}

    def counts(self) -> dict[str, int]:
        """Marks per rule."""
        return dict(sorted(Counter(mark.rule for mark in self.marks).items()))

    def summary(self) -> str:
        """One line: how many photos, by which rules."""
        rules = ", ".join(f"{rule}: {n}" for rule, n in self.counts().items()) or "nothing"
        return f"{self.stage}: {len(self.removed)} of {self.considered} photos marked ({rules})"


def combine(reports: list[StageReport]) -> list[Mark]:
    """Every mark of several stages, ordered by photo, stage and rule."""
    marks = [mark for report in reports for mark in report.marks]
    return sorted(marks, key=lambda m: (m.photo_id, m.stage, m.rule))


def marks_csv(marks: list[Mark]) -> str:
    """CSV with one line per mark: photo_id, stage, rule, other_id, reason."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["photo_id", "stage", "rule", "other_id", "reason"])
    for mark in marks:
        writer.writerow([mark.photo_id, mark.stage, mark.rule, mark.other_id or "", mark.reason])
    return buffer.getvalue()


def marks_markdown(reports: list[StageReport]) -> str:
    """A Markdown report: a summary line per stage, then a table of every mark."""
    lines = ["# What was removed and why", ""]
    lines += [f"- {report.summary()}" for report in reports]
    lines += [
        "",
        "| photo | stage | rule | duplicate of | reason |",
        "| --- | --- | --- | --- | --- |",
    ]
    for mark in combine(reports):
        reason = mark.reason.replace("|", "\\|")
        lines.append(
            f"| {mark.photo_id} | {mark.stage} | {mark.rule} | {mark.other_id or ''} | {reason} |"
        )
    return "\n".join(lines) + "\n"


def write_report(reports: list[StageReport], path: str | Path) -> Path:
    """Write the marks as CSV (``.csv``) or Markdown (anything else), atomically."""
    path = Path(path)
    text = marks_csv(combine(reports)) if path.suffix.lower() == ".csv" else marks_markdown(reports)
    atomic_write_text(path, text)
    return path
