"""Text canaries: per-recipient wording for text documents, traced when the text is retyped.

Marking::

    document = load_document(data, "briefing.md")        # plain, Markdown, HTML, DOCX
    plan = make_plan(document)                            # choice points (authored + automatic)
    choices = keyed_choices(key, document_id, recipient_id, plan.points)
    copy_bytes = render_document(document, plan_edits(plan, choices))
    code = encode_code(plan.digest, plan.ks, choices)     # Copy.code
    params = plan_params(plan, original_sha256)           # Asset.params
    manifest = manifest_bytes(plan_manifest(plan))        # content-addressed blob

Identifying::

    index = ReferenceIndex([RegisteredText(document_id, plan), ...])
    result = identify_text(leaked_text, index, {document_id: {recipient_id: code}})

Only :mod:`leaktrace.errors`, :mod:`leaktrace.fsutil` and :mod:`leaktrace.engine.watermark.keystream`
are used from the rest of leaktrace. Heavy libraries (python-docx, OpenCC, RapidFuzz, Pillow)
load on first use.
"""

from __future__ import annotations

from .align import DocumentReading, Observation, ReferenceIndex, RegisteredText, read_leak
from .check import CheckReport, check_document
from .choices import decode_code, draw_index, encode_code, keyed_choices, permutation_of
from .document import Edits, Segment, TextDocument
from .errors import AlternativeSyntaxError, NoChoicePointsError, OcrUnavailableError, TextInputError
from .files import load_document, render_document
from .identify import TextIdentification, attribute_readings, codes_for, identify_text
from .plan import (
    ChoicePoint,
    Location,
    TextPlan,
    bits_needed,
    flatten,
    load_plan,
    make_plan,
    manifest_bytes,
    plan_edits,
    plan_manifest,
    plan_params,
    require_choice_points,
)
from .score import TextAttribution, attribute_agreements, log_tail

__all__ = [
    "AlternativeSyntaxError",
    "CheckReport",
    "ChoicePoint",
    "DocumentReading",
    "Edits",
    "Location",
    "NoChoicePointsError",
    "Observation",
    "OcrUnavailableError",
    "ReferenceIndex",
    "RegisteredText",
    "Segment",
    "TextAttribution",
    "TextDocument",
    "TextIdentification",
    "TextInputError",
    "TextPlan",
    "attribute_agreements",
    "attribute_readings",
    "bits_needed",
    "check_document",
    "codes_for",
    "decode_code",
    "draw_index",
    "encode_code",
    "flatten",
    "identify_text",
    "keyed_choices",
    "load_document",
    "load_plan",
    "log_tail",
    "make_plan",
    "manifest_bytes",
    "permutation_of",
    "plan_edits",
    "plan_manifest",
    "plan_params",
    "read_leak",
    "render_document",
    "require_choice_points",
]
