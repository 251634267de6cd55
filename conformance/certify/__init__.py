"""`dids certify`: run any DIDS validator over the conformance corpus (fixtures/corpus) and score it.

from conformance.certify import load_corpus, CommandValidator, certify, to_text
corpus = load_corpus("fixtures/corpus", "v2")
validator = CommandValidator("my-validator {file} --period {period}", "exit")
print(to_text(certify(corpus, validator, description=validator.describe())))
"""

from conformance.certify._corpus import Case, Corpus, CorpusError, ExpectedFinding, load_corpus
from conformance.certify._report import to_html, to_json, to_junit, to_text
from conformance.certify._score import (
    CATEGORIES,
    CaseResult,
    Certification,
    ExpectedFailure,
    certify,
    load_expected_failures,
    score_case,
)
from conformance.certify._validators import (
    ADAPTERS,
    ANSWERS,
    PLACEHOLDERS,
    CallableValidator,
    CertifyError,
    CommandValidator,
    Outcome,
    read_output,
)

__all__ = [
    "ADAPTERS",
    "ANSWERS",
    "CATEGORIES",
    "PLACEHOLDERS",
    "CallableValidator",
    "Case",
    "CaseResult",
    "Certification",
    "CertifyError",
    "CommandValidator",
    "Corpus",
    "CorpusError",
    "ExpectedFailure",
    "ExpectedFinding",
    "Outcome",
    "certify",
    "load_corpus",
    "load_expected_failures",
    "read_output",
    "score_case",
    "to_html",
    "to_json",
    "to_junit",
    "to_text",
]
