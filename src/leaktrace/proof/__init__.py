"""Evidence an arbitrator can check without the registry or its key.

``export_case`` (needs the registry and its key) packs one attributed identification into a
zip: the leak, the original, the accused copy's opening (its code, the asset's pattern seeds and
its nonce: that copy's only), the commitment recorded at marking, the registration, the
decision's parameters and the audit rows involved. ``verify_case`` (needs neither) checks that
the opening hashes to the commitment, registers the leak onto the original again, scores the
revealed code with fresh decoys of its own and gives one verdict. See ``docs/evidence.md``.
"""

from leaktrace.proof.case import CASE_FORMAT, read_case
from leaktrace.proof.export import export_case
from leaktrace.proof.verify import Verdict, verify_case

__all__ = ["CASE_FORMAT", "Verdict", "export_case", "read_case", "verify_case"]
