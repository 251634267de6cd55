"""`dids certify`: run any DIDS validator over the conformance corpus (fixtures/corpus) and score it.

from conformance.certify import load_corpus, CommandValidator, certify, to_text
corpus = load_corpus(None, "v2")  # None: the corpus installed with the harness
validator = CommandValidator(["my-validator", "{file}"], "exit", optional=[["--period", "{period}"]])
print(to_text(certify(corpus, validator, description=validator.describe(), level="official")))
"""

from conformance.certify._baseline import Comparison, compare, comparison_json, comparison_text, load_baseline
from conformance.certify._corpus import (
    Case,
    Corpus,
    CorpusError,
    ExpectedFinding,
    bundled_corpus,
    default_corpus,
    load_corpus,
)
from conformance.certify._own import OwnChecker
from conformance.certify._report import to_html, to_json, to_junit, to_text
from conformance.certify._rule_map import RuleMap, load_rule_map
from conformance.certify._score import (
    CATEGORIES,
    LEVELS,
    CaseResult,
    Certification,
    ExpectedFailure,
    certify,
    load_expected_failures,
    parse_expected_failures,
    score_case,
)
from conformance.certify._validator_file import ValidatorFile, load_validator_file
from conformance.certify._validators import (
    ADAPTERS,
    ANSWERS,
    PLACEHOLDERS,
    CallableValidator,
    CertifyError,
    CommandValidator,
    Outcome,
    read_output,
    split_command,
)

__all__ = [
    "ADAPTERS",
    "ANSWERS",
    "CATEGORIES",
    "LEVELS",
    "PLACEHOLDERS",
    "CallableValidator",
    "Case",
    "CaseResult",
    "Certification",
    "CertifyError",
    "CommandValidator",
    "Comparison",
    "Corpus",
    "CorpusError",
    "ExpectedFailure",
    "ExpectedFinding",
    "Outcome",
    "OwnChecker",
    "RuleMap",
    "ValidatorFile",
    "bundled_corpus",
    "certify",
    "compare",
    "comparison_json",
    "comparison_text",
    "default_corpus",
    "load_baseline",
    "load_corpus",
    "load_expected_failures",
    "load_rule_map",
    "load_validator_file",
    "parse_expected_failures",
    "read_output",
    "score_case",
    "split_command",
    "to_html",
    "to_json",
    "to_junit",
    "to_text",
]
