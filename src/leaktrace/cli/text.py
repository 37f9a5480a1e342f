"""Text documents: what a document's marked copies can tell apart, before sending them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from leaktrace.cli.app import JsonOption, app, out, print_json
from leaktrace.cli.display import shown

text_app = typer.Typer(
    help="Text documents (.txt, .md, .html, .docx): check their choice points.",
    no_args_is_help=True,
)
app.add_typer(text_app, name="text")


@text_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="A text document (.txt, .md, .html, .docx).")],
    recipients: Annotated[
        int,
        typer.Option("--recipients", min=1, metavar="N", help="How many recipients to plan for."),
    ] = 100,
    bound: Annotated[
        float,
        typer.Option(
            "--max-false-accusation",
            min=1e-300,
            max=0.5,
            help="Largest acceptable probability that an accusation is a coincidence.",
        ),
    ] = 1e-9,
    as_json: JsonOption = False,
) -> None:
    """List a document's choice points, the bits each carries, and how many recipients a leak
    of the whole document can separate at the bound (also after retyping, which erases the
    typographic variants). Nothing is recorded.

    Naming one of N recipients needs log2(N / bound) agreeing bits in the leak: a quote carries
    only the points it covers, so plan for more than that.

    Example: leaktrace text check briefing.md --recipients 200
    """
    from leaktrace.api import check_text

    report = check_text(file, bound=bound)
    needed = report.needed_for(recipients)
    if as_json:
        print_json(
            {
                "file": str(file),
                "points": [
                    {
                        "id": p.id,
                        "rule": p.rule,
                        "family": p.family,
                        "k": p.k,
                        "bits": round(p.bits, 3),
                        "places": p.places,
                        "variants": list(p.variants),
                        "context": p.context,
                    }
                    for p in report.points
                ],
                "bits": round(report.bits, 3),
                "bits_by_family": {k: round(v, 3) for k, v in report.bits_by_family().items()},
                "bits_retyped": round(report.bits_retyped, 3),
                "bound": report.bound,
                "separable": report.separable,
                "separable_retyped": report.separable_retyped,
                "recipients": recipients,
                "bits_needed": round(needed, 3),
            }
        )
        return
    table = Table("choice point", "rule", "variants", "bits", "places", "context")
    for p in report.points:
        variants = " | ".join(v or "(empty)" for v in p.variants)
        table.add_row(
            shown(p.id),
            p.rule,
            shown(variants[:60]),
            f"{p.bits:.2f}",
            str(p.places),
            shown(p.context),
        )
    out.print(table)
    families = ", ".join(f"{k} {v:.1f}" for k, v in sorted(report.bits_by_family().items()))
    out.print(
        f"{len(report.points)} choice points, {report.bits:.1f} bits ({families}); "
        f"{report.bits_retyped:.1f} bits survive retyping.",
        markup=False,
    )
    out.print(
        f"A leak of the whole document separates up to {report.separable:,} recipients at "
        f"{bound:g} ({report.separable_retyped:,} when retyped); naming one of {recipients} needs "
        f"{needed:.0f} agreeing bits in the leak.",
        markup=False,
    )
